package state

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestReplicaApply(t *testing.T) {
	r := NewReplica()
	key := []byte("alpha")
	val := []byte("one")
	r.Apply(Event{Op: OpPut, Key: string(key), Value: val, Rev: 1, Expires: 99, Owner: 7})
	val[0] = 'X' // the replica copied it
	e, ok := r.Get("alpha")
	if !ok || string(e.Value) != "one" || e.Rev != 1 || e.Created != 1 || e.Expires != 99 || e.Owner != 7 {
		t.Fatalf("Get = %+v, %v", e, ok)
	}
	r.Apply(Event{Op: OpPut, Key: "alpha", Value: []byte("two"), Rev: 3})
	if e, _ := r.Get("alpha"); string(e.Value) != "two" || e.Rev != 3 || e.Created != 1 || e.Owner != 0 {
		t.Fatalf("after overwrite: %+v (Created must be kept)", e)
	}
	r.Apply(Event{Op: OpPut, Key: "alpha", Value: []byte("stale"), Rev: 2}) // duplicate
	r.Apply(Event{Op: OpPut, Key: "beta", Value: []byte("b"), Rev: 3})      // duplicate
	if e, _ := r.Get("alpha"); string(e.Value) != "two" || r.Rev() != 3 || r.Len() != 1 {
		t.Fatalf("duplicates applied: %+v rev %d len %d", e, r.Rev(), r.Len())
	}
	r.Apply(Event{Op: OpDelete, Key: "alpha", Rev: 4})
	r.Apply(Event{Op: OpExpire, Key: "never-there", Rev: 5})
	if _, ok := r.Get("alpha"); ok || r.Rev() != 5 || r.Len() != 0 {
		t.Fatalf("after delete: ok %v rev %d len %d", ok, r.Rev(), r.Len())
	}
}

func TestReplicaLoadAndRange(t *testing.T) {
	r := NewReplica()
	r.Apply(Event{Op: OpPut, Key: "old", Value: []byte("x"), Rev: 1})
	buf := []byte("abc")
	r.Load(10, []Entry{
		{Key: "a/1", Value: buf[:1], Rev: 2, Created: 2},
		{Key: "a/2", Value: buf[1:], Rev: 9, Created: 5},
		{Key: "b/1", Rev: 10, Created: 10},
		{Key: "a/1", Value: []byte("dup"), Rev: 4, Created: 2},
	})
	copy(buf, "XYZ")
	if r.Rev() != 10 || r.Len() != 3 {
		t.Fatalf("rev %d len %d", r.Rev(), r.Len())
	}
	if _, ok := r.Get("old"); ok {
		t.Fatal("old content survived Load")
	}
	if e, _ := r.Get("a/1"); string(e.Value) != "dup" {
		t.Fatalf("duplicate key: %+v, the last should win", e)
	}
	if e, _ := r.Get("a/2"); string(e.Value) != "bc" || e.Created != 5 {
		t.Fatalf("a/2 = %+v", e)
	}
	seen := map[string]bool{}
	r.Range("a/", func(e Entry) bool { seen[e.Key] = true; return true })
	if len(seen) != 2 || !seen["a/1"] || !seen["a/2"] {
		t.Fatalf("Range a/ saw %v", seen)
	}
	n := 0
	r.Range("", func(Entry) bool { n++; return false })
	if n != 1 {
		t.Fatalf("Range did not stop: %d calls", n)
	}
}

// TestReplicaGetDuringApply reads from many goroutines while events are
// applied: each read must see a whole entry, and Rev must never go back.
func TestReplicaGetDuringApply(t *testing.T) {
	r := NewReplica()
	const keys = 500
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for i := 0; !stop.Load(); i++ {
				rev := r.Rev()
				if rev < last {
					t.Errorf("Rev went back from %d to %d", last, rev)
					return
				}
				last = rev
				k := fmt.Sprintf("k%d", i%keys)
				if e, ok := r.Get(k); ok && string(e.Value) != fmt.Sprintf("%s@%d", k, e.Rev) {
					t.Errorf("torn entry %+v", e)
					return
				}
			}
		}()
	}
	buf := make([]byte, 0, 64)
	for rev := uint64(1); rev <= 20000; rev++ {
		k := fmt.Sprintf("k%d", rev*31%keys)
		if rev%7 == 0 {
			r.Apply(Event{Op: OpDelete, Key: k, Rev: rev})
			continue
		}
		buf = fmt.Appendf(buf[:0], "%s@%d", k, rev) // reused buffer
		r.Apply(Event{Op: OpPut, Key: k, Value: buf, Rev: rev})
	}
	stop.Store(true)
	wg.Wait()
}

func TestReplicaGetDoesNotAllocate(t *testing.T) {
	r := NewReplica()
	r.Apply(Event{Op: OpPut, Key: "some/key", Value: []byte("v"), Rev: 1})
	allocs := testing.AllocsPerRun(100, func() {
		r.Get("some/key")
		r.Get("absent")
	})
	if allocs != 0 {
		t.Fatalf("Get allocates %.1f times", allocs)
	}
}

// TestReplicaLookup checks that a Ref reads what Get returns, and that a
// missing key gives a Ref that is not found.
func TestReplicaLookup(t *testing.T) {
	r := NewReplica()
	r.Apply(Event{Op: OpPut, Key: "k", Value: []byte("v"), Rev: 1, Expires: 42, Owner: 3})
	r.Apply(Event{Op: OpPut, Key: "k", Value: []byte("w"), Rev: 2, Expires: 43})
	r.Apply(Event{Op: OpPut, Key: "empty", Rev: 3})
	x := r.Lookup("k")
	e, ok := r.Get("k")
	if !x.Found() || !ok || string(x.Value()) != "w" || x.Rev() != 2 || x.Created() != 1 || x.Expires() != 43 ||
		string(e.Value) != "w" || e.Rev != 2 || e.Created != 1 || e.Expires != 43 || e.Owner != 0 {
		t.Fatalf("Lookup: found %v value %q rev %d created %d expires %d; Get: %+v", x.Found(), x.Value(), x.Rev(), x.Created(), x.Expires(), e)
	}
	if x := r.Lookup("empty"); !x.Found() || x.Value() != nil || x.Expires() != 0 {
		t.Fatalf("empty value: %q, expires %d", x.Value(), x.Expires())
	}
	if r.Lookup("absent").Found() {
		t.Fatal("an absent key was found")
	}
}
