package kvlink

import (
	"errors"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/internal/wire"
	"github.com/gocluster/cluster/kv"
)

type rawFrame struct {
	typ     wire.Type
	id      uint64
	payload []byte
}

func stateWrite(id uint64, w state.Write) rawFrame {
	return rawFrame{wire.TypeState, id, wire.AppendWrite([]byte{wire.StateWrite}, w)}
}

// TestMalformedFromWorker sends the server frames no Client sends: each
// ends the server's reader of that worker with an error wrapping
// wire.ErrMalformed (a panic would end the test binary), and the writes the
// worker sent before it still count.
func TestMalformedFromWorker(t *testing.T) {
	good := state.Write{Kind: state.KindPut, Key: "k", Value: []byte("v")}
	goodBytes := wire.AppendWrite([]byte{wire.StateWrite}, good)
	for _, tc := range []struct {
		name string
		f    rawFrame
	}{
		{"unknown state operation", rawFrame{wire.TypeState, 1, []byte{99}}},
		{"empty state request", rawFrame{wire.TypeState, 1, nil}},
		{"subscribe without a request id", rawFrame{wire.TypeState, 0, []byte{wire.StateSubscribe}}},
		{"load without a request id", rawFrame{wire.TypeState, 0, []byte{wire.StateLoadBegin, 'k'}}},
		{"write without a request id", stateWrite(0, good)},
		{"write of an unknown kind", stateWrite(1, state.Write{Kind: 9, Key: "k"})},
		{"truncated write", rawFrame{wire.TypeState, 1, goodBytes[:len(goodBytes)-2]}},
		{"write with trailing bytes", rawFrame{wire.TypeState, 1, append(goodBytes[:len(goodBytes):len(goodBytes)], 0)}},
		{"write with a garbage body", rawFrame{wire.TypeState, 1, []byte{wire.StateWrite, 0xff, 0xff, 0xff}}},
		{"load end of an unknown outcome", rawFrame{wire.TypeState, 1, []byte{wire.StateLoadEnd, 7}}},
		{"load end with a truncated key", rawFrame{wire.TypeState, 1, []byte{wire.StateLoadEnd, wire.LoadOK, 0, 50, 'k'}}},
		{"change sent by a worker", rawFrame{wire.TypeDelta, 0, []byte{wire.DeltaChange, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPrimary(t, 64<<10, kv.Limits{})
			w := p.connectBare(t, 1)
			conn := w.wl.Conn()
			// A valid write first, in the same burst: it is applied.
			if err := conn.Enqueue(wire.TypeState, 0, 77, goodBytes); err != nil {
				t.Fatal(err)
			}
			if err := conn.Enqueue(tc.f.typ, 0, tc.f.id, tc.f.payload); err != nil {
				t.Fatal(err)
			}
			if err := w.waitPrimaryEnd(); !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("the server's reader ended with %v, want an error wrapping wire.ErrMalformed", err)
			}
			if e, ok := p.kv.Get("k"); !ok || string(e.Value) != "v" {
				t.Fatal("the valid write sent before the malformed frame was not applied")
			}
		})
	}
}

// TestMalformedFromPrimary sends a subscribed Client frames no server
// sends: each ends the worker's reader with an error wrapping
// wire.ErrMalformed, and the worker's calls then fail instead of waiting.
func TestMalformedFromPrimary(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    rawFrame
	}{
		{"empty change", rawFrame{wire.TypeDelta, 0, nil}},
		{"unknown change kind", rawFrame{wire.TypeDelta, 0, []byte{9}}},
		{"garbage change", rawFrame{wire.TypeDelta, 0, []byte{wire.DeltaChange, 0xff, 0xff}}},
		{"garbage change answering a write", rawFrame{wire.TypeDelta, 5, []byte{wire.DeltaChange, 1}}},
		{"garbage snapshot piece", rawFrame{wire.TypeDelta, 0, []byte{wire.DeltaSnapPart, 1, 5, 0xff}}},
		{"garbage last snapshot piece", rawFrame{wire.TypeDelta, 0, []byte{wire.DeltaSnapshot, 0xff}}},
		{"state request sent by the primary", rawFrame{wire.TypeState, 1, []byte{wire.StateSubscribe}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPrimary(t, 64<<10, kv.Limits{})
			w := p.connectReady(t, 1)
			if err := w.pl.Conn().Enqueue(tc.f.typ, 0, tc.f.id, tc.f.payload); err != nil {
				t.Fatal(err)
			}
			select {
			case <-w.wDone:
			case <-time.After(waitFor):
				t.Fatal("the worker's reader did not end")
			}
			if !errors.Is(w.wErr, wire.ErrMalformed) {
				t.Fatalf("the worker's reader ended with %v, want an error wrapping wire.ErrMalformed", w.wErr)
			}
			if _, err := w.kv.Put(ctx(t), "k", []byte("v")); !errors.Is(err, errGone) {
				t.Fatalf("a write after the channel failed: %v, want the link's disconnected error", err)
			}
		})
	}
}

// TestChangeBeforeSubscribe checks that a change reaching a Client that
// never subscribed is a protocol error, not a crash.
func TestChangeBeforeSubscribe(t *testing.T) {
	p := newPrimary(t, 64<<10, kv.Limits{})
	w := p.connectBare(t, 1)
	snap := wire.AppendSnapshot([]byte{wire.DeltaSnapshot}, 1, nil)
	if err := w.pl.Conn().Enqueue(wire.TypeDelta, 0, 0, snap); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.wDone:
	case <-time.After(waitFor):
		t.Fatal("the worker's reader did not end")
	}
	if !errors.Is(w.wErr, wire.ErrMalformed) {
		t.Fatalf("the worker's reader ended with %v, want an error wrapping wire.ErrMalformed", w.wErr)
	}
}
