package kvtest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster/kv"
)

// fill writes n keys "k/0000"... with values of size bytes (some owned, some
// with a far deadline), in batches.
func fill(t testing.TB, b kv.Backend, h *history, n, size int) {
	t.Helper()
	far := time.Now().Add(time.Hour)
	var ws []kv.Write
	for i := range n {
		w := put(fmt.Sprintf("k/%04d", i), fmt.Sprintf("%d:%s", i, strings.Repeat("v", size)))
		if i%10 == 3 {
			w.Owner = 42
		}
		if i%10 == 5 {
			w.Expires = far
		}
		if ws = append(ws, w); len(ws) == 100 || i == n-1 {
			h.must(t, b, ws...)
			ws = ws[:0]
		}
	}
}

// parked waits until r's Backend waits in r.Wait for the test to let it
// go (true), or until r has the whole content (false).
func (r *recorder) parked(t testing.TB) bool {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		r.mu.Lock()
		last, ch := r.last, r.notify
		r.mu.Unlock()
		if last {
			return false
		}
		select {
		case <-r.waiting:
			return true
		case <-ch:
		case <-timer.C:
			t.Fatalf("waited %v for the Backend to call Wait or hand the last piece", waitTimeout)
		}
	}
}

// testSnapshotThenChanges: a sink subscribed to a Backend with content gets
// it (its last piece once), then every change.
func testSnapshotThenChanges(t *testing.T, b kv.Backend) {
	h := newHistory()
	fill(t, b, h, 50, 10)
	r := newRecorder(false)
	subscribe(t, b, 1, r)
	r.synced(t)
	want, rev := h.content()
	got, _ := r.snapshot()
	sameContent(t, "content", want, got)
	if _, _, lastAt := r.state(); lastAt != rev {
		t.Errorf("last piece at revision %d, want %d", lastAt, rev)
	}
	h.must(t, b, put("k/0001", "new"), kv.Write{Kind: kv.WriteDelete, Key: "k/0002"}, put("other", "x"))
	want, rev = h.content()
	got, _ = r.snapshot()
	sameContent(t, "content and changes", want, got)
	if _, pos, _ := r.state(); pos != rev {
		t.Errorf("sink at revision %d, want %d", pos, rev)
	}
	r.check(t)
}

// testSnapshotUnderWrites: writes made while the content is handed over
// (between the pieces, and from another goroutine all along) reach the sink
// once each, in order, and the sink ends with the Backend's content.
func testSnapshotUnderWrites(t *testing.T, b kv.Backend) {
	const keys = 600
	h := newHistory()
	fill(t, b, h, keys, 1000)
	stop, errc := make(chan struct{}), make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // bounded: 2000 writes at most
		defer wg.Done()
		for i := range 2000 {
			select {
			case <-stop:
				return
			default:
			}
			w := put(fmt.Sprintf("c/%d", i%50), fmt.Sprint(i))
			if i%5 == 4 {
				w = kv.Write{Kind: kv.WriteDelete, Key: w.Key}
			}
			if _, errs := h.apply(b, w); errs[0] != nil {
				errc <- errs[0]
				return
			}
		}
	}()
	var once sync.Once
	halt := func() { once.Do(func() { close(stop) }); wg.Wait() }
	defer halt()

	r := newRecorder(true)
	subscribe(t, b, 1, r)
	rounds := 0
	for r.parked(t) {
		if rounds++; rounds > 10*keys {
			t.Fatalf("the Backend called Wait %d times for %d keys", rounds, keys)
		}
		i := rounds * 7
		h.must(t, b,
			put(fmt.Sprintf("k/%04d", i%keys), fmt.Sprintf("round %d", rounds)),
			kv.Write{Kind: kv.WriteDelete, Key: fmt.Sprintf("k/%04d", (i+3)%keys)},
			put(fmt.Sprintf("n/%d", rounds), "new"))
		select {
		case r.gate <- struct{}{}:
		case <-time.After(waitTimeout):
			t.Fatalf("the Backend did not take the go-ahead from Wait in %v", waitTimeout)
		}
	}
	r.open()
	halt()
	select {
	case err := <-errc:
		t.Fatalf("concurrent write: %v", err)
	default:
	}
	h.must(t, b, put("barrier", "x"))
	want, rev := h.content()
	got, _ := r.snapshot()
	sameContent(t, "content after pieces and changes", want, got)
	pieces, pos, _ := r.state()
	if pos != rev {
		t.Errorf("sink at revision %d, want %d", pos, rev)
	}
	if pieces > 1 && rounds < pieces-1 {
		t.Errorf("%d pieces but Wait was called %d times: it must be called between pieces", pieces, rounds)
	}
	t.Logf("%d pieces, %d rounds of writes between them", pieces, rounds)
	r.check(t)
}

