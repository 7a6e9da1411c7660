package redis

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gocluster/cluster/kv"
	"github.com/redis/rueidis"
)

var (
	// ErrUnavailable is the error of a write, a load or a sync while the
	// Redis server cannot be reached (or the backend lost its place in the
	// store's log and has not caught up yet): nothing is waited for; reads
	// keep serving the last content. It is [kv.ErrUnavailable], which a
	// worker's write gets too: test either with errors.Is.
	ErrUnavailable = kv.ErrUnavailable
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

// unavailableError is the error of an operation that could not reach the
// server: it matches [ErrUnavailable] and the cause.
type unavailableError struct {
	op  string
	err error
}

func (e *unavailableError) Error() string {
	return "kv: store unavailable: redis " + e.op + ": " + e.err.Error()
}
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// errReply is the cause of an unexpected reply from the server.
var errReply = errors.New("unexpected reply")

// transient are the server's errors that say "not now": loading its data,
// busy with a script, a replica that is not (or no longer) the primary.
var transient = []string{"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN"}

// unavailable is the error of op that failed with err (nil: an unexpected
// reply). A network failure or a transient server error matches
// [ErrUnavailable]; any other error of the server (a script error, a
// permission refused) is reported as it is.
func unavailable(op string, err error) error {
	if err == nil {
		err = errReply
	}
	if re, ok := rueidis.IsRedisErr(err); ok {
		for _, p := range transient {
			if strings.HasPrefix(re.Error(), p) {
				return &unavailableError{op: op, err: err}
			}
		}
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	return &unavailableError{op: op, err: err}
}
