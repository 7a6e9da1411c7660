package redis

import (
	"errors"
	"fmt"
)

var (
	// ErrUnavailable is the error of a write, a load or a sync while the
	// Redis server cannot be reached (or the backend lost its place in the
	// store's log and has not caught up yet): nothing is waited for; reads
	// keep serving the last content. Test it with errors.Is.
	ErrUnavailable = errors.New("redis: server unavailable")
	// ErrConfig is the error of a Config that cannot work; the message
	// says what to change.
	ErrConfig = errors.New("redis: bad config")
	// ErrServerTooOld is the error of New on a server older than Redis 7.0.
	ErrServerTooOld = errors.New("redis: server too old (Redis 7.0 or Valkey 7.2 or later needed)")
)

// kvError is an error of package kv's with details: its text says them
// after the package's prefix, and it matches the sentinel.
type kvError struct {
	text string
	err  error
}

func (e *kvError) Error() string { return "kv: " + e.text }
func (e *kvError) Unwrap() error { return e.err }

// kvErrorf returns a kvError matching err, with the text format makes.
func kvErrorf(err error, format string, args ...any) error {
	return &kvError{text: fmt.Sprintf(format, args...), err: err}
}
