package kvtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gocluster/cluster/kv"
)

// testApplyOrder: a batch's writes get consecutive revisions from 1, in the
// order given, and a sink gets their changes in that order.
func testApplyOrder(t *testing.T, b kv.Backend) {
	r := newRecorder(false)
	subscribe(t, b, 1, r)
	r.synced(t)
	h := newHistory()
	var ws []kv.Write
	for i := range 20 {
		ws = append(ws, put(fmt.Sprintf("k%d", i%7), fmt.Sprint(i)))
	}
	for round := range 2 {
		revs := h.must(t, b, ws...)
		for i, rev := range revs {
			if want := uint64(round*len(ws) + i + 1); rev != want {
				t.Errorf("batch %d, write %d: revision %d, want %d", round, i, rev, want)
			}
		}
	}
	_, changes := r.snapshot()
	if len(changes) != 2*len(ws) {
		t.Fatalf("sink got %d changes when Apply returned, want %d", len(changes), 2*len(ws))
	}
	for i, c := range changes {
		w := ws[i%len(ws)]
		if c.Rev != uint64(i+1) || c.Op != kv.OpPut || c.Key != w.Key || string(c.Value) != string(w.Value) {
			t.Errorf("change %d: %v %q=%q at %d, want put %q=%q at %d", i, c.Op, c.Key, c.Value, c.Rev, w.Key, w.Value, i+1)
		}
	}
	want, _ := h.content()
	got, _ := r.snapshot()
	sameContent(t, "sink's replica", want, got)
	r.check(t)
}

// testBatchSeesEarlierWrites: each write of a batch sees the ones before
// it, and a failed one uses no revision.
func testBatchSeesEarlierWrites(t *testing.T, b kv.Backend) {
	ws := []kv.Write{
		put("k", "1"),
		{Kind: kv.WriteCreate, Key: "k", Value: []byte("x")},
		{Kind: kv.WriteUpdate, Key: "k", Value: []byte("2"), PrevRev: 1},
		{Kind: kv.WriteUpdate, Key: "k", Value: []byte("x"), PrevRev: 1},
		{Kind: kv.WriteDelete, Key: "k", PrevRev: 2},
		{Kind: kv.WriteCreate, Key: "k", Value: []byte("3")},
		{Kind: kv.WriteUpdate, Key: "absent", Value: []byte("x"), PrevRev: 4},
		{Kind: kv.WriteDelete, Key: "absent"},
		put("j", "4"),
	}
	wantRev := []uint64{1, 0, 2, 0, 3, 4, 0, 0, 5}
	wantErr := []error{nil, kv.ErrExists, nil, kv.ErrConflict, nil, nil, kv.ErrConflict, nil, nil}
	h := newHistory()
	res, errs := h.apply(b, ws...)
	for i := range ws {
		what := fmt.Sprintf("write %d (%v %q)", i, ws[i].Kind, ws[i].Key)
		if wantErr[i] == nil && errs[i] != nil {
			t.Errorf("%s: %v", what, errs[i])
		} else if wantErr[i] != nil {
			isErr(t, what, errs[i], wantErr[i])
		}
		if res[i].Rev != wantRev[i] {
			t.Errorf("%s: revision %d, want %d", what, res[i].Rev, wantRev[i])
		}
	}
	r := newRecorder(false)
	subscribe(t, b, 1, r)
	r.synced(t)
	want, _ := h.content()
	got, _ := r.snapshot()
	sameContent(t, "content after the batch", want, got)
	r.check(t)
}

