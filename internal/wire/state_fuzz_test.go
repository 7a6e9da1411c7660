package wire

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/state"
)

// The fuzz targets feed arbitrary bytes to the decoders: they must never
// panic, must fail only with ErrMalformed, and whatever they accept must
// encode back to the very bytes it was decoded from (the encoding is
// canonical).

func FuzzDecodeWrite(f *testing.F) {
	f.Add(AppendWrite(nil, state.Write{Kind: state.KindPut, Key: "k", Value: []byte("v"), TTL: time.Second, Owner: 3}))
	f.Add(AppendWrite(nil, state.Write{Kind: state.KindUpdate, Key: "counter", Value: []byte("42"), PrevRev: 1 << 40}))
	f.Add(AppendWrite(nil, state.Write{Kind: state.KindDelete, Key: "x"}))
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
	f.Add(AppendEvent(nil, state.Event{Op: state.OpPut, Key: "k", Value: []byte("v"), Rev: 9, Created: 2, Expires: 1e18, Owner: 1}))
	f.Add(AppendEvent(nil, state.Event{Op: state.OpDelete, Key: "k", Rev: 300}))
	f.Add(AppendEvent(nil, state.Event{Op: state.OpExpire, Key: "some/long/key", Rev: 1}))
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
		r := state.NewReplica() // a decoded event is always applicable
		r.Apply(ev)
		if r.Rev() != ev.Rev {
			t.Fatalf("replica at %d after event %d", r.Rev(), ev.Rev)
		}
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(AppendSnapshot(nil, 0, nil))
	f.Add(AppendSnapshot(nil, 10, []state.Entry{
		{Key: "a", Value: []byte("1"), Rev: 3, Created: 1, Expires: 5, Owner: 2},
		{Key: "b", Rev: 10, Created: 10},
	}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	// Decoded into a reused slice, as the transport does with the pieces of
	// a snapshot: what an earlier input left in it must never show.
	var reused []state.Entry
	f.Fuzz(func(t *testing.T, b []byte) {
		fresh, freshEntries, freshErr := DecodeSnapshot(b, nil)
		rev, entries, err := DecodeSnapshot(b, reused)
		if (err == nil) != (freshErr == nil) || rev != fresh || len(entries) != len(freshEntries) ||
			!slices.EqualFunc(entries, freshEntries, func(a, b state.Entry) bool { return reflect.DeepEqual(a, b) }) {
			t.Fatalf("into a reused slice: %d %d entries, %v; into nil: %d %d entries, %v",
				rev, len(entries), err, fresh, len(freshEntries), freshErr)
		}
		if err == nil {
			reused = entries
		}
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
		r := state.NewReplica()
		r.Load(rev, entries)
		if r.Rev() != rev || r.Len() > len(entries) {
			t.Fatalf("replica at %d with %d keys", r.Rev(), r.Len())
		}
		p := state.NewReplica() // as a piece: the same content
		p.LoadPiece(rev, entries)
		if p.Rev() != rev || p.Len() != r.Len() {
			t.Fatalf("piece: replica at %d with %d keys, want %d with %d", p.Rev(), p.Len(), rev, r.Len())
		}
		for _, e := range entries {
			got, _ := p.Get(e.Key)
			want, _ := r.Get(e.Key)
			if !sameEntry(got, want) {
				t.Fatalf("piece: %+v, whole snapshot: %+v", got, want)
			}
		}
	})
}
