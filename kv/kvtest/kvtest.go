// Package kvtest checks that a [kv.Backend] keeps the contract written on
// that interface: the order of revisions, what a writer waits for, what a
// [kv.Sink] is handed and how, compare-and-set, TTLs, owned keys, the lock
// of a load, Unsubscribe and Close. The embedded [kv.Engine] passes it; a
// new Backend (one on Redis) runs the same suite from its own tests:
//
//	func TestRedisBackend(t *testing.T) {
//		kvtest.TestBackend(t, func(t *testing.T) kv.Backend {
//			return newRedisBackend(t) // empty, at revision 0, not shared
//		})
//	}
//
// Each check is a subtest with a Backend of its own, which the suite closes
// when the subtest ends. The suite uses only the public API of package kv:
// a Backend whose data or timing is odd fails with a message naming the
// point of the contract, and every wait is bounded (10 s).
package kvtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster/kv"
)

// waitTimeout bounds every wait of the suite.
const waitTimeout = 10 * time.Second

// TestBackend runs the conformance suite of [kv.Backend], one subtest per
// point of the contract. newBackend returns a new, empty Backend at
// revision 0 that no other test uses; it may register its own cleanup with
// t. The suite subscribes, writes and loads as it needs, unsubscribes what
// it subscribed and closes the Backend when each subtest ends.
func TestBackend(t *testing.T, newBackend func(t *testing.T) kv.Backend) {
	t.Helper()
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			b := newBackend(t)
			t.Cleanup(func() { _ = b.Close() }) // a subtest may have closed it already
			c.run(t, b)
		})
	}
}

// testCase is one subtest of the suite.
type testCase struct {
	name string
	run  func(t *testing.T, b kv.Backend)
}

func cases() []testCase {
	return []testCase{
		{"ApplyOrder", testApplyOrder},
		{"BatchSeesEarlierWrites", testBatchSeesEarlierWrites},
		{"ReadYourWrites", testReadYourWrites},
		{"ValueCopied", testValueCopied},
		{"CompareAndSet", testCompareAndSet},
		{"DeleteAbsent", testDeleteAbsent},
		{"InvalidWrites", testInvalidWrites},
		{"SnapshotThenChanges", testSnapshotThenChanges},
		{"SnapshotUnderWrites", testSnapshotUnderWrites},
		{"SinkCallsNeverOverlap", testSinkCallsNeverOverlap},
		{"SubscribeReplaces", testSubscribeReplaces},
		{"Unsubscribe", testUnsubscribe},
		{"UnsubscribeDuringSnapshot", testUnsubscribeDuringSnapshot},
		{"Expires", testExpires},
		{"ExpiresCleared", testExpiresCleared},
		{"DropOwner", testDropOwner},
		{"LoadLeaderAndWaiter", testLoadLeaderAndWaiter},
		{"LoadError", testLoadError},
		{"LoadAborted", testLoadAborted},
		{"LoadExisting", testLoadExisting},
		{"Closed", testClosed},
		{"ClosedBeginLoad", testClosedBeginLoad},
		{"CloseReleasesWaiters", testCloseReleasesWaiters},
	}
}

// history records the writes that changed something, by revision, so that
// a test knows what the Backend must hold.
type history struct {
	mu  sync.Mutex
	ws  map[uint64]kv.Write
	max uint64
}

func newHistory() *history { return &history{ws: make(map[uint64]kv.Write)} }

// apply applies ws to b in one batch and records those that changed
// something. It is safe for concurrent use and calls no method of t.
func (h *history) apply(b kv.Backend, ws ...kv.Write) ([]kv.Result, []error) {
	res, errs := make([]kv.Result, len(ws)), make([]error, len(ws))
	b.Apply(context.Background(), ws, res, errs)
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, w := range ws {
		if errs[i] == nil && res[i].Rev != 0 {
			w.Value = append([]byte(nil), w.Value...)
			h.ws[res[i].Rev] = w
			h.max = max(h.max, res[i].Rev)
		}
	}
	return res, errs
}

// must applies ws and fails t if one of them fails; it returns the
// revisions.
func (h *history) must(t testing.TB, b kv.Backend, ws ...kv.Write) []uint64 {
	t.Helper()
	res, errs := h.apply(b, ws...)
	revs := make([]uint64, len(ws))
	for i := range ws {
		if errs[i] != nil {
			t.Fatalf("Apply %v %q: %v", ws[i].Kind, ws[i].Key, errs[i])
		}
		revs[i] = res[i].Rev
	}
	return revs
}

// content returns what the recorded writes leave, replayed in revision
// order, and the last revision.
func (h *history) content() (map[string]kv.Entry, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	revs := make([]uint64, 0, len(h.ws))
	for rev := range h.ws {
		revs = append(revs, rev)
	}
	slices.Sort(revs)
	m := make(map[string]kv.Entry)
	for _, rev := range revs {
		w := h.ws[rev]
		if w.Kind == kv.WriteDelete {
			delete(m, w.Key)
			continue
		}
		created := rev
		if old, ok := m[w.Key]; ok {
			created = old.Created
		}
		m[w.Key] = kv.Entry{Key: w.Key, Value: w.Value, Rev: rev, Created: created, Expires: w.Expires, Owner: w.Owner}
	}
	return m, h.max
}

// put returns a WritePut of key with value.
func put(key, value string) kv.Write {
	return kv.Write{Kind: kv.WritePut, Key: key, Value: []byte(value)}
}

// applyOne applies w alone.
func applyOne(b kv.Backend, w kv.Write) (kv.Result, error) {
	res, errs := make([]kv.Result, 1), make([]error, 1)
	b.Apply(context.Background(), []kv.Write{w}, res, errs)
	return res[0], errs[0]
}

// mustApply applies w alone and fails t if it fails.
func mustApply(t testing.TB, b kv.Backend, w kv.Write) uint64 {
	t.Helper()
	r, err := applyOne(b, w)
	if err != nil {
		t.Fatalf("Apply %v %q: %v", w.Kind, w.Key, err)
	}
	return r.Rev
}

// entryDiff describes how got differs from want ("" if it does not). An
// Expires may differ by up to a second (a Backend may keep deadlines as
// a time to live).
func entryDiff(want, got kv.Entry) string {
	switch {
	case string(want.Value) != string(got.Value):
		return fmt.Sprintf("value %.40q, want %.40q", got.Value, want.Value)
	case want.Rev != got.Rev || want.Created != got.Created:
		return fmt.Sprintf("revisions %d (created %d), want %d (created %d)", got.Rev, got.Created, want.Rev, want.Created)
	case want.Owner != got.Owner:
		return fmt.Sprintf("owner %d, want %d", got.Owner, want.Owner)
	case want.Expires.IsZero() != got.Expires.IsZero(),
		!want.Expires.IsZero() && (got.Expires.Sub(want.Expires) > time.Second || want.Expires.Sub(got.Expires) > time.Second):
		return fmt.Sprintf("expires %v, want %v", got.Expires, want.Expires)
	}
	return ""
}

// sameContent fails t where got differs from want.
func sameContent(t testing.TB, what string, want, got map[string]kv.Entry) {
	t.Helper()
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: key %q missing", what, k)
		case entryDiff(w, g) != "":
			t.Errorf("%s: key %q: %s", what, k, entryDiff(w, g))
		default:
			continue
		}
		if bad++; bad > 10 {
			t.Fatalf("%s: too many differences", what)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: key %q should not be there", what, k)
		}
	}
}

// isErr fails t unless err matches want.
func isErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want one matching %v", what, err, want)
	}
}
