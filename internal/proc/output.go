package proc

import (
	"bytes"
	"io"
	"sync"
)

// maxLine is the longest line kept whole; longer ones are split.
const maxLine = 64 << 10

// lineWriter writes each line written to it, prefixed, as one write to
// out (nil: nowhere). A process started with a [Spec.Prefix] writes its
// stdout and stderr through one each.
type lineWriter struct {
	out    io.Writer
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (l *lineWriter) Write(b []byte) (int, error) {
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

func (l *lineWriter) emit(line []byte) {
	if l.out == nil {
		return
	}
	out := make([]byte, 0, len(l.prefix)+len(line)+1)
	out = append(append(out, l.prefix...), line...)
	if out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	l.out.Write(out)
}

// flush writes a last line that had no newline.
func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}
