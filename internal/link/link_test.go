package link

import (
	"errors"
	"testing"

	"github.com/gocluster/cluster/internal/wire"
)

var testErrors = Errors{
	Encode:       func(err error) []byte { return []byte(err.Error()) },
	Decode:       func(b []byte) error { return errors.New(string(b)) },
	Disconnected: func(error) error { return errors.New("gone") },
	TooLarge:     func(int, int) error { return errors.New("too large") },
	Op:           func(_ string, err error) error { return err },
}

// TestDropDrainsALateAnswer checks the rule that lets calls recycle their
// channels: a call given up after its answer was already handed over
// takes that answer out, so the channel goes back empty.
func TestDropDrainsALateAnswer(t *testing.T) {
	l := New(nil, 0, testErrors)
	for _, answer := range []func(id uint64){
		func(id uint64) { l.deliver(wire.Frame{Type: wire.TypeRep, ID: id, Payload: []byte("late")}) },
		func(id uint64) { l.Complete(id, 7) },
	} {
		ch := replyChans.Get().(chan Reply)
		l.mu.Lock()
		l.calls[1] = ch
		l.mu.Unlock()
		answer(1) // the answer arrives just as the caller gives up
		l.drop(1, ch)
		if len(ch) != 0 {
			t.Fatal("a given-up call put back its channel with the late answer still in it")
		}
		if _, waiting := l.calls[1]; waiting {
			t.Fatal("the call is still registered")
		}
	}
	l.mu.Lock()
	l.calls[2] = replyChans.Get().(chan Reply)
	l.mu.Unlock()
	if ch := l.calls[2]; !l.forget(2) || len(ch) != 0 {
		t.Fatal("forget of a call nobody answered")
	}
}
