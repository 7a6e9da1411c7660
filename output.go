package cluster

import (
	"io"
	"sync"
)

// syncWriter serialises writes of whole lines from several workers.
type syncWriter struct {
	mu  sync.Mutex
	w   io.Writer // nil means def
	def io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		return s.w.Write(b)
	}
	return s.def.Write(b)
}
