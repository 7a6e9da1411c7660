package cluster

import (
	"context"
	"errors"
	"strings"

	"github.com/gocluster/cluster/internal/wire"
	"github.com/gocluster/cluster/kv"
)

// Sentinel errors. Test for them with errors.Is.
var (
	// ErrNotWorker is returned by the worker calls (Send, Request, Ready...)
	// in a process that was not started by a primary.
	ErrNotWorker = errors.New("cluster: not running as a worker")
	// ErrNotPrimary is returned by New in a worker process.
	ErrNotPrimary = errors.New("cluster: not the primary process")
	// ErrUnsupported is returned by New on platforms without worker
	// processes (Windows): run the program as a single process there.
	ErrUnsupported = errors.New("cluster: worker processes are not supported on this platform")
	// ErrDisconnected is returned when the IPC channel to the peer is closed:
	// the worker exited or was disconnected, or the primary is gone.
	ErrDisconnected = errors.New("cluster: channel disconnected")
	// ErrNoWorker is returned when a message is addressed to a worker id
	// that does not exist (or no longer exists).
	ErrNoWorker = errors.New("cluster: no such worker")
	// ErrNotRunning is returned by Primary methods that need Run to be active.
	ErrNotRunning = errors.New("cluster: primary is not running")
	// ErrRunning is returned by a second call to Run.
	ErrRunning = errors.New("cluster: primary is already running")
	// ErrNotRequest is returned by Message.Reply on a one-way message.
	ErrNotRequest = errors.New("cluster: message is not a request")
	// ErrReplied is returned by a second Reply to the same request.
	ErrReplied = errors.New("cluster: request already answered")
	// ErrNoReader is returned to a requester when its request was dropped
	// because nobody on the other side reads Messages.
	ErrNoReader = errors.New("cluster: nobody reads messages on the other side")
	// ErrForced is returned by Disconnect when the worker did not exit within
	// the drain deadline and had to be stopped by signal.
	ErrForced = errors.New("cluster: worker did not exit in time and was signalled")
	// ErrTooLarge is returned when a message is larger than
	// Config.MaxMessageSize; nothing was sent.
	ErrTooLarge = errors.New("cluster: message too large")
	// ErrNotReady is wrapped by the EventError of a worker that did not
	// become ready within Config.ReadyTimeout.
	ErrNotReady = errors.New("cluster: worker not ready in time")
	// ErrCrashLoop is wrapped by the error of EventCrashLoop, and returned
	// by Run when Config.StopOnCrashLoop stopped the cluster.
	ErrCrashLoop = errors.New("cluster: crash loop")
	// ErrReloading is returned by Reload and Scale while a reload is in
	// progress.
	ErrReloading = errors.New("cluster: a reload is in progress")
	// ErrReloadAborted is wrapped by the error of a reload that was given
	// up (a new worker failed to become ready, its context ended, or the
	// cluster stopped); the old workers that were not replaced keep serving.
	ErrReloadAborted = errors.New("cluster: reload aborted")
	// ErrInvalidConfig is wrapped by every error New returns for a bad Config.
	ErrInvalidConfig = errors.New("cluster: invalid config")
	// ErrInHandler is returned at once by a call that would wait for the
	// primary's answer (a shared-state write such as [kv.KV.Put], a
	// [kv.KV.Load], the first [Store], [Request], [RequestTo]) when it
	// is made from a [Handle] callback: the callback runs on the goroutine
	// that reads the channel to the primary, so the answer could never be
	// read. Hand the work to another goroutine.
	ErrInHandler = errors.New("cluster: a Handle callback cannot wait for an answer from the primary")
)

// RemoteError is the error a Request returns when the other side answered
// with [Message.ReplyError]. If the error replied with matched one of this
// package's sentinels (or [context.Canceled], [context.DeadlineExceeded]),
// the RemoteError matches it too: errors.Is(err, [ErrExists]) holds on both
// sides.
type RemoteError struct {
	// Text is the error text the other side replied with.
	Text string

	err error // what it matches: the error replied with, or its sentinel
}

// Error returns the text the other side replied with, prefixed.
func (e *RemoteError) Error() string { return "cluster: remote error: " + unprefixed(e.Text) }

// Unwrap returns the sentinel the error matched on the other side, or nil.
func (e *RemoteError) Unwrap() error { return e.err }

// remoteError is the *RemoteError that answers a request with err.
func remoteError(err error) *RemoteError { return &RemoteError{Text: err.Error(), err: err} }

// wireError is an error that came over the channel: its own text, matching
// the sentinel it matched on the other side.
type wireError struct {
	text string
	err  error
}

