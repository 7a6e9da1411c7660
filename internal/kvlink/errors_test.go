package kvlink

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/gocluster/cluster/kv"
)

// TestErrorsKeepSentinels checks that a worker's refused writes fail with
// the store's sentinels (the server's errors cross the link) and change
// nothing, and that the channel goes on serving after each.
func TestErrorsKeepSentinels(t *testing.T) {
	const maxFrame = 64 << 10
	p := newPrimary(t, maxFrame, kv.Limits{MaxValueSize: 1000})
	a, b := p.connectReady(t, 1), p.connectReady(t, 2)
	c := ctx(t)

	rev, err := a.kv.Put(c, "k", []byte("v1"))
	if err != nil {
		t.Fatal(err)
	}
	waitRev(t, b.kv, rev)
	if _, err := a.kv.Put(c, "k", []byte("v2")); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		write func() (uint64, error)
		want  error
	}{
		{"create of an existing key", func() (uint64, error) { return b.kv.Create(c, "k", []byte("x")) }, kv.ErrExists},
		{"update on a stale revision", func() (uint64, error) { return b.kv.Update(c, "k", []byte("x"), rev) }, kv.ErrConflict},
		{"update of an absent key", func() (uint64, error) { return b.kv.Update(c, "absent", []byte("x"), 1) }, kv.ErrConflict},
		{"value over the engine's limit", func() (uint64, error) { return b.kv.Put(c, "big", make([]byte, 1001)) }, kv.ErrInvalid},
		{"value over a frame", func() (uint64, error) { return b.kv.Put(c, "huge", make([]byte, maxFrame)) }, kv.ErrInvalid},
		{"empty key", func() (uint64, error) { return b.kv.Put(c, "", []byte("x")) }, kv.ErrInvalid},
		{"key over MaxKeySize", func() (uint64, error) {
			return b.kv.Put(c, strings.Repeat("k", kv.MaxKeySize+1), []byte("x"))
		}, kv.ErrInvalid},
	} {
		before := p.eng.Rev()
		got, err := tc.write()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: rev %d, error %v; want one matching %v", tc.name, got, err, tc.want)
		}
		if got != 0 || p.eng.Rev() != before {
			t.Errorf("%s: rev %d, the engine went from revision %d to %d", tc.name, got, before, p.eng.Rev())
		}
	}

	// Still served: the stale writer retries on the revision it reads.
	waitRev(t, b.kv, p.eng.Rev())
	e, _ := b.kv.Get("k")
	if _, err := b.kv.Update(c, "k", []byte("v3"), e.Rev); err != nil {
		t.Fatalf("Update on the current revision after the refusals: %v", err)
	}
	if _, ok := p.kv.Get("big"); ok {
		t.Fatal("a refused value was stored")
	}
}

// TestErrorsInOneBatch has goroutines of one worker race to create the
// same keys, so that the server applies writes that succeed and writes
// that fail in one batch: each key is created once, every other Create
// fails with ErrExists, and every writer gets its own answer.
func TestErrorsInOneBatch(t *testing.T) {
	const goroutines, keys = 8, 30
	p := newPrimary(t, 64<<10, kv.Limits{})
	w := p.connectReady(t, 1)
	c := ctx(t)

	var wg sync.WaitGroup
	won := make([][]uint64, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				key := string(rune('a'+k%26)) + strings.Repeat("x", k/26)
				rev, err := w.kv.Create(c, key, []byte{byte(g)})
				switch {
				case err == nil:
					if e, ok := w.kv.Get(key); !ok || e.Rev < rev {
						t.Errorf("Create %q at rev %d: Get shows rev %d (found %v)", key, rev, e.Rev, ok)
					}
					won[g] = append(won[g], rev)
				case !errors.Is(err, kv.ErrExists):
					t.Errorf("Create %q: %v, want success or ErrExists", key, err)
				}
			}
		}()
	}
	wg.Wait()
	seen := make(map[uint64]bool)
	for _, revs := range won {
		for _, r := range revs {
			if seen[r] {
				t.Fatalf("two Creates returned revision %d", r)
			}
			seen[r] = true
		}
	}
	if len(seen) != keys || p.eng.Rev() != keys {
		t.Fatalf("%d Creates succeeded, the engine is at revision %d; want %d of each", len(seen), p.eng.Rev(), keys)
	}
}

// TestWriteAfterDisconnect checks that once the channel is gone a write
// fails at once with the link's error, and a handle's reads still work.
func TestWriteAfterDisconnect(t *testing.T) {
	p := newPrimary(t, 64<<10, kv.Limits{})
	w := p.connectReady(t, 1)
	c := ctx(t)
	if _, err := w.kv.Put(c, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	w.disconnect()
	if _, err := w.kv.Put(c, "k", []byte("v2")); !errors.Is(err, errGone) {
		t.Fatalf("Put after the channel closed: %v, want the link's disconnected error", err)
	}
	if e, ok := w.kv.Get("k"); !ok || string(e.Value) != "v" {
		t.Fatalf("Get after the channel closed: %q (found %v)", e.Value, ok)
	}
}
