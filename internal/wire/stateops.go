package wire

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Operations of a worker's TypeState request (its first payload byte). Each
// is answered by a Rep frame whose payload is AppendStateReply's, or a
// RepErr frame; a write may instead be answered by the change it made (a
// TypeDelta frame with the write's request id).
const (
	StateWrite     byte = 1 // AppendWrite
	StateSubscribe byte = 2 // (nothing): send me the content, then every change
	StateLoadBegin byte = 3 // key
	StateLoadEnd   byte = 4 // AppendLoadEnd
)

// Kinds of the primary's TypeDelta frames (their first payload byte).
const (
	DeltaChange   byte = 1 // AppendEvent
	DeltaSnapPart byte = 2 // AppendSnapshot: more pieces follow
	DeltaSnapshot byte = 3 // AppendSnapshot: the last piece, at its revision
	DeltaReset    byte = 4 // nothing: the content held is void, a fresh one follows (kv.Sink.Reset)
)

// Answers to a StateLoadBegin request (the first byte after the revision).
const (
	LoadHave byte = 1 // AppendEvent of the entry follows
	LoadLead byte = 2 // the requester runs the loader
)

// Outcomes of a StateLoadEnd request.
const (
	LoadOK     byte = 0 // the value follows
	LoadFailed byte = 1 // the error's text follows
	LoadGaveUp byte = 2 // the leader gave up (its context ended)
)

// MaxKey bounds the key of a StateLoadEnd request, as the store bounds keys.
const MaxKey = 4096

// AppendStateReply appends the payload of a Rep answering a TypeState
// request: the revision, then data.
func AppendStateReply(b []byte, rev uint64, rest []byte) []byte {
	b = binary.AppendUvarint(b, rev)
	return append(b, rest...)
}

// ParseStateReply splits a payload made by AppendStateReply.
func ParseStateReply(b []byte) (rev uint64, rest []byte, err error) {
	rev, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, fmt.Errorf("%w: bad revision in a shared-state reply", ErrMalformed)
	}
	return rev, b[n:], nil
}

// AppendLoadEnd appends a leader's StateLoadEnd request.
func AppendLoadEnd(b []byte, outcome byte, ttl time.Duration, key string, rest []byte) []byte {
	b = append(b, StateLoadEnd, outcome)
	b = binary.AppendUvarint(b, uint64(ttl))
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	return append(b, rest...)
}

// ParseLoadEnd decodes a StateLoadEnd request (without its first byte). It
// bounds every length: the bytes come from a worker.
func ParseLoadEnd(b []byte) (outcome byte, ttl time.Duration, key string, rest []byte, err error) {
	bad := func(what string) (byte, time.Duration, string, []byte, error) {
		return 0, 0, "", nil, fmt.Errorf("%w: load end: %s", ErrMalformed, what)
	}
	if len(b) < 1 || b[0] > LoadGaveUp {
		return bad("outcome")
	}
	outcome, b = b[0], b[1:]
	t, n := binary.Uvarint(b)
	if n <= 0 || t > uint64(1<<62) {
		return bad("ttl")
	}
	b = b[n:]
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) || l > MaxKey {
		return bad("key")
	}
	b = b[n:]
	return outcome, time.Duration(t), string(b[:l]), b[l:], nil
}