func (e *wireError) Error() string { return e.text }
func (e *wireError) Unwrap() error { return e.err }

// errCodes is the one table of the errors that keep their identity across
// the IPC channel (this package's sentinels, the shared state's, and
// context's), with their codes (package wire numbers them). The first row
// an error matches wins.
var errCodes = [...]struct {
	err  error
	code wire.Code
}{
	{ErrNoWorker, wire.CodeNoWorker},
	{ErrNoReader, wire.CodeNoReader},
	{ErrDisconnected, wire.CodeDisconnected},
	{kv.ErrExists, wire.CodeExists},
	{kv.ErrConflict, wire.CodeConflict},
	{kv.ErrInvalid, wire.CodeInvalid},
	{ErrTooLarge, wire.CodeTooLarge},
	{kv.ErrNotFound, wire.CodeNotFound},
	{ErrInHandler, wire.CodeInHandler},
	{ErrNotWorker, wire.CodeNotWorker},
	{ErrNotPrimary, wire.CodeNotPrimary},
	{ErrUnsupported, wire.CodeUnsupported},
	{ErrNotRunning, wire.CodeNotRunning},
	{ErrRunning, wire.CodeRunning},
	{ErrNotRequest, wire.CodeNotRequest},
	{ErrReplied, wire.CodeReplied},
	{ErrForced, wire.CodeForced},
	{ErrNotReady, wire.CodeNotReady},
	{ErrCrashLoop, wire.CodeCrashLoop},
	{ErrReloading, wire.CodeReloading},
	{ErrReloadAborted, wire.CodeReloadAborted},
	{ErrInvalidConfig, wire.CodeInvalidConfig},
	{context.Canceled, wire.CodeCanceled},
	{context.DeadlineExceeded, wire.CodeDeadlineExceeded},
	{kv.ErrLoadAborted, wire.CodeLoadAborted},
	{kv.ErrClosed, wire.CodeClosed},
	{kv.ErrUnavailable, wire.CodeUnavailable},
}

// encodeErr turns an error into an error reply payload: the code of the
// sentinel it matches (see errCodes), marked if it is a *RemoteError, then
// its text.
func encodeErr(err error) []byte {
	code := wire.CodeNone
	for _, c := range errCodes {
		if errors.Is(err, c.err) {
			code = c.code
			break
		}
	}
	var re *RemoteError
	if errors.As(err, &re) {
		if code != wire.CodeNone {
			code |= wire.CodeRemote
		}
		return wire.AppendError(nil, code, re.Text)
	}
	return wire.AppendError(nil, code, err.Error())
}

// decodeErr is the inverse of encodeErr: a *RemoteError for an answer made
// with ReplyError or matching no sentinel, else an error matching the
// sentinel, with the sentinel's package prefix.
func decodeErr(p []byte) error {
	code, text := wire.ParseError(p)
	if code == wire.CodeNone || code&wire.CodeRemote != 0 {
		return &RemoteError{Text: text, err: codeErr(code &^ wire.CodeRemote)}
	}
	s := codeErr(code)
	if s == nil { // a code of a later version: keep the text
		return &RemoteError{Text: text}
	}
	return &wireError{text: prefixOf(s) + wire.Unprefixed(text), err: s}
}

// codeErr returns the sentinel of code, nil for none.
func codeErr(code wire.Code) error {
	for _, c := range errCodes {
		if code != wire.CodeNone && c.code == code {
			return c.err
		}
	}
	return nil
}

// prefixOf returns the package prefix of the sentinel s ("kv: "), or
// "cluster: " if it has none (context's).
func prefixOf(s error) string {
	if i := strings.Index(s.Error(), ": "); i > 0 && !strings.Contains(s.Error()[:i], " ") {
		return s.Error()[:i+2]
	}
	return "cluster: "
}

// unprefixed returns s without its package prefix; see [wire.Unprefixed].
func unprefixed(s string) string { return wire.Unprefixed(s) }

// opError is the error of an operation, read as "cluster: op: cause" with
// one prefix: the cause's own is dropped. It unwraps to the cause.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return "cluster: " + e.op + ": " + unprefixed(e.err.Error()) }
func (e *opError) Unwrap() error { return e.err }

// causeError is a sentinel with its cause, read as "cluster: sentinel's
// text: cause" with the cause's own prefix dropped; it matches both.
type causeError struct{ sentinel, cause error }

func (e *causeError) Error() string {
	return e.sentinel.Error() + ": " + unprefixed(e.cause.Error())
}
func (e *causeError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// opErr returns err as the error of op (see opError); nil stays nil.
func opErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, err: err}
}
