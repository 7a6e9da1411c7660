package state

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStoreKinds(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	res := put(t, s, "k", "v1")
	if res.Rev != 1 || res.Prev.Rev != 0 {
		t.Fatalf("first put: %+v", res)
	}
	res = put(t, s, "k", "v2")
	if res.Rev != 2 || string(res.Prev.Value) != "v1" || res.Prev.Rev != 1 {
		t.Fatalf("second put: %+v", res)
	}
	if res, err := s.Apply(Write{Kind: KindCreate, Key: "k", Value: []byte("x")}); !errors.Is(err, ErrExists) || res.Prev.Rev != 2 {
		t.Fatalf("create existing: %+v, %v", res, err)
	}
	if res, err := s.Apply(Write{Kind: KindCreate, Key: "new"}); err != nil || res.Rev != 3 {
		t.Fatalf("create: %+v, %v", res, err)
	}
	if res, err := s.Apply(Write{Kind: KindUpdate, Key: "k", Value: []byte("v3"), PrevRev: 1}); !errors.Is(err, ErrConflict) || res.Prev.Rev != 2 {
		t.Fatalf("stale update: %+v, %v", res, err)
	}
	if _, err := s.Apply(Write{Kind: KindUpdate, Key: "absent", PrevRev: 0}); !errors.Is(err, ErrConflict) {
		t.Fatalf("update of an absent key: %v", err)
	}
	if res, err := s.Apply(Write{Kind: KindUpdate, Key: "k", Value: []byte("v3"), PrevRev: 2}); err != nil || res.Rev != 4 {
		t.Fatalf("update: %+v, %v", res, err)
	}
	if e, _ := s.Replica().Get("k"); string(e.Value) != "v3" || e.Rev != 4 || e.Created != 1 {
		t.Fatalf("after update: %+v", e)
	}
	if res, err := s.Apply(Write{Kind: KindDelete, Key: "absent"}); err != nil || res.Rev != 0 || s.Rev() != 4 {
		t.Fatalf("delete of an absent key: %+v, %v, store at %d", res, err, s.Rev())
	}
	if _, err := s.Apply(Write{Kind: KindDelete, Key: "k", PrevRev: 3}); !errors.Is(err, ErrConflict) {
		t.Fatalf("conditional delete, stale: %v", err)
	}
	if res, err := s.Apply(Write{Kind: KindDelete, Key: "k", PrevRev: 4}); err != nil || res.Rev != 5 || res.Prev.Rev != 4 {
		t.Fatalf("conditional delete: %+v, %v", res, err)
	}
	if res, err := s.Apply(Write{Kind: KindCreate, Key: "k"}); err != nil || res.Rev != 6 {
		t.Fatalf("recreate: %+v, %v", res, err)
	}
	if e, _ := s.Replica().Get("k"); e.Created != 6 {
		t.Fatalf("recreated key: Created %d, want 6", e.Created)
	}
}

