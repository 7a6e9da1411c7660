package state

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestWatchOrder(t *testing.T) {
	r := NewReplica()
	r.Apply(Event{Op: OpPut, Key: "p/b", Value: []byte("B"), Rev: 1})
	r.Apply(Event{Op: OpPut, Key: "p/a", Value: []byte("A"), Rev: 2})
	r.Apply(Event{Op: OpPut, Key: "q/x", Value: []byte("X"), Rev: 3})
	w := r.Watch("p/")
	defer w.Close()
	r.Apply(Event{Op: OpPut, Key: "p/c", Value: []byte("C"), Rev: 4})
	r.Apply(Event{Op: OpPut, Key: "q/y", Rev: 5})
	r.Apply(Event{Op: OpDelete, Key: "p/a", Rev: 6})
	r.Apply(Event{Op: OpExpire, Key: "p/b", Rev: 7})
	want := []WatchEvent{
		{Op: OpPut, Key: "p/a", Value: []byte("A"), Rev: 2},
		{Op: OpPut, Key: "p/b", Value: []byte("B"), Rev: 1},
		{Op: OpSynced, Rev: 3},
		{Op: OpPut, Key: "p/c", Value: []byte("C"), Rev: 4},
		{Op: OpDelete, Key: "p/a", Rev: 6},
		{Op: OpExpire, Key: "p/b", Rev: 7},
	}
	for i, wev := range want {
		got := recv(t, w)
		if got.Op != wev.Op || got.Key != wev.Key || string(got.Value) != string(wev.Value) || got.Rev != wev.Rev {
			t.Fatalf("event %d: %+v, want %+v", i, got, wev)
		}
	}
}

// TestWatchConcurrent registers watchers while events are applied: each
// must see a snapshot consistent with its marker, then exactly the later
// changes, so that replaying them gives the final content.
func TestWatchConcurrent(t *testing.T) {
	r := NewReplica()
	const total = 3000
	var wg sync.WaitGroup
	type result struct {
		content map[string]string
		rev     uint64
	}
	results := make(chan result, 8)
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			time.Sleep(time.Duration(g) * time.Millisecond)
			w := r.Watch("k")
			defer w.Close()
			content := map[string]string{}
			synced := false
			var last uint64
			for ev := range w.C() {
				switch {
				case ev.Op == OpSynced:
					synced, last = true, ev.Rev
				case !synced:
					content[ev.Key] = string(ev.Value)
				default:
					if ev.Rev <= last {
						t.Errorf("watcher %d: revision %d after %d", g, ev.Rev, last)
					}
					last = ev.Rev
					if ev.Op == OpPut {
						content[ev.Key] = string(ev.Value)
					} else {
						delete(content, ev.Key)
					}
				}
				if synced && last == total {
					results <- result{content, last}
					return
				}
			}
		}(g)
	}
	go func() {
		defer close(done)
		for rev := uint64(1); rev <= total; rev++ {
			k := fmt.Sprintf("k%d", rev%50)
			if rev%4 == 0 && rev != total {
				r.Apply(Event{Op: OpDelete, Key: k, Rev: rev})
			} else {
				r.Apply(Event{Op: OpPut, Key: k, Value: []byte(fmt.Sprint(rev)), Rev: rev})
			}
		}
	}()
	<-done
	wg.Wait()
	close(results)
	final := map[string]string{}
	r.Range("", func(e Entry) bool { final[e.Key] = string(e.Value); return true })
	n := 0
	for res := range results {
		n++
		if fmt.Sprint(res.content) != fmt.Sprint(final) {
			t.Fatalf("watcher content at %d differs from the replica", res.rev)
		}
	}
	if n != 8 {
		t.Fatalf("%d watchers finished, want 8", n)
	}
}

// TestWatchSlowReader checks that a watcher nobody reads does not hold up
// Apply, and that Close frees it.
func TestWatchSlowReader(t *testing.T) {
	r := NewReplica()
	w := r.Watch("")
	start := time.Now()
	for rev := uint64(1); rev <= 10000; rev++ {
		r.Apply(Event{Op: OpPut, Key: "k", Value: []byte("v"), Rev: rev})
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("applies took %v with an unread watcher", d)
	}
	if ev := recv(t, w); ev.Op != OpSynced {
		t.Fatalf("first event %+v, want the marker", ev)
	}
	w.Close()
	w.Close()
	for range w.C() { // closed: drains at most one event already in hand
	}
	if len(r.watchers) != 0 {
		t.Fatal("closed watcher still registered")
	}
}

func TestWatchReplicaClose(t *testing.T) {
	r := NewReplica()
	w1, w2 := r.Watch("a"), r.Watch("b")
	r.Close()
	for _, w := range []*Watcher{w1, w2, r.Watch("c")} {
		timeout := time.After(5 * time.Second)
		for open := true; open; {
			select {
			case _, open = <-w.C():
			case <-timeout:
				t.Fatal("watcher not closed by Replica.Close")
			}
		}
		w.Close()
	}
	r.Apply(Event{Op: OpPut, Key: "a", Rev: 1}) // still usable
	if _, ok := r.Get("a"); !ok {
		t.Fatal("replica unusable after Close")
	}
}

func TestWatchLoadDiff(t *testing.T) {
	r := NewReplica()
	r.Apply(Event{Op: OpPut, Key: "same", Value: []byte("s"), Rev: 1})
	r.Apply(Event{Op: OpPut, Key: "changed", Value: []byte("old"), Rev: 2})
	r.Apply(Event{Op: OpPut, Key: "gone", Value: []byte("g"), Rev: 3})
	w := r.Watch("")
	defer w.Close()
	for i := 0; i < 4; i++ { // three entries and the marker
		recv(t, w)
	}
	r.Load(9, []Entry{
		{Key: "same", Value: []byte("s"), Rev: 1, Created: 1},
		{Key: "changed", Value: []byte("new"), Rev: 8, Created: 2},
		{Key: "added", Value: []byte("a"), Rev: 9, Created: 9},
	})
	got := map[string]WatchEvent{}
	for i := 0; i < 3; i++ {
		ev := recv(t, w)
		got[ev.Key] = ev
	}
	if ev := got["changed"]; ev.Op != OpPut || string(ev.Value) != "new" || ev.Rev != 8 {
		t.Errorf("changed: %+v", ev)
	}
	if ev := got["added"]; ev.Op != OpPut || ev.Rev != 9 {
		t.Errorf("added: %+v", ev)
	}
	if ev := got["gone"]; ev.Op != OpDelete || ev.Rev != 9 {
		t.Errorf("gone: %+v", ev)
	}
	select {
	case ev := <-w.C():
		t.Errorf("unexpected event %+v", ev)
	case <-time.After(20 * time.Millisecond):
	}
}
