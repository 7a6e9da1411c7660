package kvtest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gocluster/cluster/kv"
)

// changesOf returns the changes of key, as "op@rev".
func changesOf(cs []kv.Change, key string) []string {
	var out []string
	for _, c := range cs {
		if c.Key == key {
			out = append(out, fmt.Sprintf("%v@%d", c.Op, c.Rev))
		}
	}
	return out
}

// expired waits until r got an OpExpire of key and returns that change
// and when it came.
func expired(t testing.TB, r *recorder, key string) (kv.Change, time.Time) {
	t.Helper()
	var c kv.Change
	var at time.Time
	r.waitFor(t, "the expiry of "+key, func(r *recorder) bool {
		for i, x := range r.changes {
			if x.Key == key && x.Op == kv.OpExpire {
				c, at = x, r.times[i]
				return true
			}
		}
		return false
	})
	return c, at
}

// testExpires: a key is deleted once its deadline passes, as an OpExpire
// change, not before; a deadline in the past expires the key at once.
func testExpires(t *testing.T, b kv.Backend) {
	r := newRecorder(false)
	subscribe(t, b, 1, r)
	r.synced(t)
	deadline := time.Now().Add(50 * time.Millisecond)
	rev := mustApply(t, b, kv.Write{Kind: kv.WritePut, Key: "t", Value: []byte("v"), Expires: deadline})
	mustApply(t, b, put("keep", "v"))
	_, cs := r.snapshot()
	if len(cs) == 0 || cs[0].Key != "t" || entryDiff(kv.Entry{Expires: deadline}, kv.Entry{Expires: cs[0].Expires}) != "" {
		t.Errorf("the put of a key with a deadline: changes %+v, want expires %v on the first", cs, deadline)
	}
	c, at := expired(t, r, "t")
	if at.Before(deadline) {
		t.Errorf("key expired %v before its deadline", deadline.Sub(at))
	}
	if c.Rev != rev+2 {
		t.Errorf("expiry at revision %d, want %d", c.Rev, rev+2)
	}
	got, _ := r.snapshot()
	if _, ok := got["t"]; ok {
		t.Error("the expired key is still in the sink's replica")
	}
	if _, ok := got["keep"]; !ok {
		t.Error("the key without a deadline is gone")
	}
	mustApply(t, b, kv.Write{Kind: kv.WriteCreate, Key: "past", Value: []byte("v"), Expires: time.Now().Add(-time.Second)})
	expired(t, r, "past")
	r.check(t)
}

// testExpiresCleared: a write without Expires clears the key's deadline.
func testExpiresCleared(t *testing.T, b kv.Backend) {
	r := newRecorder(false)
	subscribe(t, b, 1, r)
	r.synced(t)
	now := time.Now()
	rev := mustApply(t, b, kv.Write{Kind: kv.WritePut, Key: "a", Value: []byte("1"), Expires: now.Add(30 * time.Millisecond)})
	mustApply(t, b, kv.Write{Kind: kv.WriteUpdate, Key: "a", Value: []byte("2"), PrevRev: rev})
	mustApply(t, b, kv.Write{Kind: kv.WritePut, Key: "b", Value: []byte("1"), Expires: now.Add(30 * time.Millisecond)})
	mustApply(t, b, put("b", "2"))
	// The witness has a later deadline: when it has expired, a and b
	// would have too.
	mustApply(t, b, kv.Write{Kind: kv.WritePut, Key: "witness", Value: []byte("w"), Expires: now.Add(80 * time.Millisecond)})
	expired(t, r, "witness")
	got, cs := r.snapshot()
	for _, key := range []string{"a", "b"} {
		if want := 2; len(changesOf(cs, key)) != want {
			t.Errorf("changes of %q: %v, want its %d writes only", key, changesOf(cs, key), want)
		}
		if e, ok := got[key]; !ok || !e.Expires.IsZero() {
			t.Errorf("%q in the sink's replica: %+v, %v; want it, without a deadline", key, e, ok)
		}
		e, have, _, err := b.BeginLoad(context.Background(), key, 1, func(kv.Entry, error) {})
		if err != nil || !have || !e.Expires.IsZero() {
			t.Errorf("BeginLoad(%q): %+v, have %v, %v; want the entry without a deadline", key, e, have, err)
		}
	}
	r.check(t)
}

// testDropOwner: DropOwner deletes exactly the keys the owner holds now, as
// OpDelete changes.
func testDropOwner(t *testing.T, b kv.Backend) {
	r := newRecorder(false)
	subscribe(t, b, 1, r)
	r.synced(t)
	owned := func(key string, owner uint64) kv.Write {
		return kv.Write{Kind: kv.WritePut, Key: key, Value: []byte("v"), Owner: owner}
	}
	h := newHistory()
	h.must(t, b, owned("a", 7), owned("b", 7), owned("c", 8), put("d", "v"),
		owned("e", 7), put("e", "v"), // re-written without owner: e is nobody's
		owned("f", 7), owned("f", 8)) // re-written by another owner
	_, before := r.snapshot()
	if before[0].Owner != 7 {
		t.Errorf("change of an owned key: owner %d, want 7", before[0].Owner)
	}
	b.DropOwner(7)
	r.waitFor(t, "the deletes of a and b", func(r *recorder) bool { return len(r.changes) >= len(before)+2 })
	b.DropOwner(7) // nothing left
	b.DropOwner(0) // 0 owns nothing
	b.DropOwner(99)
	mustApply(t, b, put("barrier", "x"))
	got, cs := r.snapshot()
	var ops []string
	for _, c := range cs[len(before):] {
		ops = append(ops, fmt.Sprintf("%v %s", c.Op, c.Key))
	}
	slices.Sort(ops)
	if want := []string{"delete a", "delete b", "put barrier"}; !slices.Equal(ops, want) {
		t.Errorf("changes after DropOwner(7): %q, want %q", ops, want)
	}
	for _, key := range []string{"c", "d", "e", "f", "barrier"} {
		if _, ok := got[key]; !ok {
			t.Errorf("key %q is gone after DropOwner(7)", key)
		}
	}
	b.DropOwner(8)
	r.waitFor(t, "the deletes of c and f", func(r *recorder) bool { return len(r.replica) == 3 })
	r.check(t)
}
