package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/internal/wire"
)

// Operations of a worker's wire.TypeState request (its first byte).
const (
	kvWrite     byte = 1 // wire.AppendWrite
	kvSubscribe byte = 2 // (nothing): send me a snapshot, then every change
	kvLoadBegin byte = 3 // key
	kvLoadEnd   byte = 4 // [outcome] uvarint(ttl ns) uvarint(len key) key, then value or error text
)

// Kinds of the primary's wire.TypeDelta frames (their first byte).
const (
	deltaEvent    byte = 1 // wire.AppendEvent
	deltaSnapPart byte = 2 // wire.AppendSnapshot: more parts follow
	deltaSnapshot byte = 3 // wire.AppendSnapshot: the last part, at its revision
	loadHave      byte = 1 // beginLoad answer: wire.AppendEvent of the entry
	loadLead      byte = 2 // beginLoad answer: run the loader
	loadOK        byte = 0 // kvLoadEnd outcome: value follows
	loadFailed    byte = 1 // kvLoadEnd outcome: error text follows
	loadGaveUp    byte = 2 // kvLoadEnd outcome: the leader gave up (its context ended)
	codeOK        byte = 0 // first byte of a reply to a TypeState request
	codeExists    byte = 1
	codeConflict  byte = 2
	codeInvalid   byte = 3
	codeAborted   byte = 4 // a load whose leader is gone: try again
	codeFailed    byte = 5 // the text is the error
	snapshotChunk      = 128 << 10
)

// errLoadAborted is what a waiter of a load whose leader went away gets: it
// tries again.
var errLoadAborted = errors.New("cluster: load aborted: its loader is gone")

// replyCode turns the error of a store operation into the status and text
// of a shared-state reply: the status errCodes gives the sentinel the error
// matches and the details after the sentinel's own text, or codeFailed and
// the whole text.
func replyCode(err error) (byte, string) {
	if err == nil {
		return codeOK, ""
	}
	err = storeError(err)
	for _, c := range errCodes {
		if c.state != 0 && errors.Is(err, c.err) {
			return c.state, detail(err, c.err)
		}
	}
	return codeFailed, err.Error()
}

// codeError is the inverse of replyCode: an error callers can test with
// errors.Is against the package's sentinels.
func codeError(code byte, text string) error {
	if code == codeOK {
		return nil
	}
	for _, c := range errCodes {
		if c.state == code {
			return withDetail(c.err, text)
		}
	}
	return &RemoteError{Text: text}
}

// storeError turns an error of the store (package state) into the
// package's: the same text after "cluster: ", matching the sentinel callers
// test for. Other errors are returned as they are.
func storeError(err error) error {
	var s error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, state.ErrExists):
		s = ErrExists
	case errors.Is(err, state.ErrConflict):
		s = ErrConflict
	case errors.Is(err, state.ErrEmptyKey), errors.Is(err, state.ErrKeyTooLarge),
		errors.Is(err, state.ErrValueTooLarge), errors.Is(err, state.ErrMalformed):
		return withDetail(ErrInvalidKV, strings.TrimPrefix(err.Error(), "state: "))
	case errors.Is(err, state.ErrLoadAborted):
		return errLoadAborted
	default:
		return err
	}
	return &wireError{text: prefixed(strings.TrimPrefix(err.Error(), "state: ")), err: s}
}

// detail returns what the text of err says beyond the text of sentinel s.
func detail(err, s error) string {
	msg, st := err.Error(), s.Error()
	if !strings.HasPrefix(msg, st) {
		return unprefixed(msg)
	}
	return strings.TrimPrefix(msg[len(st):], ": ")
}

// withDetail returns the sentinel s with the details d in its text.
func withDetail(s error, d string) error {
	d = strings.TrimSpace(d)
	switch {
	case d == "":
		return s
	case d[0] == '(':
		return &wireError{text: s.Error() + " " + d, err: s}
	}
	return &wireError{text: s.Error() + ": " + d, err: s}
}

// appendReply encodes the answer to a TypeState request: code, revision,
// then text or data.
func appendReply(b []byte, code byte, rev uint64, rest []byte) []byte {
	b = append(b, code)
	b = binary.AppendUvarint(b, rev)
	return append(b, rest...)
}

// decodeReply splits an answer encoded by appendReply.
func decodeReply(b []byte) (code byte, rev uint64, rest []byte, err error) {
	if len(b) < 2 {
		return 0, 0, nil, fmt.Errorf("%w: short shared-state reply", wire.ErrMalformed)
	}
	rev, n := binary.Uvarint(b[1:])
	if n <= 0 {
		return 0, 0, nil, fmt.Errorf("%w: bad revision in a shared-state reply", wire.ErrMalformed)
	}
	return b[0], rev, b[1+n:], nil
}

// appendLoadEnd encodes a leader's kvLoadEnd request.
func appendLoadEnd(b []byte, outcome byte, ttl time.Duration, key string, rest []byte) []byte {
	b = append(b, kvLoadEnd, outcome)
	b = binary.AppendUvarint(b, uint64(ttl))
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	return append(b, rest...)
}

// decodeLoadEnd decodes a kvLoadEnd request (without its first byte). It
// bounds every length: the bytes come from a worker.
func decodeLoadEnd(b []byte) (outcome byte, ttl time.Duration, key string, rest []byte, err error) {
	bad := func(what string) (byte, time.Duration, string, []byte, error) {
		return 0, 0, "", nil, fmt.Errorf("%w: load end: %s", wire.ErrMalformed, what)
	}
	if len(b) < 1 || b[0] > loadGaveUp {
		return bad("outcome")
	}
	outcome, b = b[0], b[1:]
	t, n := binary.Uvarint(b)
	if n <= 0 || t > uint64(1<<62) {
		return bad("ttl")
	}
	b = b[n:]
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) || l > MaxKeySize {
		return bad("key")
	}
	b = b[n:]
	return outcome, time.Duration(t), string(b[:l]), b[l:], nil
}
