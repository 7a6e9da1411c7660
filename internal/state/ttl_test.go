package state

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for StoreOptions.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestTTLDeadlines(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	s := NewStore(StoreOptions{Now: clock.Now})
	defer s.Close()
	s.Apply(Write{Kind: KindPut, Key: "k", TTL: time.Hour})
	e, _ := s.Replica().Get("k")
	if want := time.Unix(1000, 0).Add(time.Hour).UnixNano(); e.Expires != want {
		t.Fatalf("Expires %d, want %d", e.Expires, want)
	}
	s.Apply(Write{Kind: KindPut, Key: "k"}) // like SET: no TTL clears it
	if e, _ := s.Replica().Get("k"); e.Expires != 0 {
		t.Fatalf("a write without TTL kept the deadline %d", e.Expires)
	}
	s.Apply(Write{Kind: KindPut, Key: "k", TTL: time.Second})
	s.Apply(Write{Kind: KindPut, Key: "other", TTL: 3 * time.Second})
	s.Apply(Write{Kind: KindPut, Key: "rewritten", TTL: time.Second})
	s.Apply(Write{Kind: KindPut, Key: "rewritten", TTL: time.Hour})
	clock.Add(2 * time.Second)
	if n := s.expire(); n != 1 {
		t.Fatalf("expired %d keys, want 1", n)
	}
	if _, ok := s.Replica().Get("k"); ok {
		t.Fatal("k did not expire")
	}
	if _, ok := s.Replica().Get("rewritten"); !ok {
		t.Fatal("a rewritten key expired at its old deadline")
	}
	clock.Add(2 * time.Second)
	if n := s.expire(); n != 1 {
		t.Fatalf("expired %d keys, want 1", n)
	}
	if s.exp.live != 1 {
		t.Fatalf("%d live deadlines, want 1", s.exp.live)
	}
	if d := deadline(1<<62, 1<<62); d <= 0 {
		t.Fatalf("deadline overflowed: %d", d)
	}
}

// TestTTLTimer uses real time: the timer expires keys with OpExpire events.
func TestTTLTimer(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	p := newPipeSink(t)
	defer p.close()
	p.follow(s, 1, 1<<10)
	w := s.Replica().Watch("t/")
	defer w.Close()
	if ev := recv(t, w); ev.Op != OpSynced {
		t.Fatalf("got %+v, want the marker", ev)
	}
	start := time.Now()
	s.Apply(Write{Kind: KindPut, Key: "t/late", TTL: 60 * time.Millisecond})
	s.Apply(Write{Kind: KindPut, Key: "t/soon", TTL: 20 * time.Millisecond}) // re-arms earlier
	s.Apply(Write{Kind: KindPut, Key: "t/kept", TTL: 30 * time.Millisecond})
	s.Apply(Write{Kind: KindPut, Key: "t/kept"}) // deadline cleared
	for i := 0; i < 4; i++ {
		recv(t, w) // the four puts
	}
	var expired []string
	for len(expired) < 2 {
		ev := recv(t, w)
		if ev.Op != OpExpire {
			t.Fatalf("got %+v, want an expiry", ev)
		}
		expired = append(expired, ev.Key)
	}
	if expired[0] != "t/soon" || expired[1] != "t/late" {
		t.Fatalf("expired %v", expired)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("t/late expired after %v, before its TTL", d)
	}
	if _, ok := s.Replica().Get("t/kept"); !ok {
		t.Fatal("t/kept expired")
	}
	p.waitRev(t, s.Rev())
	sameContent(t, "replica", p.rep, s.Replica())
}

// TestTTLSweep rewrites keys with long TTLs: the heap must not keep every
// stale deadline.
func TestTTLSweep(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	for i := 0; i < 5000; i++ {
		s.Apply(Write{Kind: KindPut, Key: fmt.Sprint("k", i%10), TTL: time.Hour})
	}
	if n := len(s.exp.heap); n > 2*minSweep+10 {
		t.Fatalf("%d items in the heap for 10 keys", n)
	}
	s.Close()
	if s.exp.timer.Stop() {
		t.Fatal("timer still armed after Close")
	}
}
