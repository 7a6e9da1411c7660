package kvlink

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gocluster/cluster/kv"
)

// TestSyncIsAReadBarrier writes in the primary and reads in a worker right
// after its Sync: every write is there, though nothing else waited for
// the worker's replica. The subscription goes on as before, and a Sync
// whose context has ended fails with it.
func TestSyncIsAReadBarrier(t *testing.T) {
	p := newPrimary(t, 64<<10, kv.Limits{})
	w := p.connectReady(t, 1)
	c := ctx(t)
	for i := range 200 {
		key := fmt.Sprint("k", i)
		rev, err := p.kv.Put(c, key, []byte("v"))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.kv.Sync(c); err != nil {
			t.Fatalf("Sync: %v", err)
		}
		if e, ok := w.kv.Get(key); !ok || e.Rev != rev {
			t.Fatalf("after Sync the worker has %s at rev %d (found %v), want rev %d", key, e.Rev, ok, rev)
		}
	}
	rev, err := p.kv.Put(c, "after", []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	waitRev(t, w.kv, rev)

	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.kv.Sync(ended); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sync with an ended context: %v", err)
	}
}
