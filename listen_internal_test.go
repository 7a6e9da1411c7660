//go:build unix

package cluster

import (
	"os"
	"testing"
)

// A "connection" a worker gives back that is no socket is closed, not
// passed around.
func TestReturnedNonSocketIsClosed(t *testing.T) {
	e := &listenEntry{workers: []*Worker{}}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	e.dispatch(f, nil, RoundRobinScheduler(), nil)
	if err := f.Close(); err == nil {
		t.Fatal("dispatch kept a descriptor that is not a connection")
	}
	if len(e.pending) != 0 {
		t.Fatalf("%d pending", len(e.pending))
	}
}