func TestStoreValidation(t *testing.T) {
	s := NewStore(StoreOptions{MaxKeySize: 8, MaxValueSize: 16})
	cases := []struct {
		w    Write
		want error
	}{
		{Write{Kind: KindPut}, ErrEmptyKey},
		{Write{Kind: KindDelete}, ErrEmptyKey},
		{Write{Kind: KindPut, Key: "123456789"}, ErrKeyTooLarge},
		{Write{Kind: KindPut, Key: "k", Value: make([]byte, 17)}, ErrValueTooLarge},
		{Write{Kind: KindPut, Key: "k", TTL: -1}, ErrMalformed},
		{Write{Kind: 0, Key: "k"}, ErrMalformed},
		{Write{Kind: 9, Key: "k"}, ErrMalformed},
	}
	for _, c := range cases {
		_, err := s.Apply(c.w)
		if !errors.Is(err, c.want) || !strings.HasPrefix(err.Error(), "state: ") {
			t.Errorf("%+v: %v, want %v", c.w, err, c.want)
		}
	}
	if _, err := s.Apply(Write{Kind: KindPut, Key: "12345678", Value: make([]byte, 16)}); err != nil {
		t.Errorf("write at the limits: %v", err)
	}
	if _, err := s.Apply(Write{Kind: KindDelete, Key: "k", Value: make([]byte, 100)}); err != nil {
		t.Errorf("delete checks the value: %v", err)
	}
	_, err := s.Apply(Write{Kind: KindPut, Key: "k", Value: make([]byte, 17)})
	if !strings.Contains(err.Error(), "17") {
		t.Errorf("error without the size: %v", err)
	}
	s.Close()
	if _, err := s.Apply(Write{Kind: KindPut, Key: "k"}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
	if s.Rev() != 1 {
		t.Errorf("failed writes used revisions: store at %d", s.Rev())
	}
}

// TestStoreConcurrent runs writers of every kind on overlapping keys while
// two replicas follow the store through sinks (one joins halfway); at the
// end both equal the store's replica. Every revision must belong to exactly
// one call that succeeded, and each event must be what that call asked for:
// a winning compare-and-set directly follows the revision it expected.
func TestStoreConcurrent(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	log := &recordSink{t: t}
	s.AddSink(0, log)
	p1, p2 := newPipeSink(t), newPipeSink(t)
	defer p1.close()
	defer p2.close()
	p1.follow(s, 1, 64)

	type call struct {
		w   Write
		res Result
		err error
	}
	const writers, ops, keys = 8, 600, 20
	calls := make([][]call, writers)
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			for i := 0; i < ops; i++ {
				if i == ops/2 && g == 0 {
					p2.follow(s, 2, 64)
				}
				w := Write{Kind: Kind(1 + rng.Intn(4)), Key: fmt.Sprintf("key-%d", rng.Intn(keys))}
				if w.Kind != KindDelete {
					w.Value = []byte(fmt.Sprintf("%d/%d", g, i))
				}
				if w.Kind == KindUpdate {
					cur, _ := s.Replica().Get(w.Key)
					w.PrevRev = cur.Rev
				}
				res, err := s.Apply(w)
				calls[g] = append(calls[g], call{w, res, err})
			}
		}(g)
	}
	wg.Wait()
	rev := s.Rev()
	p1.waitRev(t, rev)
	p2.waitRev(t, rev)
	sameContent(t, "replica 1", p1.rep, s.Replica())
	sameContent(t, "replica 2", p2.rep, s.Replica())

	if uint64(len(log.events)) != rev {
		t.Fatalf("%d events for %d revisions", len(log.events), rev)
	}
	// prevOf returns the last event on key before revision rev.
	prevOf := func(key string, rev uint64) (Event, bool) {
		for r := rev - 1; r >= 1; r-- {
			if ev := log.events[r-1]; ev.Key == key {
				return ev, true
			}
		}
		return Event{}, false
	}
	owner := make(map[uint64]bool)
	cas := 0
	for _, cs := range calls {
		for _, c := range cs {
			switch {
			case c.err == nil && c.res.Rev == 0:
				if c.w.Kind != KindDelete {
					t.Fatalf("%v succeeded without a revision", c.w.Kind)
				}
				continue
			case errors.Is(c.err, ErrExists) && c.w.Kind == KindCreate,
				errors.Is(c.err, ErrConflict) && c.w.Kind == KindUpdate:
				continue
			case c.err != nil:
				t.Fatalf("%v %s: %v", c.w.Kind, c.w.Key, c.err)
			}
			if owner[c.res.Rev] {
				t.Fatalf("revision %d returned twice", c.res.Rev)
			}
			owner[c.res.Rev] = true
			ev := log.events[c.res.Rev-1]
			if ev.Key != c.w.Key || string(ev.Value) != string(c.w.Value) || (ev.Op == OpDelete) != (c.w.Kind == KindDelete) {
				t.Fatalf("%v %s=%s got revision %d, whose event is %+v", c.w.Kind, c.w.Key, c.w.Value, c.res.Rev, ev)
			}
			prev, had := prevOf(c.w.Key, c.res.Rev)
			exists := had && prev.Op == OpPut
			switch c.w.Kind {
			case KindCreate:
				if exists {
					t.Fatalf("create %s at %d over the put at %d", c.w.Key, c.res.Rev, prev.Rev)
				}
			case KindUpdate:
				cas++
				if !exists || prev.Rev != c.w.PrevRev {
					t.Fatalf("update %s at %d expected %d, the key was at %+v", c.w.Key, c.res.Rev, c.w.PrevRev, prev)
				}
			case KindDelete:
				if !exists {
					t.Fatalf("delete %s at %d of an absent key", c.w.Key, c.res.Rev)
				}
			}
			if exists != (c.res.Prev.Rev != 0) || (exists && c.res.Prev.Rev != prev.Rev) {
				t.Fatalf("%v %s: Prev %+v, last event %+v", c.w.Kind, c.w.Key, c.res.Prev, prev)
			}
		}
	}
	if uint64(len(owner)) != rev {
		t.Fatalf("%d revisions returned to callers, store at %d", len(owner), rev)
	}
	if cas == 0 {
		t.Fatal("no compare-and-set succeeded")
	}
}

// recordSink keeps what it receives, checking order.
type recordSink struct {
	t      *testing.T
	snap   uint64
	n      int
	last   uint64
	events []Event
}

// take takes the whole snapshot in one piece.
func (r *recordSink) take(sn *Snapshot) {
	last, err := sn.Next(math.MaxInt, func(p Piece) { r.snap, r.n, r.last = p.Rev, len(p.Entries), p.Rev })
	if !last || err != nil {
		r.t.Fatalf("snapshot in one piece: last %v, %v", last, err)
	}
}

