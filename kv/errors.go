package kv

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gocluster/cluster/internal/wire"
)

// Sentinel errors. Test for them with errors.Is: they come wrapped, with the
// operation and the key.
var (
	// ErrExists is wrapped by the error of [KV.Create] when the key exists.
	ErrExists = errors.New("kv: key exists")
	// ErrConflict is wrapped by the error of [KV.Update] when the key's
	// revision is not the one given (or the key is absent): another write
	// came first.
	ErrConflict = errors.New("kv: revision conflict")
	// ErrNotFound is returned by [Map.Get] for an absent key.
	ErrNotFound = errors.New("kv: key not found")
	// ErrInvalid is wrapped by the error of a write with an empty key, a key
	// over [MaxKeySize], a value over the store's value limit (see
	// [Limits]) or a negative TTL.
	ErrInvalid = errors.New("kv: invalid key or value")
	// ErrLoadAborted is what a [Backend] gives the waiters of a load whose
	// leader went away (its process exited, or its context ended) before it
	// finished. [KV.Load] then tries again; callers never see it.
	ErrLoadAborted = errors.New("kv: load aborted: its loader is gone")
	// ErrClosed is returned by the calls of a [Backend] after Close.
	ErrClosed = errors.New("kv: store closed")
	// ErrUnavailable is the error of a write, a load or a sync while a
	// remote store cannot be reached (package redis): nothing was waited
	// for, and reads keep serving the last content. It crosses from the
	// primary to a worker like the others.
	ErrUnavailable = errors.New("kv: store unavailable")
)

// keyError is the error of an operation on a key, read as
// `kv: create "k": key exists`: one package prefix, the key quoted short.
type keyError struct {
	op, key string
	err     error
}

func (e *keyError) Error() string {
	return "kv: " + e.op + " " + quoteKey(e.key) + ": " + wire.Unprefixed(e.err.Error())
}

func (e *keyError) Unwrap() error { return e.err }

// opError is the error of an operation on no key, read as "kv: op: cause"
// with one prefix.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return "kv: " + e.op + ": " + wire.Unprefixed(e.err.Error()) }
func (e *opError) Unwrap() error { return e.err }

// detailError is a sentinel with details after its text; it matches the
// sentinel.
type detailError struct {
	text string
	err  error
}

func (e *detailError) Error() string { return e.text }
func (e *detailError) Unwrap() error { return e.err }

// withDetail returns the sentinel s with the details d in its text.
func withDetail(s error, d string) error {
	d = strings.TrimSpace(d)
	if d == "" {
		return s
	}
	return &detailError{text: s.Error() + ": " + d, err: s}
}

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
