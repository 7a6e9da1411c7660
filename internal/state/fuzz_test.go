package state

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// The fuzz targets feed arbitrary bytes to the decoders: they must never
// panic, must fail only with ErrMalformed, and whatever they accept must
// encode back to the very bytes it was decoded from (the encoding is
// canonical).

func FuzzDecodeWrite(f *testing.F) {
	f.Add(AppendWrite(nil, Write{Kind: KindPut, Key: "k", Value: []byte("v"), TTL: time.Second, Owner: 3}))
	f.Add(AppendWrite(nil, Write{Kind: KindUpdate, Key: "counter", Value: []byte("42"), PrevRev: 1 << 40}))
	f.Add(AppendWrite(nil, Write{Kind: KindDelete, Key: "x"}))
	f.Add([]byte{1, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := DecodeWrite(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if enc := AppendWrite(nil, w); !bytes.Equal(enc, b) {
			t.Fatalf("%+v re-encodes to %x, not %x", w, enc, b)
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add(AppendEvent(nil, Event{Op: OpPut, Key: "k", Value: []byte("v"), Rev: 9, Created: 2, Expires: 1e18, Owner: 1}))
	f.Add(AppendEvent(nil, Event{Op: OpDelete, Key: "k", Rev: 300}))
	f.Add(AppendEvent(nil, Event{Op: OpExpire, Key: "some/long/key", Rev: 1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeEvent(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if enc := AppendEvent(nil, ev); !bytes.Equal(enc, b) {
			t.Fatalf("%+v re-encodes to %x, not %x", ev, enc, b)
		}
		r := NewReplica() // a decoded event is always applicable
		r.Apply(ev)
		if r.Rev() != ev.Rev {
			t.Fatalf("replica at %d after event %d", r.Rev(), ev.Rev)
		}
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(AppendSnapshot(nil, 0, nil))
	f.Add(AppendSnapshot(nil, 10, []Entry{
		{Key: "a", Value: []byte("1"), Rev: 3, Created: 1, Expires: 5, Owner: 2},
		{Key: "b", Rev: 10, Created: 10},
	}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		rev, entries, err := DecodeSnapshot(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(entries) > len(b)/minEntrySize {
			t.Fatalf("%d entries from %d bytes", len(entries), len(b))
		}
		if enc := AppendSnapshot(nil, rev, entries); !bytes.Equal(enc, b) {
			t.Fatalf("snapshot re-encodes to %x, not %x", enc, b)
		}
		r := NewReplica()
		r.Load(rev, entries)
		if r.Rev() != rev || r.Len() > len(entries) {
			t.Fatalf("replica at %d with %d keys", r.Rev(), r.Len())
		}
	})
}
