package kvlink

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/internal/wire"
	"github.com/gocluster/cluster/kv"
)

// FuzzServerStateRequest sends the server one shared-state request of any
// id and payload from a worker, then closes the worker's end: the server's
// reader must return (a protocol error, such as a malformed or oversized
// request, or the end of the stream), never panic, and the Conn must
// detach.
func FuzzServerStateRequest(f *testing.F) {
	f.Add(uint64(1), []byte{wire.StateSubscribe})
	f.Add(uint64(1), []byte{wire.StateLoadBegin, 'k'})
	f.Add(uint64(1), wire.AppendLoadEnd(nil, wire.LoadOK, 0, "k", []byte("v")))
	f.Add(uint64(1), wire.AppendLoadEnd(nil, wire.LoadGaveUp, 0, "k", nil))
	f.Add(uint64(1), wire.AppendWrite([]byte{wire.StateWrite}, state.Write{Kind: state.KindPut, Key: "k", Value: []byte("v"), Owner: 1}))
	f.Add(uint64(1), wire.AppendWrite([]byte{wire.StateWrite}, state.Write{Kind: state.KindUpdate, Key: "k", PrevRev: 9, TTL: 5}))
	f.Add(uint64(0), []byte{wire.StateWrite, 1, 1, 'k', 0, 0, 0, 0})
	f.Add(uint64(3), []byte{99})
	f.Add(uint64(3), []byte{})
	f.Fuzz(func(t *testing.T, id uint64, payload []byte) {
		p := newPrimary(t, 4<<10, kv.Limits{})
		w := p.connectBare(t, 1)
		if err := w.wl.Conn().Enqueue(wire.TypeState, 0, id, payload); err != nil {
			t.Fatal(err)
		}
		c, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		// Closing drops what is not written yet. WaitWritten fails only if
		// the worker's reader closed the link, on an answer to the request.
		w.wl.WaitWritten(c)
		w.wl.Close(nil)
		err := w.waitPrimaryEnd()
		if !wire.IsProtocolError(err) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("the server's reader ended with %v", err)
		}
	})
}
