package kvlink

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/gocluster/cluster/kv"
)

// TestReadYourWrites checks a write through a worker's Client: when Put
// returns, the worker's own handle shows it at the returned revision, the
// primary's engine holds it, and another worker's handle applies it soon
// after.
func TestReadYourWrites(t *testing.T) {
	p := newPrimary(t, 64<<10, kv.Limits{})
	a, b := p.connectReady(t, 1), p.connectReady(t, 2)
	c := ctx(t)

	for i := range 20 {
		key, val := fmt.Sprintf("k%d", i%5), fmt.Sprintf("v%d", i)
		rev, err := a.kv.Put(c, key, []byte(val))
		if err != nil {
			t.Fatalf("Put %q: %v", key, err)
		}
		if e, ok := a.kv.Get(key); !ok || string(e.Value) != val || e.Rev != rev {
			t.Fatalf("after Put %q = %q at rev %d, the writer's Get is %q at rev %d (found %v)", key, val, rev, e.Value, e.Rev, ok)
		}
		if e, ok := p.kv.Get(key); !ok || string(e.Value) != val || e.Rev != rev {
			t.Fatalf("after Put %q = %q at rev %d, the engine holds %q at rev %d (found %v)", key, val, rev, e.Value, e.Rev, ok)
		}
		waitRev(t, b.kv, rev)
		if e, ok := b.kv.Get(key); !ok || string(e.Value) != val || e.Rev != rev {
			t.Fatalf("another worker sees %q = %q at rev %d (found %v), want %q at rev %d", key, e.Value, e.Rev, ok, val, rev)
		}
	}

	// A delete is read-your-writes too, and so is an update on the revision
	// just read.
	e, _ := a.kv.Get("k0")
	rev, err := a.kv.Update(c, "k0", []byte("updated"), e.Rev)
	if err != nil {
		t.Fatalf("Update on the revision just read: %v", err)
	}
	if got, _ := a.kv.Get("k0"); string(got.Value) != "updated" || got.Rev != rev {
		t.Fatalf("after Update, Get is %q at rev %d, want \"updated\" at %d", got.Value, got.Rev, rev)
	}
	rev, err = b.kv.Delete(c, "k1")
	if err != nil || rev == 0 {
		t.Fatalf("Delete of a present key: rev %d, %v", rev, err)
	}
	if _, ok := b.kv.Get("k1"); ok {
		t.Fatal("the deleting worker still sees the key")
	}
	if _, ok := p.kv.Get("k1"); ok {
		t.Fatal("the engine still holds the deleted key")
	}
	if rev, err := b.kv.Delete(c, "k1"); err != nil || rev != 0 {
		t.Fatalf("Delete of an absent key: rev %d, %v; want 0, nil", rev, err)
	}
	waitRev(t, a.kv, p.eng.Rev())
	sameContent(t, "worker 1", dump(a.kv), dump(p.kv))
	sameContent(t, "worker 2", dump(b.kv), dump(p.kv))
}

// TestOneOrderAcrossClients has two workers write concurrently, several
// goroutines each, while both workers and the primary watch: every write
// gets its own revision, each writer reads its own write at once, and the
// three replicas apply the same changes in the same order.
func TestOneOrderAcrossClients(t *testing.T) {
	const writers, writes = 4, 50
	p := newPrimary(t, 64<<10, kv.Limits{})
	ws := []*worker{p.connectReady(t, 1), p.connectReady(t, 2)}
	c := ctx(t)

	type change struct {
		op  kv.Op
		key string
		val string
		rev uint64
	}
	handles := []*kv.KV{p.kv, ws[0].kv, ws[1].kv}
	watches := make([]<-chan kv.WatchEvent, len(handles))
	for i, h := range handles {
		watches[i] = h.Watch(c, "")
		if ev := <-watches[i]; ev.Op != kv.OpSynced {
			t.Fatalf("watch %d of an empty store began with %v", i, ev.Op)
		}
	}

	var (
		mu   sync.Mutex
		revs []uint64
		wg   sync.WaitGroup
	)
	for wi, w := range ws {
		for g := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range writes {
					key := fmt.Sprintf("w%d/g%d/%d", wi, g, i%7)
					val := fmt.Sprintf("%d", i)
					rev, err := w.kv.Put(c, key, []byte(val))
					if err != nil {
						t.Errorf("Put %q: %v", key, err)
						return
					}
					if e, ok := w.kv.Get(key); !ok || e.Rev < rev {
						t.Errorf("after Put %q at rev %d, Get shows rev %d (found %v)", key, rev, e.Rev, ok)
						return
					}
					mu.Lock()
					revs = append(revs, rev)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	slices.Sort(revs)
	for i, r := range revs {
		if r != uint64(i+1) {
			t.Fatalf("the writes got revisions %v..., want 1..%d, each once", revs[:i+1], len(revs))
		}
	}
	last := uint64(len(revs))
	if got := p.eng.Rev(); got != last {
		t.Fatalf("the engine is at revision %d after %d writes", got, last)
	}

	seqs := make([][]change, len(handles))
	for i, ch := range watches {
		for len(seqs[i]) < int(last) {
			ev, ok := <-ch
			if !ok {
				t.Fatalf("watch %d ended after %d of %d changes", i, len(seqs[i]), last)
			}
			seqs[i] = append(seqs[i], change{ev.Op, ev.Key, string(ev.Value), ev.Rev})
		}
	}
	for i, s := range seqs {
		for j, ch := range s {
			if ch.rev != uint64(j+1) {
				t.Fatalf("watch %d: change %d is at revision %d", i, j, ch.rev)
			}
		}
		if i > 0 && !slices.Equal(s, seqs[0]) {
			t.Fatalf("watch %d saw another order of changes than the primary's", i)
		}
	}
	for i, h := range handles[1:] {
		sameContent(t, fmt.Sprintf("worker %d", i+1), dump(h), dump(p.kv))
	}
}