func (r *recordSink) Event(ev Event) {
	if ev.Rev != r.last+1 {
		r.t.Errorf("event at %d after %d", ev.Rev, r.last)
	}
	r.last = ev.Rev
	r.events = append(r.events, ev)
}

func TestStoreSinks(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	put(t, s, "a", "1")
	put(t, s, "b", "2")
	rs := &recordSink{t: t}
	rs.take(s.AddSink(5, rs))
	if rs.snap != 2 || rs.n != 2 {
		t.Fatalf("snapshot at %d with %d entries", rs.snap, rs.n)
	}
	buf := []byte("reused")
	s.Apply(Write{Kind: KindPut, Key: "c", Value: buf, Owner: 3})
	copy(buf, "XXXXXX")
	s.Apply(Write{Kind: KindDelete, Key: "a"})
	if len(rs.events) != 2 {
		t.Fatalf("%d events", len(rs.events))
	}
	if ev := rs.events[0]; ev.Op != OpPut || ev.Key != "c" || string(ev.Value) != "reused" || ev.Created != 3 || ev.Owner != 3 {
		t.Fatalf("put event %+v", ev)
	}
	if ev := rs.events[1]; ev.Op != OpDelete || ev.Key != "a" || ev.Rev != 4 {
		t.Fatalf("delete event %+v", ev)
	}
	other := &recordSink{t: t, last: s.Rev()}
	s.AddSink(5, other) // replaces
	s.RemoveSink(99)
	put(t, s, "d", "4")
	if len(rs.events) != 2 || len(other.events) != 1 {
		t.Fatalf("replaced sink still called: %d, new sink %d", len(rs.events), len(other.events))
	}
	s.RemoveSink(5)
	put(t, s, "e", "5")
	if len(other.events) != 1 {
		t.Fatal("removed sink still called")
	}
}

func TestStoreDropOwner(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	rs := &recordSink{t: t}
	s.AddSink(1, rs)
	for i := 0; i < 5; i++ {
		s.Apply(Write{Kind: KindPut, Key: fmt.Sprint("w1/", i), Owner: 1})
		s.Apply(Write{Kind: KindPut, Key: fmt.Sprint("w2/", i), Owner: 2})
	}
	s.Apply(Write{Kind: KindPut, Key: "w1/0"})           // no owner any more
	s.Apply(Write{Kind: KindPut, Key: "w2/0", Owner: 1}) // changes hands
	s.Apply(Write{Kind: KindDelete, Key: "w1/1"})
	before := s.Rev()
	if n := s.DropOwner(1); n != 4 { // w1/2..4 and w2/0
		t.Fatalf("DropOwner(1) = %d, want 4", n)
	}
	if s.Rev() != before+4 {
		t.Fatalf("store at %d, want %d", s.Rev(), before+4)
	}
	for _, k := range []string{"w1/2", "w1/3", "w1/4", "w2/0"} {
		if _, ok := s.Replica().Get(k); ok {
			t.Errorf("%s survived", k)
		}
	}
	for _, k := range []string{"w1/0", "w2/1", "w2/4"} {
		if _, ok := s.Replica().Get(k); !ok {
			t.Errorf("%s was deleted", k)
		}
	}
	for _, ev := range rs.events[len(rs.events)-4:] {
		if ev.Op != OpDelete {
			t.Errorf("event %+v, want a delete", ev)
		}
	}
	if n := s.DropOwner(1); n != 0 {
		t.Fatalf("second DropOwner(1) = %d", n)
	}
	if n := s.DropOwner(2); n != 4 {
		t.Fatalf("DropOwner(2) = %d, want 4", n)
	}
	if len(s.owners) != 0 {
		t.Fatalf("owner index left: %v", s.owners)
	}
}

// TestStoreAddSinkNoGap adds sinks while writers run: each must continue
// its snapshot without gap or duplicate (pipeSink checks each revision).
func TestStoreAddSinkNoGap(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s.Apply(Write{Kind: KindPut, Key: fmt.Sprint(g, "/", i%30), Value: []byte(fmt.Sprint(i))})
				if i%3 == 0 {
					s.Apply(Write{Kind: KindDelete, Key: fmt.Sprint(g, "/", (i+7)%30)})
				}
			}
		}(g)
	}
	var sinks []*pipeSink
	for i := 0; i < 6; i++ {
		time.Sleep(5 * time.Millisecond)
		p := newPipeSink(t)
		defer p.close()
		p.follow(s, uint64(i), 50)
		sinks = append(sinks, p)
	}
	time.Sleep(5 * time.Millisecond)
	close(stop)
	wg.Wait()
	for i, p := range sinks {
		p.waitRev(t, s.Rev())
		sameContent(t, fmt.Sprint("sink ", i), p.rep, s.Replica())
	}
}