// testSinkCallsNeverOverlap: with writers, expiries, DropOwner and a new
// subscription all at once, no sink gets two calls at once, and two sinks
// end with the same content.
func testSinkCallsNeverOverlap(t *testing.T, b kv.Backend) {
	h := newHistory()
	fill(t, b, h, 200, 100)
	r1 := newRecorder(false)
	subscribe(t, b, 1, r1)
	const writers, batches = 4, 60
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range batches {
				ws := []kv.Write{
					put(fmt.Sprintf("k/%04d", (g*batches+i)%200), "w"),
					{Kind: kv.WriteDelete, Key: fmt.Sprintf("k/%04d", (g*batches+i*3)%200)},
					{Kind: kv.WritePut, Key: fmt.Sprintf("own/%d/%d", g, i%5), Value: []byte("o"), Owner: uint64(g + 1)},
				}
				if i%6 == 0 { // one key each, never written again: it expires once
					ws = append(ws, kv.Write{Kind: kv.WritePut, Key: fmt.Sprintf("ttl/%d/%d", g, i), Value: []byte("t"),
						Expires: time.Now().Add(time.Duration(1+i%20) * time.Millisecond)})
				}
				if _, errs := h.apply(b, ws...); errors.Join(errs...) != nil {
					errc <- fmt.Errorf("writer %d: %w", g, errors.Join(errs...))
					return
				}
				if i%10 == 9 {
					b.DropOwner(uint64(g + 1))
				}
			}
		}()
	}
	r2 := newRecorder(false)
	subscribe(t, b, 2, r2)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	ttls := writers * ((batches + 5) / 6)
	r1.waitFor(t, "the expiry of every key with a deadline", func(r *recorder) bool {
		n := 0
		for _, c := range r.changes {
			if c.Op == kv.OpExpire {
				n++
			}
		}
		return n == ttls
	})
	h.must(t, b, put("barrier", "x"))
	r2.synced(t)
	c1, _ := r1.snapshot()
	c2, _ := r2.snapshot()
	sameContent(t, "second sink against the first", c1, c2)
	r1.check(t)
	r2.check(t)
}

// testSubscribeReplaces: Subscribe with the id of a sink replaces it; the
// old sink is not called once it returns.
func testSubscribeReplaces(t *testing.T, b kv.Backend) {
	mustApply(t, b, put("a", "1"))
	old := newRecorder(false)
	subscribe(t, b, 1, old)
	old.synced(t)
	r := newRecorder(false)
	subscribe(t, b, 1, r)
	old.detach()
	mustApply(t, b, put("b", "2"))
	r.synced(t)
	got, _ := r.snapshot()
	if len(got) != 2 {
		t.Errorf("new sink holds %d keys, want 2", len(got))
	}
	old.check(t)
	r.check(t)
}

// testUnsubscribe: once Unsubscribe returns, the sink is not called again;
// another sink still gets the changes.
func testUnsubscribe(t *testing.T, b kv.Backend) {
	r, other := newRecorder(false), newRecorder(false)
	subscribe(t, b, 1, r)
	subscribe(t, b, 2, other)
	r.synced(t)
	mustApply(t, b, put("a", "1"))
	b.Unsubscribe(1)
	r.detach()
	b.Unsubscribe(1) // no sink of that id: nothing to do
	mustApply(t, b, put("a", "2"))
	mustApply(t, b, kv.Write{Kind: kv.WriteDelete, Key: "a"})
	if _, changes := other.snapshot(); len(changes) != 3 {
		t.Errorf("the other sink got %d changes, want 3", len(changes))
	}
	if _, changes := r.snapshot(); len(changes) != 1 {
		t.Errorf("the unsubscribed sink got %d changes, want 1", len(changes))
	}
	r.check(t)
	other.check(t)
}

// testUnsubscribeDuringSnapshot: Unsubscribe while the content is handed
// over ends the subscription: no call once it returns.
func testUnsubscribeDuringSnapshot(t *testing.T, b kv.Backend) {
	h := newHistory()
	fill(t, b, h, 600, 1000)
	r := newRecorder(true)
	subscribe(t, b, 1, r)
	if !r.parked(t) {
		t.Skip("the whole content came before any Wait: nothing to interrupt")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Unsubscribe(1)
	}()
	r.open() // Wait returns at once from now on: the Backend may go on or stop
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatalf("Unsubscribe did not return in %v once Wait returned", waitTimeout)
	}
	r.detach()
	h.must(t, b, put("after", "x"), put("k/0001", "y"))
	r.check(t)
}
