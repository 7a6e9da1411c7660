package kvtest

import (
	"context"
	"testing"
	"time"

	"github.com/gocluster/cluster/kv"
)

// testClosed: after Close, Apply, Subscribe and FinishLoad fail with
// kv.ErrClosed; DropOwner and Unsubscribe return.
func testClosed(t *testing.T, b kv.Backend) {
	mustApply(t, b, put("a", "1"))
	r := newRecorder(false)
	subscribe(t, b, 1, r)
	r.synced(t)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, n := range []int{1, 2} {
		ws := []kv.Write{put("a", "2"), put("b", "2")}[:n]
		res, errs := make([]kv.Result, n), make([]error, n)
		b.Apply(context.Background(), ws, res, errs)
		for i := range ws {
			isErr(t, "Apply after Close", errs[i], kv.ErrClosed)
			if res[i].Rev != 0 {
				t.Errorf("Apply after Close: revision %d, want 0", res[i].Rev)
			}
		}
	}
	isErr(t, "Subscribe after Close", b.Subscribe(2, newRecorder(false)), kv.ErrClosed)
	_, err := b.FinishLoad(context.Background(), "k", 1, []byte("v"), time.Time{}, nil)
	isErr(t, "FinishLoad after Close", err, kv.ErrClosed)
	b.DropOwner(1)
	b.Unsubscribe(1)
	r.detach()
	b.Unsubscribe(2)
	r.check(t)
}

// testClosedBeginLoad: after Close, BeginLoad fails with kv.ErrClosed.
func testClosedBeginLoad(t *testing.T, b kv.Backend) {
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	d := newDone()
	_, have, lead, err := b.BeginLoad(context.Background(), "k", 1, d.fn)
	if have || lead {
		t.Errorf("BeginLoad after Close: have %v, lead %v", have, lead)
	}
	isErr(t, "BeginLoad after Close", err, kv.ErrClosed)
	if n := d.calls.Load(); err != nil && n != 0 {
		t.Errorf("BeginLoad after Close failed and called done %d times, want 0", n)
	}
}

// testCloseReleasesWaiters: Close gives the waiters of a load in flight
// kv.ErrClosed (they would wait forever), and the leader's FinishLoad then
// fails with it.
func testCloseReleasesWaiters(t *testing.T, b kv.Backend) {
	w := newDone()
	begin(t, b, "x", 1, newDone(), false, true)
	begin(t, b, "x", 2, w, false, false)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := w.wait(t, "waiter of a load when the Backend closed")
	isErr(t, "waiter of a load when the Backend closed", got.err, kv.ErrClosed)
	_, err := b.FinishLoad(context.Background(), "x", 1, []byte("v"), time.Time{}, nil)
	isErr(t, "FinishLoad after Close", err, kv.ErrClosed)
}
