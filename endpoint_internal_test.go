package cluster

import (
	"testing"

	"github.com/gocluster/cluster/internal/wire"
)

// TestDropDrainsALateAnswer checks the rule that lets calls recycle their
// channels: a call given up after its answer was already handed over
// takes that answer out, so the channel goes back empty.
func TestDropDrainsALateAnswer(t *testing.T) {
	e := newEndpoint(nil, 0)
	for _, answer := range []func(id uint64){
		func(id uint64) { e.deliver(wire.Frame{Type: wire.TypeRep, ID: id, Payload: []byte("late")}) },
		func(id uint64) { e.ack(id, 7) },
	} {
		ch := replyChans.Get().(chan reply)
		e.mu.Lock()
		e.calls[1] = ch
		e.mu.Unlock()
		answer(1) // the answer arrives just as the caller gives up
		e.drop(1, ch)
		if len(ch) != 0 {
			t.Fatal("a given-up call put back its channel with the late answer still in it")
		}
		if _, waiting := e.calls[1]; waiting {
			t.Fatal("the call is still registered")
		}
	}
	e.mu.Lock()
	e.calls[2] = replyChans.Get().(chan reply)
	e.mu.Unlock()
	if ch := e.calls[2]; !e.forget(2) || len(ch) != 0 {
		t.Fatal("forget of a call nobody answered")
	}
}
