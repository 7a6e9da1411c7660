package session

import (
	"bytes"
	"context"
	"math"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/cluster/kv"
)

// heldBackend is an engine whose subscribers get the changes only when
// released: a replica fed by it lags behind the store, as one on another
// machine (or in another worker) does for a moment after a write.
type heldBackend struct {
	*kv.Engine
	mu    sync.Mutex
	hold  bool
	sinks []*heldSink
}

type heldSink struct {
	b       *heldBackend
	to      kv.Sink
	pending []kv.Change
}

func (b *heldBackend) Subscribe(id uint64, sink kv.Sink) error {
	h := &heldSink{b: b, to: sink}
	b.mu.Lock()
	b.sinks = append(b.sinks, h)
	b.mu.Unlock()
	return b.Engine.Subscribe(id, h)
}

// setHold makes the changes wait for release from now on.
func (b *heldBackend) setHold() {
	b.mu.Lock()
	b.hold = true
	b.mu.Unlock()
}

// release hands every held change to its sink.
func (b *heldBackend) release() { b.releaseIf(func(kv.Change) bool { return true }) }

// releasePuts hands the held puts to their sinks and drops the rest: the
// replica keeps what it held, and never hears of its deletes or expiries.
func (b *heldBackend) releasePuts() { b.releaseIf(func(c kv.Change) bool { return c.Op == kv.OpPut }) }

func (b *heldBackend) releaseIf(keep func(kv.Change) bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, h := range b.sinks {
		cs := h.pending[:0]
		for _, c := range h.pending {
			if keep(c) {
				cs = append(cs, c)
			}
		}
		if len(cs) > 0 {
			h.to.Changes(cs)
		}
		h.pending = nil
	}
}

func (h *heldSink) Wait(n int) error { return h.to.Wait(n) }

func (h *heldSink) Snapshot(rev uint64, entries []kv.Entry, last bool) {
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	h.to.Snapshot(rev, entries, last)
}

func (h *heldSink) Reset() {
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	h.pending = nil
	h.to.Reset()
}

func (h *heldSink) Changes(cs []kv.Change) {
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	if !h.b.hold {
		h.to.Changes(cs)
		return
	}
	for _, c := range cs { // valid only during the call
		c.Key, c.Value = strings.Clone(c.Key), bytes.Clone(c.Value)
		h.pending = append(h.pending, c)
	}
}

// syncBackend is a heldBackend that is a kv.Syncer: Sync releases the
// held changes, as a remote store's Sync brings the replica up to date.
type syncBackend struct {
	*heldBackend
	syncs atomic.Int64
}

func (b *syncBackend) Sync(context.Context) (uint64, error) {
	b.syncs.Add(1)
	rev := b.Rev()
	b.release()
	return rev, nil
}

// lagging returns two handles on one engine: there, which writes, and
// here, whose replica gets no change until one is released (by a Sync, if
// sync is set: otherwise here is on a Backend that cannot sync).
func lagging(t *testing.T, sync bool) (there, here *kv.KV, sb *syncBackend) {
	t.Helper()
	eng := kv.NewEngine(kv.Limits{})
	hb := &heldBackend{Engine: eng}
	sb = &syncBackend{heldBackend: hb}
	var b kv.Backend = sb
	if !sync {
		b = hb
	}
	here = kv.New(b)
	if err := here.Ready(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		eng.Unsubscribe(math.MaxUint64) // here's subscription: its goroutine ends
		eng.Close()
	})
	hb.setHold()
	return kv.New(eng), here, sb
}

