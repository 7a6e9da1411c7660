package cluster

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
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
	// ErrExists is wrapped by the error of KV.Create when the key exists.
	ErrExists = errors.New("cluster: key exists")
	// ErrConflict is wrapped by the error of KV.Update when the key's
	// revision is not the one given (or the key is absent): another write
	// came first.
	ErrConflict = errors.New("cluster: revision conflict")
	// ErrNotFound is returned by Map.Get for an absent key.
	ErrNotFound = errors.New("cluster: key not found")
	// ErrInvalidKV is wrapped by the error of a write with an empty key, a
	// key over MaxKeySize, a value over MaxValueSize or a negative TTL.
	ErrInvalidKV = errors.New("cluster: invalid key or value")
	// ErrInvalidConfig is wrapped by every error New returns for a bad Config.
	ErrInvalidConfig = errors.New("cluster: invalid config")
	// ErrInHandler is returned at once by a call that would wait for the
	// primary's answer (a shared-state write such as [KV.Put] or [Map.Set],
	// [KV.Load], the first [StoreContext], [Request], [RequestTo]) when it
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
// the IPC channel, with their codes in the two kinds of answers that carry
// errors: reply, the first byte of an error reply to a request (0: none,
// the error is sent as text); state, the status of a shared-state reply (0:
// none, sent as codeFailed with its text). The first row an error matches
// wins. The numbers are part of the protocol: add rows, never renumber.
var errCodes = [...]struct {
	err   error
	reply byte
	state byte
}{
	{ErrNoWorker, errCodeNoWorker, 0},
	{ErrNoReader, errCodeNoReader, 0},
	{ErrDisconnected, errCodeDisconnected, 0},
	{ErrExists, 4, codeExists},
	{ErrConflict, 5, codeConflict},
	{ErrInvalidKV, 6, codeInvalid},
	{ErrTooLarge, 7, 0},
	{ErrNotFound, 8, 0},
	{ErrInHandler, 9, 0},
	{ErrNotWorker, 10, 0},
	{ErrNotPrimary, 11, 0},
	{ErrUnsupported, 12, 0},
	{ErrNotRunning, 13, 0},
	{ErrRunning, 14, 0},
	{ErrNotRequest, 15, 0},
	{ErrReplied, 16, 0},
	{ErrForced, 17, 0},
	{ErrNotReady, 18, 0},
	{ErrCrashLoop, 19, 0},
	{ErrReloading, 20, 0},
	{ErrReloadAborted, 21, 0},
	{ErrInvalidConfig, 22, 0},
	{context.Canceled, 23, 0},
	{context.DeadlineExceeded, 24, 0},
	{errLoadAborted, 0, codeAborted},
}

// Codes of an error reply: the first byte of its payload, then the text.
// The codes of sentinels are in errCodes; errRemote marks an answer made
// with ReplyError (a *RemoteError on the requester's side). Code 0 is a
// *RemoteError that matches no sentinel, as every peer reads it.
const (
	errRemote           byte = 0x80
	errCodeNoWorker     byte = 1
	errCodeNoReader     byte = 2
	errCodeDisconnected byte = 3
)

// encodeErr turns an error into an error reply payload: the code of the
// sentinel it matches (see errCodes), marked if it is a *RemoteError, then
// its text.
func encodeErr(err error) []byte {
	var code byte
	for _, c := range errCodes {
		if c.reply != 0 && errors.Is(err, c.err) {
			code = c.reply
			break
		}
	}
	var re *RemoteError
	if errors.As(err, &re) {
		if code != 0 {
			code |= errRemote
		}
		return append([]byte{code}, re.Text...)
	}
	return append([]byte{code}, err.Error()...)
}

// decodeErr is the inverse of encodeErr.
func decodeErr(p []byte) error {
	if len(p) == 0 {
		return &RemoteError{}
	}
	code, text := p[0], string(p[1:])
	if code == 0 || code&errRemote != 0 {
		return &RemoteError{Text: text, err: replyErr(code &^ errRemote)}
	}
	s := replyErr(code)
	if s == nil { // a code of a later version: keep the text
		return &RemoteError{Text: text}
	}
	return &wireError{text: prefixed(text), err: s}
}

// replyErr returns the error of an error reply's code, nil for none.
func replyErr(code byte) error {
	for _, c := range errCodes {
		if code != 0 && c.reply == code {
			return c.err
		}
	}
	return nil
}

// unprefixed returns s without its package prefix: "cluster: ", or that of
// an internal package ("wire: ", "state: "), which a user does not import.
func unprefixed(s string) string {
	for _, p := range [...]string{"cluster: ", "wire: ", "state: "} {
		if t, ok := strings.CutPrefix(s, p); ok {
			return t
		}
	}
	return s
}

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

// prefixed returns s with one "cluster: " prefix.
func prefixed(s string) string { return "cluster: " + unprefixed(s) }

// keyError is the error of a shared-state operation on a key, read as
// `cluster: put "k": key exists`.
type keyError struct {
	op, key string
	err     error
}

func (e *keyError) Error() string {
	return "cluster: " + e.op + " " + quoteKey(e.key) + ": " + unprefixed(e.err.Error())
}

func (e *keyError) Unwrap() error { return e.err }

// keyQuoteMax is how much of a key an error message shows.
const keyQuoteMax = 32

// quoteKey quotes key for a message: whole if short, else its first
// keyQuoteMax bytes (cut at a character boundary) and its length, so that a
// long key or a session id is not copied whole into logs.
func quoteKey(key string) string {
	if len(key) <= keyQuoteMax {
		return strconv.Quote(key)
	}
	cut := keyQuoteMax
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	return strconv.Quote(key[:cut]) + "…(" + strconv.Itoa(len(key)) + " bytes)"
}
