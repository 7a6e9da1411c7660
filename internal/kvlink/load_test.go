package kvlink

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/cluster/kv"
)

// loadSpy is an Engine that reports each BeginLoad it answered, and can
// hold the one of a requester until released (on that worker's reader).
type loadSpy struct {
	*kv.Engine
	begun   chan loadBegun
	holdFor uint64        // the requester whose BeginLoad waits for release
	arrived chan struct{} // gets a value when its BeginLoad waits
	release chan struct{} // closed to let it go on
}

type loadBegun struct {
	requester  uint64
	have, lead bool
}

func (s *loadSpy) BeginLoad(ctx context.Context, key string, requester uint64, done func(kv.Entry, error)) (kv.Entry, bool, bool, error) {
	if requester == s.holdFor {
		s.arrived <- struct{}{}
		select { // bounded: a failed test may never release it
		case <-s.release:
		case <-time.After(waitFor):
		}
	}
	e, have, lead, err := s.Engine.BeginLoad(ctx, key, requester, done)
	s.begun <- loadBegun{requester, have, lead}
	return e, have, lead, err
}

// newLoadPrimary returns a primary serving a loadSpy.
func newLoadPrimary(t *testing.T, holdFor uint64) (*primary, *loadSpy) {
	spy := &loadSpy{begun: make(chan loadBegun, 64), holdFor: holdFor, arrived: make(chan struct{}, 1), release: make(chan struct{})}
	p := newPrimaryOf(t, 64<<10, kv.Limits{}, func(e *kv.Engine) kv.Backend {
		spy.Engine = e
		return spy
	})
	return p, spy
}

// waitBegin returns what BeginLoad answered requester next.
func (s *loadSpy) waitBegin(t *testing.T, requester uint64) loadBegun {
	t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case b := <-s.begun:
			if b.requester == requester {
				return b
			}
		case <-timeout:
			t.Fatalf("no BeginLoad of requester %d", requester)
		}
	}
}

type loadResult struct {
	e   kv.Entry
	err error
}

// goLoad runs h.Load on a goroutine whose result the returned channel
// delivers; t's cleanup ends its ctx and joins it.
func goLoad(t *testing.T, c context.Context, h *kv.KV, key string, loader func(context.Context) ([]byte, error)) <-chan loadResult {
	c, cancel := context.WithCancel(c)
	ch := make(chan loadResult, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e, err := h.Load(c, key, 0, loader)
		ch <- loadResult{e, err}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ch
}

func result(t *testing.T, ch <-chan loadResult) loadResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitFor):
		t.Fatal("a Load did not return")
		return loadResult{}
	}
}

// blockingLoader returns a loader that reports its start on started, then
// returns value once release is closed (or its ctx's error).
func blockingLoader(value string, started chan<- struct{}, release <-chan struct{}) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		close(started)
		select {
		case <-release:
			return []byte(value), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func noLoader(t *testing.T) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) {
		t.Error("a second loader ran")
		return nil, errors.New("second loader")
	}
}

// TestLoadOneLoader checks Load across two workers: the first leads and
// runs its loader; the second, asking meanwhile, waits at the primary and
// gets the leader's value, with the same revision; a Load of a present key
// runs no loader.
func TestLoadOneLoader(t *testing.T) {
	p, spy := newLoadPrimary(t, 0)
	a, b := p.connectReady(t, 1), p.connectReady(t, 2)
	c := ctx(t)

	started, release := make(chan struct{}), make(chan struct{})
	ra := goLoad(t, c, a.kv, "cache", blockingLoader("loaded", started, release))
	if got := spy.waitBegin(t, 1); !got.lead {
		t.Fatalf("the first Load's BeginLoad: %+v, want the lead", got)
	}
	<-started
	rb := goLoad(t, c, b.kv, "cache", noLoader(t))
	if got := spy.waitBegin(t, 2); got.have || got.lead {
		t.Fatalf("the second Load's BeginLoad: %+v, want it to wait", got)
	}
	close(release)

	x, y := result(t, ra), result(t, rb)
	if x.err != nil || y.err != nil {
		t.Fatalf("Loads: %v, %v", x.err, y.err)
	}
	if string(x.e.Value) != "loaded" || string(y.e.Value) != "loaded" || x.e.Rev == 0 || x.e.Rev != y.e.Rev {
		t.Fatalf("the leader got %q at rev %d, the waiter %q at rev %d", x.e.Value, x.e.Rev, y.e.Value, y.e.Rev)
	}
	if e, ok := p.kv.Get("cache"); !ok || e.Rev != x.e.Rev {
		t.Fatalf("the engine holds rev %d (found %v), want %d", e.Rev, ok, x.e.Rev)
	}

	// A present key: its entry, with no loader run.
	waitRev(t, b.kv, x.e.Rev)
	e, err := b.kv.Load(c, "cache", 0, noLoader(t))
	if err != nil || e.Rev != x.e.Rev || string(e.Value) != "loaded" {
		t.Fatalf("Load of a present key: %q at rev %d, %v", e.Value, e.Rev, err)
	}
}

