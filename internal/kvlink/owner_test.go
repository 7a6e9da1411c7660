package kvlink

import (
	"fmt"
	"testing"

	"github.com/gocluster/cluster/kv"
)

// TestOwnedKeysDroppedOnDetach checks kv.OwnedByWorker over the link: the
// keys a worker writes owned are tied to its id (not to any owner it
// claims), survive while its channel is open, and are deleted when the
// server's Conn is detached after the channel closed; every other worker
// and the primary see the deletes, and the keys it wrote without the
// option, or that another worker took over, stay.
func TestOwnedKeysDroppedOnDetach(t *testing.T) {
	p := newPrimary(t, 64<<10, kv.Limits{})
	a, b, other := p.connectReady(t, 3), p.connectReady(t, 4), p.connectReady(t, 5)
	c := ctx(t)

	var owned []string
	for i := range 10 {
		key := fmt.Sprintf("owned/%d", i)
		if _, err := a.kv.Put(c, key, []byte("x"), kv.OwnedByWorker()); err != nil {
			t.Fatal(err)
		}
		owned = append(owned, key)
	}
	// A write that claims another worker's id is owned by its writer.
	if _, err := a.client.ApplyOne(c, kv.Write{Kind: kv.WritePut, Key: "owned/claim", Value: []byte("x"), Owner: 4}); err != nil {
		t.Fatal(err)
	}
	owned = append(owned, "owned/claim")
	if _, err := a.kv.Put(c, "plain", []byte("x")); err != nil {
		t.Fatal(err)
	}
	// Worker 5 overwrites one of them: the key is no longer worker 3's.
	if _, err := other.kv.Put(c, "owned/0", []byte("taken")); err != nil {
		t.Fatal(err)
	}
	owned = owned[1:]
	// Worker 4's own owned key is not worker 3's either.
	last, err := b.kv.Put(c, "owned-by-4", []byte("x"), kv.OwnedByWorker())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []*kv.KV{p.kv, a.kv, b.kv, other.kv} {
		waitRev(t, h, last)
	}
	for k, e := range p.kv.Range("owned/") {
		want := uint64(3)
		if k == "owned/0" {
			want = 0
		}
		if e.Owner != want {
			t.Errorf("the engine has %q owned by %d, want %d", k, e.Owner, want)
		}
	}
	if e := dump(p.kv)["owned-by-4"]; e.Owner != 4 {
		t.Errorf("worker 4's owned key is owned by %d", e.Owner)
	}

	before := p.eng.Rev()
	a.disconnect()
	if got, want := p.eng.Rev(), before+uint64(len(owned)); got != want {
		t.Fatalf("after Detach the engine is at revision %d, want %d (one delete per owned key)", got, want)
	}
	for _, h := range []*worker{b, other} {
		waitRev(t, h.kv, p.eng.Rev())
		for _, k := range owned {
			if _, ok := h.kv.Get(k); ok {
				t.Errorf("worker %d still sees %q after its owner's Detach", h.id, k)
			}
		}
		for _, k := range []string{"plain", "owned/0", "owned-by-4"} {
			if _, ok := h.kv.Get(k); !ok {
				t.Errorf("worker %d lost %q, which worker 3 did not own", h.id, k)
			}
		}
		sameContent(t, fmt.Sprintf("worker %d", h.id), dump(h.kv), dump(p.kv))
	}
}