// A session committed elsewhere a moment ago, not yet in this replica, is
// found: the miss syncs. A hit does not.
func TestSCSFindSyncsOnLocalMiss(t *testing.T) {
	ctx := testCtx(t)
	there, here, sb := lagging(t, true)
	if err := NewSCSStore(there, "").CommitCtx(ctx, "tok", []byte("data"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, ok := here.Get(DefaultSCSPrefix + "tok"); ok {
		t.Fatal("the replica has the change already: the test would prove nothing")
	}
	s := NewSCSStore(here, "")
	for i := range 3 {
		b, found, err := s.FindCtx(ctx, "tok")
		if err != nil || !found || string(b) != "data" {
			t.Fatalf("Find %d = %q, %v, %v; want data", i, b, found, err)
		}
	}
	if n := sb.syncs.Load(); n != 1 {
		t.Fatalf("%d syncs for one miss and two hits, want 1", n)
	}
	if _, found, err := s.FindCtx(ctx, "missing"); found || err != nil || sb.syncs.Load() != 2 {
		t.Fatalf("a missing session: found %v, %v, %d syncs", found, err, sb.syncs.Load())
	}
	// All sees every session the store has.
	if err := NewSCSStore(there, "").CommitCtx(ctx, "tok2", []byte("data2"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if all, err := s.AllCtx(ctx); err != nil || len(all) != 2 || string(all["tok2"]) != "data2" {
		t.Fatalf("All = %q, %v", all, err)
	}
}

// A session whose copy here has expired, but which was committed again
// elsewhere, is found: an expired entry is a miss, and a miss syncs.
func TestSCSFindSyncsOnExpiredCopy(t *testing.T) {
	ctx := testCtx(t)
	there, here, sb := lagging(t, true)
	if err := NewSCSStore(there, "").CommitCtx(ctx, "tok", []byte("old"), time.Now().Add(20*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	sb.releasePuts() // here holds the old copy, and has not heard of its expiry
	waitExpired(t, there, DefaultSCSPrefix+"tok")
	if err := NewSCSStore(there, "").CommitCtx(ctx, "tok", []byte("new"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if e, ok := here.Get(DefaultSCSPrefix + "tok"); !ok || string(e.Value) != "old" {
		t.Fatalf("here holds %q, %v: want the old copy", e.Value, ok)
	}
	b, found, err := NewSCSStore(here, "").FindCtx(ctx, "tok")
	if err != nil || !found || string(b) != "new" || sb.syncs.Load() != 1 {
		t.Fatalf("Find = %q, %v, %v after %d syncs; want new after 1", b, found, err, sb.syncs.Load())
	}
}

// On a store that cannot sync, an entry past its deadline whose expiry has
// not reached the replica is missing all the same, for Find and All.
func TestSCSExpiredCopyIsMissing(t *testing.T) {
	ctx := testCtx(t)
	there, here, sb := lagging(t, false)
	if err := NewSCSStore(there, "").CommitCtx(ctx, "tok", []byte("old"), time.Now().Add(20*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	sb.releasePuts()
	waitExpired(t, there, DefaultSCSPrefix+"tok")
	if _, ok := here.Get(DefaultSCSPrefix + "tok"); !ok {
		t.Fatal("here lost its copy: the test would prove nothing")
	}
	s := NewSCSStore(here, "")
	if b, found, err := s.FindCtx(ctx, "tok"); found || err != nil {
		t.Fatalf("Find of an expired copy = %q, %v, %v; want not found", b, found, err)
	}
	if all, err := s.AllCtx(ctx); err != nil || len(all) != 0 {
		t.Fatalf("All = %q, %v; want an empty map", all, err)
	}
	if sb.syncs.Load() != 0 {
		t.Fatal("a Backend that is no Syncer was synced")
	}
}

// A gorilla session saved elsewhere a moment ago is found by the next
// request here.
func TestGorillaNewSyncsOnLocalMiss(t *testing.T) {
	there, here, sb := lagging(t, true)
	req, rsp := newRequest(t, ""), httptest.NewRecorder()
	session := getSession(t, NewGorillaStore(there, "", testKey), req)
	session.Values["user"] = "ada"
	saveSession(t, req, rsp)
	if _, ok := here.Get(DefaultGorillaPrefix + session.ID); ok {
		t.Fatal("the replica has the change already: the test would prove nothing")
	}
	gs := NewGorillaStore(here, "", testKey)
	for i := range 2 {
		got := getSession(t, gs, newRequest(t, getCookie(t, rsp)))
		if got.IsNew || got.Values["user"] != "ada" || got.ID != session.ID {
			t.Fatalf("request %d: IsNew %v, values %v", i, got.IsNew, got.Values)
		}
	}
	if n := sb.syncs.Load(); n != 1 {
		t.Fatalf("%d syncs for one miss and one hit, want 1", n)
	}
}