// TestLoadHaveOverLink checks the Client's BeginLoad of a key the primary
// holds (as when the worker's replica has not applied it yet): the entry
// comes back whole across the link.
func TestLoadHaveOverLink(t *testing.T) {
	p, spy := newLoadPrimary(t, 0)
	w := p.connectReady(t, 1)
	c := ctx(t)
	rev, err := p.kv.Put(c, "k", []byte("v"), kv.WithTTL(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := p.kv.Get("k")
	e, have, lead, err := w.client.BeginLoad(c, "k", 0, nil)
	if err != nil || !have || lead {
		t.Fatalf("BeginLoad of a present key: have %v, lead %v, %v", have, lead, err)
	}
	spy.waitBegin(t, 1)
	if e.Key != "k" || string(e.Value) != "v" || e.Rev != rev || e.Created != want.Created || !e.Expires.Equal(want.Expires) {
		t.Fatalf("BeginLoad of a present key gave %+v, want %+v", e, want)
	}
}

// TestLoadTakeOver checks that when the leading worker's channel closes
// mid-load, the worker waiting for it takes over: the primary aborts the
// load on Detach, the waiter gets kv.ErrLoadAborted across the link, and
// its Load tries again and runs its own loader.
func TestLoadTakeOver(t *testing.T) {
	p, spy := newLoadPrimary(t, 0)
	a, b := p.connectReady(t, 1), p.connectReady(t, 2)
	c := ctx(t)

	started, release := make(chan struct{}), make(chan struct{})
	ra := goLoad(t, c, a.kv, "cache", blockingLoader("from 1", started, release))
	spy.waitBegin(t, 1)
	<-started
	var ran atomic.Int32
	rb := goLoad(t, c, b.kv, "cache", func(context.Context) ([]byte, error) {
		ran.Add(1)
		return []byte("from 2"), nil
	})
	if got := spy.waitBegin(t, 2); got.have || got.lead {
		t.Fatalf("the second Load's BeginLoad: %+v, want it to wait", got)
	}

	a.disconnect() // the leader's process is gone
	if got := spy.waitBegin(t, 2); !got.lead {
		t.Fatalf("the waiter's second BeginLoad: %+v, want the lead", got)
	}
	y := result(t, rb)
	if y.err != nil || string(y.e.Value) != "from 2" || ran.Load() != 1 {
		t.Fatalf("the waiter's Load: %q, %v (its loader ran %d times)", y.e.Value, y.err, ran.Load())
	}
	close(release)
	if x := result(t, ra); x.err == nil {
		t.Fatalf("the gone leader's Load succeeded with %q", x.e.Value)
	}
	if e, ok := p.kv.Get("cache"); !ok || string(e.Value) != "from 2" {
		t.Fatalf("the engine holds %q (found %v)", e.Value, ok)
	}
}

// TestLoadErrorToWaiter checks that a leader's loader error reaches the
// worker waiting for it as an error with its text, stores nothing, and
// that the next Load runs a loader again.
func TestLoadErrorToWaiter(t *testing.T) {
	p, spy := newLoadPrimary(t, 0)
	a, b := p.connectReady(t, 1), p.connectReady(t, 2)
	c := ctx(t)

	started, release := make(chan struct{}), make(chan struct{})
	ra := goLoad(t, c, a.kv, "cache", func(ctx context.Context) ([]byte, error) {
		close(started)
		select {
		case <-release:
			return nil, errors.New("the database is down")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	spy.waitBegin(t, 1)
	<-started
	rb := goLoad(t, c, b.kv, "cache", noLoader(t))
	spy.waitBegin(t, 2)
	close(release)
	if x := result(t, ra); x.err == nil || !strings.Contains(x.err.Error(), "the database is down") {
		t.Fatalf("the leader's Load: %v", x.err)
	}
	if y := result(t, rb); y.err == nil || !strings.Contains(y.err.Error(), "the database is down") {
		t.Fatalf("the waiter's Load: %v, want the loader's error", y.err)
	}
	if p.eng.Rev() != 0 {
		t.Fatalf("a failed load stored something: the engine is at revision %d", p.eng.Rev())
	}
	e, err := b.kv.Load(c, "cache", 0, func(context.Context) ([]byte, error) { return []byte("ok"), nil })
	if err != nil || string(e.Value) != "ok" {
		t.Fatalf("the next Load: %q, %v", e.Value, err)
	}
}

// TestLoadLeadGivenBack checks the Client's BeginLoad when its ctx ends
// before the primary answered and the answer then makes it the leader: it
// gives the lead back, so the next Load of the key is not stuck waiting for
// a loader that never runs.
func TestLoadLeadGivenBack(t *testing.T) {
	p, spy := newLoadPrimary(t, 2)
	a, b := p.connectReady(t, 1), p.connectReady(t, 2)
	c := ctx(t)

	short, cancel := context.WithCancel(c)
	rb := goLoad(t, short, b.kv, "cache", noLoader(t))
	select {
	case <-spy.arrived: // its BeginLoad is held at the primary
	case <-time.After(waitFor):
		t.Fatal("the Load's BeginLoad did not reach the primary")
	}
	cancel()
	if y := result(t, rb); !errors.Is(y.err, context.Canceled) {
		t.Fatalf("the canceled Load: %v", y.err)
	}
	close(spy.release) // now it leads, with no one to load
	if got := spy.waitBegin(t, 2); !got.lead {
		t.Fatalf("the canceled Load's BeginLoad: %+v, want the lead", got)
	}
	e, err := a.kv.Load(c, "cache", 0, func(context.Context) ([]byte, error) { return []byte("loaded"), nil })
	if err != nil || string(e.Value) != "loaded" {
		t.Fatalf("the next Load: %q, %v", e.Value, err)
	}
}
