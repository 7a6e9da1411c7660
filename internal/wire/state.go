package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
	"unsafe"

	"github.com/gocluster/cluster/internal/state"
)

// Encodings (u = unsigned varint, canonical; s = u length then bytes):
//
//	write:    kind(1) key:s value:s prevRev:u ttlNanos:u owner:u
//	event:    op(1) key:s rev:u                                   (delete, expire)
//	event:    op(1) key:s rev:u value:s created:u expires:u owner:u (put)
//	snapshot: rev:u count:u then per entry:
//	          key:s value:s rev:u created:u expires:u owner:u
//
// A snapshot is a whole store at one revision, or one piece of it (see
// Snapshot): the same encoding.
//
// The decoders return keys and values that alias their input: the caller
// must not modify that input while it uses them, and must copy what it keeps
// (Store.Apply, Replica.Apply, Replica.LoadPiece and Replica.Load copy keys
// and values, so passing what was decoded to them and then reusing the
// buffer is safe: the transport decodes every change, write and piece in its
// read buffer without allocating). An empty value decodes as nil.

// AppendWrite appends the encoding of w to dst.
func AppendWrite(dst []byte, w state.Write) []byte {
	dst = append(dst, byte(w.Kind))
	dst = appendString(dst, w.Key)
	dst = appendBytes(dst, w.Value)
	dst = binary.AppendUvarint(dst, w.PrevRev)
	dst = binary.AppendUvarint(dst, uint64(w.TTL))
	return binary.AppendUvarint(dst, w.Owner)
}

// DecodeWrite decodes a write encoded by AppendWrite. Its Key and Value
// alias b. It checks the structure (kind, lengths, TTL not negative), not
// the limits of a Store, which Store.Apply checks.
func DecodeWrite(b []byte) (state.Write, error) {
	d := decoder{b: b, what: "write"}
	var w state.Write
	w.Kind = state.Kind(d.byte())
	if d.err == nil && (w.Kind < state.KindPut || w.Kind > state.KindDelete) {
		d.fail("unknown kind %d", w.Kind)
	}
	w.Key = d.aliasString()
	w.Value = d.bytes()
	w.PrevRev = d.uvarint()
	w.TTL = time.Duration(d.int64())
	w.Owner = d.uvarint()
	if err := d.end(); err != nil {
		return state.Write{}, err
	}
	return w, nil
}

// AppendEvent appends the encoding of ev to dst. Only Op, Key and Rev of an
// OpDelete or OpExpire event are encoded.
func AppendEvent(dst []byte, ev state.Event) []byte {
	dst = append(dst, byte(ev.Op))
	dst = appendString(dst, ev.Key)
	dst = binary.AppendUvarint(dst, ev.Rev)
	if ev.Op != state.OpPut {
		return dst
	}
	dst = appendBytes(dst, ev.Value)
	dst = binary.AppendUvarint(dst, ev.Created)
	dst = binary.AppendUvarint(dst, uint64(ev.Expires))
	return binary.AppendUvarint(dst, ev.Owner)
}

// DecodeEvent decodes an event encoded by AppendEvent. Its Key and Value
// alias b. It requires a known op, a non-empty key, Rev >= 1 and, for OpPut,
// 1 <= Created <= Rev.
func DecodeEvent(b []byte) (state.Event, error) {
	d := decoder{b: b, what: "event"}
	var ev state.Event
	ev.Op = state.Op(d.byte())
	if d.err == nil && (ev.Op < state.OpPut || ev.Op > state.OpExpire) {
		d.fail("unknown op %d", ev.Op)
	}
	ev.Key = d.aliasKey()
	ev.Rev = d.uvarint()
	if d.err == nil && ev.Rev == 0 {
		d.fail("revision 0")
	}
	if ev.Op == state.OpPut {
		ev.Value = d.bytes()
		ev.Created = d.created(ev.Rev)
		ev.Expires = d.int64()
		ev.Owner = d.uvarint()
	}
	if err := d.end(); err != nil {
		return state.Event{}, err
	}
	return ev, nil
}

