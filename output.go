package cluster

import (
	"bytes"
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

// maxLine is the longest line kept whole; longer ones are split.
const maxLine = 64 << 10

// linePrefixer writes each line written to it, prefixed, as one write.
// Silent workers' output goes through one per stream.
type linePrefixer struct {
	out    io.Writer
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (l *linePrefixer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 && len(l.buf) < maxLine {
			break
		}
		if i < 0 {
			i = maxLine - 1
		}
		l.emit(l.buf[:i+1])
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) == 0 {
		l.buf = nil
	}
	return len(b), nil
}

func (l *linePrefixer) emit(line []byte) {
	out := make([]byte, 0, len(l.prefix)+len(line)+1)
	out = append(append(out, l.prefix...), line...)
	if out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	l.out.Write(out)
}

// flush writes a last line that had no newline.
func (l *linePrefixer) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}