// testReadYourWrites: when Apply returns, a sink subscribed before has the
// change of every write that changed something, with its fields and the
// write's Origin and Tag, whether the batch has one write or several.
func testReadYourWrites(t *testing.T, b kv.Backend) {
	r := newRecorder(false)
	subscribe(t, b, 1, r)
	r.synced(t)
	one := kv.Write{Kind: kv.WritePut, Key: "a", Value: []byte("v1"), Owner: 3, Origin: 7, Tag: 100}
	if rev := mustApply(t, b, one); rev != 1 {
		t.Fatalf("first write: revision %d, want 1", rev)
	}
	h := newHistory()
	h.must(t, b,
		kv.Write{Kind: kv.WriteUpdate, Key: "a", Value: []byte("v2"), PrevRev: 1, Origin: 8, Tag: 101},
		kv.Write{Kind: kv.WriteCreate, Key: "b", Value: []byte("w"), Origin: 9, Tag: 102},
		kv.Write{Kind: kv.WriteDelete, Key: "b", Origin: 10, Tag: 103},
	)
	_, got := r.snapshot()
	want := []kv.Change{
		{Op: kv.OpPut, Key: "a", Value: []byte("v1"), Rev: 1, Created: 1, Owner: 3, Origin: 7, Tag: 100},
		{Op: kv.OpPut, Key: "a", Value: []byte("v2"), Rev: 2, Created: 1, Origin: 8, Tag: 101},
		{Op: kv.OpPut, Key: "b", Value: []byte("w"), Rev: 3, Created: 3, Origin: 9, Tag: 102},
		{Op: kv.OpDelete, Key: "b", Rev: 4, Origin: 10, Tag: 103},
	}
	if len(got) != len(want) {
		t.Fatalf("sink got %d changes when Apply returned, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Op != w.Op || g.Key != w.Key || g.Rev != w.Rev || g.Origin != w.Origin || g.Tag != w.Tag ||
			(w.Op == kv.OpPut && (string(g.Value) != string(w.Value) || g.Created != w.Created || g.Owner != w.Owner || !g.Expires.IsZero())) {
			t.Errorf("change %d: %+v, want %+v", i, g, w)
		}
	}
	r.check(t)
}

// testValueCopied: the caller may reuse a write's value once Apply returns.
func testValueCopied(t *testing.T, b kv.Backend) {
	buf := []byte("original")
	mustApply(t, b, kv.Write{Kind: kv.WritePut, Key: "k", Value: buf})
	copy(buf, "CHANGED!")
	e, have, _, err := b.BeginLoad(context.Background(), "k", 1, func(kv.Entry, error) {})
	if err != nil || !have || string(e.Value) != "original" {
		t.Errorf("BeginLoad after the caller reused the value: %q, have %v, %v; want \"original\"", e.Value, have, err)
	}
	r := newRecorder(false)
	subscribe(t, b, 1, r)
	r.synced(t)
	got, _ := r.snapshot()
	if string(got["k"].Value) != "original" {
		t.Errorf("content after the caller reused the value: %q, want \"original\"", got["k"].Value)
	}
	r.check(t)
}

// testCompareAndSet: Create, Update and a conditional Delete fail with the
// right sentinel, change nothing and use no revision.
func testCompareAndSet(t *testing.T, b kv.Backend) {
	r := newRecorder(false)
	subscribe(t, b, 1, r)
	r.synced(t)
	rev := mustApply(t, b, put("k", "v1"))
	fails := []struct {
		w    kv.Write
		want error
	}{
		{kv.Write{Kind: kv.WriteCreate, Key: "k", Value: []byte("x")}, kv.ErrExists},
		{kv.Write{Kind: kv.WriteUpdate, Key: "k", Value: []byte("x"), PrevRev: rev + 5}, kv.ErrConflict},
		{kv.Write{Kind: kv.WriteUpdate, Key: "k", Value: []byte("x")}, kv.ErrConflict},
		{kv.Write{Kind: kv.WriteUpdate, Key: "absent", Value: []byte("x"), PrevRev: rev}, kv.ErrConflict},
		{kv.Write{Kind: kv.WriteUpdate, Key: "absent", Value: []byte("x")}, kv.ErrConflict},
		{kv.Write{Kind: kv.WriteDelete, Key: "k", PrevRev: rev + 5}, kv.ErrConflict},
		{kv.Write{Kind: kv.WriteDelete, Key: "absent", PrevRev: rev}, kv.ErrConflict},
	}
	for _, f := range fails {
		res, err := applyOne(b, f.w)
		what := fmt.Sprintf("%v %q (PrevRev %d)", f.w.Kind, f.w.Key, f.w.PrevRev)
		isErr(t, what, err, f.want)
		if res.Rev != 0 {
			t.Errorf("%s: failed with revision %d, want 0", what, res.Rev)
		}
	}
	steps := []kv.Write{
		{Kind: kv.WriteUpdate, Key: "k", Value: []byte("v2"), PrevRev: rev},
		{Kind: kv.WriteDelete, Key: "k", PrevRev: rev + 1},
		{Kind: kv.WriteCreate, Key: "k", Value: []byte("v3")},
	}
	for i, w := range steps {
		if got := mustApply(t, b, w); got != rev+uint64(i)+1 {
			t.Errorf("%v after the failed writes: revision %d, want %d (a failed write used a revision)", w.Kind, got, rev+uint64(i)+1)
		}
	}
	_, changes := r.snapshot()
	var ops []string
	for _, c := range changes {
		ops = append(ops, fmt.Sprintf("%v@%d", c.Op, c.Rev))
	}
	if got, want := strings.Join(ops, " "), fmt.Sprintf("put@%d put@%d delete@%d put@%d", rev, rev+1, rev+2, rev+3); got != want {
		t.Errorf("changes %s, want %s (a failed write changed something)", got, want)
	}
	r.check(t)
}

// testDeleteAbsent: deleting an absent key is no error, has revision 0 and
// makes no change.
func testDeleteAbsent(t *testing.T, b kv.Backend) {
	r := newRecorder(false)
	subscribe(t, b, 1, r)
	r.synced(t)
	for _, key := range []string{"never", "gone"} {
		if key == "gone" {
			mustApply(t, b, put("gone", "x"))
			mustApply(t, b, kv.Write{Kind: kv.WriteDelete, Key: "gone"})
		}
		res, err := applyOne(b, kv.Write{Kind: kv.WriteDelete, Key: key})
		if err != nil || res.Rev != 0 {
			t.Errorf("delete of absent %q: revision %d, error %v; want 0, nil", key, res.Rev, err)
		}
	}
	if rev := mustApply(t, b, put("next", "x")); rev != 3 {
		t.Errorf("write after deletes of absent keys: revision %d, want 3", rev)
	}
	if _, changes := r.snapshot(); len(changes) != 3 {
		t.Errorf("sink got %d changes, want 3 (a delete of an absent key made a change)", len(changes))
	}
	r.check(t)
}

// testInvalidWrites: an empty key or one over kv.MaxKeySize fails with
// kv.ErrInvalid, changes nothing and uses no revision.
func testInvalidWrites(t *testing.T, b kv.Backend) {
	long := strings.Repeat("k", kv.MaxKeySize+1)
	ws := []kv.Write{put("", "x"), put(long, "x"), {Kind: kv.WriteDelete, Key: ""}, put(long[:kv.MaxKeySize], "ok")}
	h := newHistory()
	res, errs := h.apply(b, ws...)
	for i := range 3 {
		isErr(t, fmt.Sprintf("write %d (%v of a %d-byte key)", i, ws[i].Kind, len(ws[i].Key)), errs[i], kv.ErrInvalid)
	}
	if errs[3] != nil || res[3].Rev != 1 {
		t.Errorf("write of a %d-byte key after invalid ones: revision %d, error %v; want 1, nil", kv.MaxKeySize, res[3].Rev, errs[3])
	}
	_, err := applyOne(b, put("", "x"))
	isErr(t, "one write with an empty key", err, kv.ErrInvalid)
}
