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
	kvWrite     byte = 1 // state.AppendWrite
	kvSubscribe byte = 2 // (nothing): send me a snapshot, then every change
	kvLoadBegin byte = 3 // key
	kvLoadEnd   byte = 4 // [outcome] uvarint(ttl ns) uvarint(len key) key, then value or error text
)

// Kinds of the primary's wire.TypeDelta frames (their first byte).
const (
	deltaEvent    byte = 1 // state.AppendEvent
	deltaSnapPart byte = 2 // state.AppendSnapshot: more parts follow
	deltaSnapshot byte = 3 // state.AppendSnapshot: the last part, at its revision
	loadHave      byte = 1 // beginLoad answer: state.AppendEvent of the entry
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

// replyCode turns the error of a store operation into a reply code and text.
func replyCode(err error) (byte, string) {
	switch {
	case err == nil:
		return codeOK, ""
	case errors.Is(err, state.ErrExists):
		return codeExists, ""
	case errors.Is(err, state.ErrConflict):
		return codeConflict, ""
	case errors.Is(err, state.ErrEmptyKey), errors.Is(err, state.ErrKeyTooLarge),
		errors.Is(err, state.ErrValueTooLarge), errors.Is(err, state.ErrMalformed):
		return codeInvalid, strings.TrimPrefix(err.Error(), "state: ")
	case errors.Is(err, state.ErrLoadAborted), errors.Is(err, errLoadAborted):
		return codeAborted, ""
	case errors.Is(err, ErrInvalidKV):
		return codeInvalid, strings.TrimPrefix(err.Error(), ErrInvalidKV.Error()+": ")
	}
	return codeFailed, err.Error()
}

// codeError is the inverse of replyCode: an error callers can test with
// errors.Is against the package's sentinels.
func codeError(code byte, text string) error {
	switch code {
	case codeOK:
		return nil
	case codeExists:
		return ErrExists
	case codeConflict:
		return ErrConflict
	case codeInvalid:
		return fmt.Errorf("%w: %s", ErrInvalidKV, text)
	case codeAborted:
		return errLoadAborted
	}
	return &RemoteError{Text: text}
}

// storeError translates an error of the local store.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	code, text := replyCode(err)
	if code == codeFailed {
		return err
	}
	return codeError(code, text)
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
