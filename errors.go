package cluster

import (
	"errors"
	"fmt"
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
)

// errStatm: the resident memory of a worker could not be read.
var errStatm = errors.New("cluster: no resident memory figure for this process")

// RemoteError is the error a Request returns when the other side answered
// with Message.ReplyError.
type RemoteError struct {
	// Text is the error text the other side replied with.
	Text string
}

// Error returns the text the other side replied with, prefixed.
func (e *RemoteError) Error() string { return "cluster: remote error: " + e.Text }

// Error codes: the first byte of an error reply's payload.
const (
	errCodeRemote       byte = 0 // the rest is the text of a RemoteError
	errCodeNoWorker     byte = 1
	errCodeNoReader     byte = 2
	errCodeDisconnected byte = 3
)

// encodeErr turns an error into an error reply payload: a code callers can
// branch on (ErrNoWorker, ErrNoReader, ErrDisconnected), then the text.
func encodeErr(err error) []byte {
	code := errCodeRemote
	var re *RemoteError
	switch {
	case errors.As(err, &re):
		return append([]byte{errCodeRemote}, re.Text...)
	case errors.Is(err, ErrNoWorker):
		code = errCodeNoWorker
	case errors.Is(err, ErrNoReader):
		code = errCodeNoReader
	case errors.Is(err, ErrDisconnected):
		code = errCodeDisconnected
	}
	return append([]byte{code}, err.Error()...)
}

// decodeErr is the inverse of encodeErr.
func decodeErr(p []byte) error {
	if len(p) == 0 {
		return &RemoteError{}
	}
	text := string(p[1:])
	switch p[0] {
	case errCodeNoWorker:
		return fmt.Errorf("%w (%s)", ErrNoWorker, text)
	case errCodeNoReader:
		return ErrNoReader
	case errCodeDisconnected:
		return fmt.Errorf("%w (%s)", ErrDisconnected, text)
	}
	return &RemoteError{Text: text}
}