// minEntrySize is the smallest encoding of a snapshot entry.
const minEntrySize = 7

// AppendSnapshot appends the encoding of a snapshot to dst.
func AppendSnapshot(dst []byte, rev uint64, entries []state.Entry) []byte {
	dst = binary.AppendUvarint(dst, rev)
	dst = binary.AppendUvarint(dst, uint64(len(entries)))
	for i := range entries {
		e := &entries[i]
		dst = appendString(dst, e.Key)
		dst = appendBytes(dst, e.Value)
		dst = binary.AppendUvarint(dst, e.Rev)
		dst = binary.AppendUvarint(dst, e.Created)
		dst = binary.AppendUvarint(dst, uint64(e.Expires))
		dst = binary.AppendUvarint(dst, e.Owner)
	}
	return dst
}

// DecodeSnapshot decodes a snapshot encoded by [AppendSnapshot] into dst,
// whose memory it reuses when it has room (pass nil for none). The keys and
// values of the entries alias b. It requires non-empty keys and 1 <= Created
// <= Rev <= rev for every entry; it does not check that keys are distinct.
func DecodeSnapshot(b []byte, dst []state.Entry) (rev uint64, entries []state.Entry, err error) {
	d := decoder{b: b, what: "snapshot"}
	rev = d.uvarint()
	count := d.uvarint()
	if d.err == nil && count > uint64(len(d.b)/minEntrySize) {
		d.fail("%d entries in %d bytes", count, len(d.b))
	}
	if d.err != nil {
		return 0, nil, d.err
	}
	entries = slices.Grow(dst[:0], int(count))[:count]
	for i := range entries {
		e := &entries[i]
		e.Key = d.aliasKey()
		e.Value = d.bytes()
		e.Rev = d.uvarint()
		if d.err == nil && (e.Rev == 0 || e.Rev > rev) {
			d.fail("entry revision %d outside 1..%d", e.Rev, rev)
		}
		e.Created = d.created(e.Rev)
		e.Expires = d.int64()
		e.Owner = d.uvarint()
		if d.err != nil {
			return 0, nil, d.err
		}
	}
	if err := d.end(); err != nil {
		return 0, nil, err
	}
	return rev, entries, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// decoder reads b front to back; the first error sticks and every later read
// returns a zero value.
type decoder struct {
	b    []byte
	off  int // bytes consumed, for messages
	what string
	err  error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d: %s", ErrMalformed, d.what, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) advance(n int) {
	d.b = d.b[n:]
	d.off += n
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.advance(1)
	return c
}

// uvarint reads a canonical (shortest) unsigned varint.
func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n == 0:
		d.fail("truncated")
		return 0
	case n < 0:
		d.fail("varint overflows 64 bits")
		return 0
	case n > 1 && d.b[n-1] == 0:
		d.fail("non-canonical varint")
		return 0
	}
	d.advance(n)
	return v
}

// int64 reads a non-negative int64 encoded as a uvarint.
func (d *decoder) int64() int64 {
	v := d.uvarint()
	if v > math.MaxInt64 {
		d.fail("negative number")
		return 0
	}
	return int64(v)
}

// bytes reads a length-prefixed byte string, aliasing the input; nil if empty.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("length %d over the %d bytes left", n, len(d.b))
		return nil
	}
	if n == 0 {
		return nil
	}
	b := d.b[:n:n]
	d.advance(int(n))
	return b
}

// aliasString reads a string that aliases the input.
func (d *decoder) aliasString() string {
	b := d.bytes()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// aliasKey reads a non-empty string that aliases the input.
func (d *decoder) aliasKey() string {
	k := d.aliasString()
	if d.err == nil && k == "" {
		d.fail("empty key")
	}
	return k
}

// created reads a creation revision, which must be in 1..rev.
func (d *decoder) created(rev uint64) uint64 {
	c := d.uvarint()
	if d.err == nil && (c == 0 || c > rev) {
		d.fail("creation revision %d outside 1..%d", c, rev)
	}
	return c
}

// end checks that the input was consumed entirely.
func (d *decoder) end() error {
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	return d.err
}
