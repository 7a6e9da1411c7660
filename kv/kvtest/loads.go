package kvtest

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/cluster/kv"
)

// loadResult is what a BeginLoad's done was called with.
type loadResult struct {
	e   kv.Entry
	err error
}

// doneRec records the calls of a BeginLoad's done.
type doneRec struct {
	calls atomic.Int32
	ch    chan loadResult // the first call
}

func newDone() *doneRec { return &doneRec{ch: make(chan loadResult, 1)} }

// fn is the done to pass to BeginLoad.
func (d *doneRec) fn(e kv.Entry, err error) {
	if d.calls.Add(1) == 1 {
		e.Value = append([]byte(nil), e.Value...)
		d.ch <- loadResult{e, err}
	}
}

// wait returns what done was called with, waiting up to waitTimeout.
func (d *doneRec) wait(t testing.TB, what string) loadResult {
	t.Helper()
	select {
	case r := <-d.ch:
		return r
	case <-time.After(waitTimeout):
		t.Fatalf("%s: done not called in %v", what, waitTimeout)
		return loadResult{}
	}
}

// begin calls BeginLoad and fails t unless it returns have and lead as
// wanted, with no error.
func begin(t testing.TB, b kv.Backend, key string, requester uint64, d *doneRec, have, lead bool) kv.Entry {
	t.Helper()
	e, gotHave, gotLead, err := b.BeginLoad(context.Background(), key, requester, d.fn)
	if err != nil || gotHave != have || gotLead != lead {
		t.Fatalf("BeginLoad(%q) by %d: have %v, lead %v, error %v; want have %v, lead %v", key, requester, gotHave, gotLead, err, have, lead)
	}
	return e
}

// testLoadLeaderAndWaiter: the first requester of an absent key leads its
// load; the others wait and get the entry FinishLoad stores.
func testLoadLeaderAndWaiter(t *testing.T, b kv.Backend) {
	r := newRecorder(false)
	subscribe(t, b, 1, r)
	r.synced(t)
	leader, w2, w3 := newDone(), newDone(), newDone()
	begin(t, b, "x", 1, leader, false, true)
	begin(t, b, "x", 2, w2, false, false)
	begin(t, b, "x", 3, w3, false, false)
	if n := w2.calls.Load(); n != 0 {
		t.Errorf("a waiter's done was called %d times before the load finished", n)
	}
	expires := time.Now().Add(time.Hour)
	rev, err := b.FinishLoad(context.Background(), "x", 1, []byte("loaded"), expires, nil)
	if err != nil || rev != 1 {
		t.Fatalf("FinishLoad: revision %d, %v; want 1, nil", rev, err)
	}
	want := kv.Entry{Key: "x", Value: []byte("loaded"), Rev: rev, Created: rev, Expires: expires}
	for _, w := range []*doneRec{w2, w3} {
		got := w.wait(t, "waiter")
		if got.err != nil || entryDiff(want, got.e) != "" {
			t.Errorf("waiter got %+v, %v; want %+v", got.e, got.err, want)
		}
	}
	if _, cs := r.snapshot(); len(cs) != 1 || cs[0].Op != kv.OpPut || cs[0].Key != "x" || cs[0].Rev != rev || cs[0].Owner != 0 {
		t.Errorf("changes of the load: %+v, want the put of x at %d, no owner", cs, rev)
	}
	e := begin(t, b, "x", 4, newDone(), true, false)
	if entryDiff(want, e) != "" {
		t.Errorf("BeginLoad of the loaded key: %s", entryDiff(want, e))
	}
	mustApply(t, b, put("barrier", "x"))
	if a, b, c := leader.calls.Load(), w2.calls.Load(), w3.calls.Load(); a != 0 || b != 1 || c != 1 {
		t.Errorf("done called %d times for the leader, %d and %d for the waiters; want 0, 1, 1", a, b, c)
	}
	r.check(t)
}

// testLoadError: a load that fails gives its error to the waiters and
// stores nothing; the next requester leads a new load.
func testLoadError(t *testing.T, b kv.Backend) {
	w := newDone()
	begin(t, b, "x", 1, newDone(), false, true)
	begin(t, b, "x", 2, w, false, false)
	loadErr := errors.New("kvtest: the loader failed")
	_, _ = b.FinishLoad(context.Background(), "x", 1, []byte("ignored"), time.Time{}, loadErr)
	got := w.wait(t, "waiter of a failed load")
	if got.err == nil || !errors.Is(got.err, loadErr) && !strings.Contains(got.err.Error(), "the loader failed") {
		t.Errorf("waiter of a failed load got %+v, %v; want the load's error", got.e, got.err)
	}
	if rev := mustApply(t, b, put("barrier", "x")); rev != 1 {
		t.Errorf("write after a failed load: revision %d, want 1 (the load stored something)", rev)
	}
	begin(t, b, "x", 3, newDone(), false, true)
	if rev, err := b.FinishLoad(context.Background(), "x", 3, []byte("v"), time.Time{}, nil); err != nil || rev != 2 {
		t.Errorf("FinishLoad of the next load: revision %d, %v; want 2, nil", rev, err)
	}
}

// testLoadAborted: DropOwner of a load's leader gives its waiters
// kv.ErrLoadAborted, and a waiter may lead the next load; dropping a
// waiter aborts nothing.
func testLoadAborted(t *testing.T, b kv.Backend) {
	w2, w3 := newDone(), newDone()
	begin(t, b, "x", 7, newDone(), false, true)
	begin(t, b, "x", 2, w2, false, false)
	begin(t, b, "x", 3, w3, false, false)
	b.DropOwner(7)
	for _, w := range []*doneRec{w2, w3} {
		got := w.wait(t, "waiter of a dropped leader")
		isErr(t, "waiter of a dropped leader", got.err, kv.ErrLoadAborted)
	}
	w3 = newDone()
	begin(t, b, "x", 2, newDone(), false, true)
	begin(t, b, "x", 3, w3, false, false)
	b.DropOwner(3) // a waiter, not the leader
	if rev, err := b.FinishLoad(context.Background(), "x", 2, []byte("v"), time.Time{}, nil); err != nil || rev != 1 {
		t.Fatalf("FinishLoad by the new leader: revision %d, %v; want 1, nil", rev, err)
	}
	if got := w3.wait(t, "waiter of the new load"); got.err != nil || got.e.Rev != 1 || string(got.e.Value) != "v" {
		t.Errorf("waiter of the new load got %+v, %v; want the stored entry", got.e, got.err)
	}
}

// testLoadExisting: BeginLoad of a key that exists returns its entry and
// never calls done.
func testLoadExisting(t *testing.T, b kv.Backend) {
	mustApply(t, b, put("x", "1"))
	rev := mustApply(t, b, kv.Write{Kind: kv.WritePut, Key: "x", Value: []byte("2"), Owner: 5})
	d := newDone()
	e := begin(t, b, "x", 1, d, true, false)
	if want := (kv.Entry{Key: "x", Value: []byte("2"), Rev: rev, Created: 1, Owner: 5}); entryDiff(want, e) != "" || e.Key != "x" {
		t.Errorf("BeginLoad of an existing key: %+v, want %+v", e, want)
	}
	begin(t, b, "y", 1, newDone(), false, true) // another key: a load of its own
	mustApply(t, b, put("barrier", "x"))
	if n := d.calls.Load(); n != 0 {
		t.Errorf("done called %d times for an existing key", n)
	}
}
