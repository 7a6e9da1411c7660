package state

import (
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
)

// randomWrites returns n writes of every kind on a few keys, with
// conditions that sometimes hold and sometimes do not.
func randomWrites(rng *rand.Rand, n int) []Write {
	ws := make([]Write, n)
	for i := range ws {
		w := Write{Kind: Kind(1 + rng.Intn(4)), Key: fmt.Sprintf("k%d", rng.Intn(6)), PrevRev: uint64(rng.Intn(n))}
		if w.Kind != KindDelete {
			w.Value = []byte(fmt.Sprintf("v%d", i))
		}
		if rng.Intn(20) == 0 {
			w.Key = "" // refused by the store
		}
		ws[i] = w
	}
	return ws
}

// TestStoreApplyBatchIsApplyInOrder checks that a batch gives the results,
// the errors, the events and the content that the same writes applied one
// by one give, and that a write refused by the caller is skipped.
func TestStoreApplyBatchIsApplyInOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	one, batch := NewStore(StoreOptions{}), NewStore(StoreOptions{})
	defer one.Close()
	defer batch.Close()
	evOne, evBatch := recordSink{t: t}, recordSink{t: t}
	one.AddSink(1, &evOne)
	batch.AddSink(1, &evBatch)
	refused := errors.New("refused by the caller")
	for round := 0; round < 200; round++ {
		ws := randomWrites(rng, 1+rng.Intn(40))
		res := make([]Result, len(ws))
		errs := make([]error, len(ws))
		skip := rng.Intn(len(ws) + 1) // one write refused before the store, or none
		if skip < len(ws) {
			errs[skip] = refused
		}
		batch.ApplyBatch(ws, res, errs)
		for i, w := range ws {
			if i == skip {
				if errs[i] != refused || !reflect.DeepEqual(res[i], Result{}) {
					t.Fatalf("round %d: refused write %d: %+v, %v", round, i, res[i], errs[i])
				}
				continue
			}
			want, werr := one.Apply(w)
			if !reflect.DeepEqual(res[i], want) || fmt.Sprint(errs[i]) != fmt.Sprint(werr) {
				t.Fatalf("round %d, write %d %+v: batch %+v, %v; one by one %+v, %v", round, i, w, res[i], errs[i], want, werr)
			}
		}
	}
	if one.Rev() == 0 || one.Rev() != batch.Rev() {
		t.Fatalf("revisions: one by one %d, batch %d", one.Rev(), batch.Rev())
	}
	sameContent(t, "batched store", batch.Replica(), one.Replica())
	if !reflect.DeepEqual(evOne.events, evBatch.events) {
		t.Fatalf("events differ: %d one by one, %d batched", len(evOne.events), len(evBatch.events))
	}
	batch.Close()
	errs := []error{nil}
	batch.ApplyBatch([]Write{{Kind: KindPut, Key: "k"}}, make([]Result, 1), errs)
	if !errors.Is(errs[0], ErrClosed) {
		t.Fatalf("batch after Close: %v", errs[0])
	}
}

// TestReplicaApplyBatch checks that a batch skips duplicates and applies
// the rest in order, as Apply does.
func TestReplicaApplyBatch(t *testing.T) {
	r := NewReplica()
	r.ApplyBatch([]Event{
		{Op: OpPut, Key: "a", Value: []byte("1"), Rev: 1},
		{Op: OpPut, Key: "a", Value: []byte("2"), Rev: 2},
		{Op: OpPut, Key: "a", Value: []byte("stale"), Rev: 2},
		{Op: OpPut, Key: "b", Value: []byte("b"), Rev: 3},
		{Op: OpDelete, Key: "b", Rev: 4},
		{Op: OpPut, Key: "c", Value: []byte("c"), Rev: 1},
	})
	a, _ := r.Get("a")
	if string(a.Value) != "2" || a.Created != 1 || r.Rev() != 4 || r.Len() != 1 {
		t.Fatalf("after the batch: a=%+v rev %d len %d", a, r.Rev(), r.Len())
	}
}

// holdSink is a Batcher that records when events come.
type holdSink struct {
	held    bool
	log     []string
	pending int
}

func (s *holdSink) Hold() { s.held = true; s.log = append(s.log, "hold") }
func (s *holdSink) Release() {
	s.held = false
	s.log = append(s.log, fmt.Sprintf("release %d", s.pending))
	s.pending = 0
}
func (s *holdSink) Event(ev Event) {
	if s.held {
		s.pending++
		return
	}
	s.log = append(s.log, "event "+ev.Key)
}

// TestStoreBatchHoldsBatchers checks that a batch's events reach a Batcher
// between Hold and Release, and that other writes reach it at once.
func TestStoreBatchHoldsBatchers(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	var b holdSink
	s.AddSink(1, &b)
	put(t, s, "a", "1")
	ws := []Write{{Kind: KindPut, Key: "b"}, {Kind: KindCreate, Key: "a"}, {Kind: KindPut, Key: "c"}}
	s.ApplyBatch(ws, make([]Result, 3), make([]error, 3))
	put(t, s, "d", "1")
	want := []string{"event a", "hold", "release 2", "event d"} // the Create fails: no event
	if !reflect.DeepEqual(b.log, want) {
		t.Fatalf("sink saw %q, want %q", b.log, want)
	}
}
