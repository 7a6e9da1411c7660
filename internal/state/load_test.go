package state

import (
	"errors"
	"sync"
	"testing"
	"time"
)

type loadOutcome struct {
	e   Entry
	err error
}

// beginAll has 8 requesters call BeginLoad at once and returns the leader
// and a channel with the outcomes of the 7 others.
func beginAll(t *testing.T, s *Store, key string) (leader uint64, outcomes chan loadOutcome) {
	t.Helper()
	outcomes = make(chan loadOutcome, 8)
	var mu sync.Mutex
	var leaders []uint64
	var wg sync.WaitGroup
	for id := uint64(1); id <= 8; id++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, have, lead := s.BeginLoad(key, id, func(e Entry, err error) {
				outcomes <- loadOutcome{e, err}
			})
			if have {
				t.Errorf("requester %d: key present", id)
			}
			if lead {
				mu.Lock()
				leaders = append(leaders, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(leaders) != 1 {
		t.Fatalf("%d leaders, want 1", len(leaders))
	}
	return leaders[0], outcomes
}

func collect(t *testing.T, outcomes chan loadOutcome, n int) []loadOutcome {
	t.Helper()
	var got []loadOutcome
	for len(got) < n {
		select {
		case o := <-outcomes:
			got = append(got, o)
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of %d waiters answered", len(got), n)
		}
	}
	select {
	case o := <-outcomes:
		t.Fatalf("extra outcome %+v", o)
	default:
	}
	return got
}

func TestLoadSuccess(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	rs := &recordSink{t: t}
	s.AddSink(1, rs)
	leader, outcomes := beginAll(t, s, "cfg")
	if _, err := s.FinishLoad("cfg", leader%8+1, []byte("x"), 0, nil); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("FinishLoad by another requester: %v", err)
	}
	res, err := s.FinishLoad("cfg", leader, []byte("loaded"), time.Hour, nil)
	if err != nil || res.Rev != 1 {
		t.Fatalf("FinishLoad: %+v, %v", res, err)
	}
	for _, o := range collect(t, outcomes, 7) {
		if o.err != nil || string(o.e.Value) != "loaded" || o.e.Rev != 1 || o.e.Expires == 0 {
			t.Fatalf("waiter got %+v", o)
		}
	}
	if len(rs.events) != 1 || rs.events[0].Op != OpPut {
		t.Fatalf("events %+v", rs.events)
	}
	e, have, lead := s.BeginLoad("cfg", 9, func(Entry, error) { t.Error("done called for a present key") })
	if !have || lead || string(e.Value) != "loaded" {
		t.Fatalf("BeginLoad of a present key: %+v %v %v", e, have, lead)
	}
	if _, err := s.FinishLoad("cfg", leader, []byte("again"), 0, nil); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("second FinishLoad: %v", err)
	}
}

func TestLoadError(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	leader, outcomes := beginAll(t, s, "k")
	boom := errors.New("boom")
	if res, err := s.FinishLoad("k", leader, nil, 0, boom); err != nil || res.Rev != 0 {
		t.Fatalf("FinishLoad with an error: %+v, %v", res, err)
	}
	for _, o := range collect(t, outcomes, 7) {
		if o.err != boom {
			t.Fatalf("waiter got %v, want the loader's error as is", o.err)
		}
	}
	if s.Rev() != 0 || s.Replica().Len() != 0 {
		t.Fatal("a failed load stored something")
	}
	// Not cached: the next request leads a new load.
	if _, _, lead := s.BeginLoad("k", 3, nil); !lead {
		t.Fatal("no new leader after a failed load")
	}
	// A value the store refuses fails the waiters too.
	small := NewStore(StoreOptions{MaxValueSize: 2})
	defer small.Close()
	leader, outcomes = beginAll(t, small, "k")
	if _, err := small.FinishLoad("k", leader, []byte("too big"), 0, nil); !errors.Is(err, ErrValueTooLarge) {
		t.Fatalf("FinishLoad of a big value: %v", err)
	}
	for _, o := range collect(t, outcomes, 7) {
		if !errors.Is(o.err, ErrValueTooLarge) {
			t.Fatalf("waiter got %v", o.err)
		}
	}
}

func TestLoadLeaderDropped(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	leader, outcomes := beginAll(t, s, "k")
	_, _, other := s.BeginLoad("other", 100, nil)
	if !other {
		t.Fatal("no leader for another key")
	}
	s.DropOwner(leader)
	for _, o := range collect(t, outcomes, 7) {
		if !errors.Is(o.err, ErrLoadAborted) {
			t.Fatalf("waiter got %v, want ErrLoadAborted", o.err)
		}
	}
	if _, err := s.FinishLoad("k", leader, []byte("late"), 0, nil); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("FinishLoad after the abort: %v", err)
	}
	if _, err := s.FinishLoad("other", 100, []byte("v"), 0, nil); err != nil {
		t.Fatalf("the load of another leader was aborted: %v", err)
	}
}

func TestLoadClosedAndInvalid(t *testing.T) {
	s := NewStore(StoreOptions{})
	var errs []error
	done := func(_ Entry, err error) { errs = append(errs, err) }
	s.BeginLoad("", 1, done)
	s.BeginLoad("k", 1, nil) // leader
	s.BeginLoad("k", 2, done)
	s.Close()
	s.BeginLoad("k", 3, done)
	if len(errs) != 3 || !errors.Is(errs[0], ErrEmptyKey) || !errors.Is(errs[1], ErrClosed) || !errors.Is(errs[2], ErrClosed) {
		t.Fatalf("errors %v", errs)
	}
	if _, err := s.FinishLoad("k", 1, nil, 0, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("FinishLoad after Close: %v", err)
	}
}
