package session

import (
	"errors"
	"strings"
)

// opError is the error of a store's operation, read as
// "session: scs commit: cause" with one package prefix. It wraps the cause,
// so errors.Is and errors.As see what the kv store (or securecookie)
// returned.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return "session: " + e.op + ": " + causeText(e.err) }
func (e *opError) Unwrap() error { return e.err }

// wrap returns err as the error of op, or nil if err is nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, err: err}
}

// causeText is the text of err without its package prefix. A kv error names
// its key (which holds the session's token): its cause is read instead.
func causeText(err error) string {
	s := err.Error()
	if strings.HasPrefix(s, "kv: ") {
		if inner := errors.Unwrap(err); inner != nil {
			s = inner.Error()
		}
	}
	for _, p := range [...]string{"kv: ", "securecookie: ", "session: "} {
		if t, ok := strings.CutPrefix(s, p); ok {
			return t
		}
	}
	return s
}
