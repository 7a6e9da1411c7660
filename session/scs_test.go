package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster/kv"
)

// The tests of scs's own stores (memstore, redisstore, goredisstore), on
// an SCSStore: the data is read and written through the kv store, as the
// Redis stores' tests use the Redis client.

func TestSCSFind(t *testing.T) {
	ctx, store := testCtx(t), newKV(t)
	s := NewSCSStore(store, "")
	if _, err := store.Put(ctx, DefaultSCSPrefix+"session_token", []byte("encoded_data"), kv.WithTTL(time.Minute)); err != nil {
		t.Fatal(err)
	}
	b, found, err := s.Find("session_token")
	if err != nil || !found || !bytes.Equal(b, []byte("encoded_data")) {
		t.Fatalf("Find = %q, %v, %v; want encoded_data, true, nil", b, found, err)
	}
	b[0] = 'X' // the caller's own copy
	if e, _ := store.Get(DefaultSCSPrefix + "session_token"); string(e.Value) != "encoded_data" {
		t.Fatalf("changing Find's bytes changed the store: %q", e.Value)
	}
}

func TestSCSSaveNew(t *testing.T) {
	ctx, store := testCtx(t), newKV(t)
	s := NewSCSStore(store, "")
	expiry := time.Now().Add(time.Minute)
	if err := s.CommitCtx(ctx, "session_token", []byte("encoded_data"), expiry); err != nil {
		t.Fatal(err)
	}
	e, ok := store.Get(DefaultSCSPrefix + "session_token")
	if !ok || string(e.Value) != "encoded_data" {
		t.Fatalf("stored %q, %v; want encoded_data", e.Value, ok)
	}
	if d := e.Expires.Sub(expiry).Abs(); d > time.Second {
		t.Fatalf("the key expires at %v, %v from the session's expiry %v", e.Expires, d, expiry)
	}
}

func TestSCSFindMissing(t *testing.T) {
	s := NewSCSStore(newKV(t), "")
	for _, token := range []string{"missing_session_token", strings.Repeat("x", kv.MaxKeySize+1)} {
		b, found, err := s.Find(token)
		if b != nil || found || err != nil {
			t.Fatalf("Find(%.20q) = %q, %v, %v; want nil, false, nil", token, b, found, err)
		}
	}
}

func TestSCSSaveUpdated(t *testing.T) {
	ctx, store := testCtx(t), newKV(t)
	s := NewSCSStore(store, "")
	if _, err := store.Put(ctx, DefaultSCSPrefix+"session_token", []byte("encoded_data")); err != nil {
		t.Fatal(err)
	}
	expiry := time.Now().Add(time.Minute)
	if err := s.Commit("session_token", []byte("new_encoded_data"), expiry); err != nil {
		t.Fatal(err)
	}
	e, _ := store.Get(DefaultSCSPrefix + "session_token")
	if string(e.Value) != "new_encoded_data" || e.Expires.Sub(expiry).Abs() > time.Second {
		t.Fatalf("stored %q expiring %v; want new_encoded_data expiring %v", e.Value, e.Expires, expiry)
	}
}

func TestSCSExpiry(t *testing.T) {
	ctx, store := testCtx(t), newKV(t)
	s := NewSCSStore(store, "")
	if err := s.CommitCtx(ctx, "session_token", []byte("encoded_data"), time.Now().Add(50*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.FindCtx(ctx, "session_token"); !found {
		t.Fatal("not found before its expiry")
	}
	waitExpired(t, store, DefaultSCSPrefix+"session_token")
	if _, found, err := s.FindCtx(ctx, "session_token"); found || err != nil {
		t.Fatalf("after its expiry: found %v, %v", found, err)
	}
}

// The store deletes expired sessions itself (memstore's cleanup goroutine's
// job): none is left in it.
func TestSCSCleanup(t *testing.T) {
	ctx, store := testCtx(t), newKV(t)
	s := NewSCSStore(store, "")
	for i := range 3 {
		if err := s.CommitCtx(ctx, fmt.Sprint("token_", i), []byte("data"), time.Now().Add(time.Duration(10+10*i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		waitExpired(t, store, fmt.Sprint(DefaultSCSPrefix, "token_", i))
	}
	if n := store.Len(); n != 0 {
		t.Fatalf("%d keys left after every session expired", n)
	}
}

func TestSCSCommitPastExpiryDeletes(t *testing.T) {
	ctx, store := testCtx(t), newKV(t)
	s := NewSCSStore(store, "")
	if err := s.CommitCtx(ctx, "session_token", []byte("encoded_data"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitCtx(ctx, "session_token", []byte("encoded_data"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, ok := store.Get(DefaultSCSPrefix + "session_token"); ok {
		t.Fatal("a commit with a past expiry left the session")
	}
}

func TestSCSDelete(t *testing.T) {
	ctx, store := testCtx(t), newKV(t)
	s := NewSCSStore(store, "")
	if _, err := store.Put(ctx, DefaultSCSPrefix+"session_token", []byte("encoded_data")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCtx(ctx, "session_token"); err != nil {
		t.Fatal(err)
	}
	if _, ok := store.Get(DefaultSCSPrefix + "session_token"); ok {
		t.Fatal("still stored after Delete")
	}
	if err := s.Delete("session_token"); err != nil {
		t.Fatalf("Delete of a missing session: %v, want nil", err)
	}
}

func TestSCSAll(t *testing.T) {
	ctx, store := testCtx(t), newKV(t)
	s := NewSCSStore(store, "")
	all, err := s.All()
	if err != nil || all == nil || len(all) != 0 {
		t.Fatalf("All of an empty store = %#v, %v; want an empty map", all, err)
	}
	sessions := make(map[string][]byte)
	for i := range 4 {
		key := fmt.Sprint("token_", i)
		if _, err := store.Put(ctx, DefaultSCSPrefix+key, []byte(key)); err != nil {
			t.Fatal(err)
		}
		sessions[key] = []byte(key)
	}
	// Neither another prefix nor an expired session is listed.
	if err := NewSCSStore(store, "other:").CommitCtx(ctx, "token_9", []byte("x"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitCtx(ctx, "token_short", []byte("x"), time.Now().Add(10*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitExpired(t, store, DefaultSCSPrefix+"token_short")
	got, err := s.AllCtx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(got, sessions, bytes.Equal) {
		t.Fatalf("All = %q, want %q", got, sessions)
	}
	for k := range sessions {
		if err := s.DeleteCtx(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.All(); len(got) != 0 {
		t.Fatalf("All after deleting every session = %q", got)
	}
}

func TestSCSPrefix(t *testing.T) {
	ctx, store := testCtx(t), newKV(t)
	a, b := NewSCSStore(store, "a:"), NewSCSStore(store, "b:")
	if err := a.CommitCtx(ctx, "t", []byte("A"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := b.FindCtx(ctx, "t"); found {
		t.Fatal("a session under prefix a: is found under b:")
	}
	if _, ok := store.Get("a:t"); !ok {
		t.Fatal("not stored under a:t")
	}
}

// A failed write reads with one prefix, names no token, and keeps kv's
// sentinel; an ended context is a Commit's error.
func TestSCSErrors(t *testing.T) {
	s := NewSCSStore(newKV(t), "")
	token := "secret-token-" + strings.Repeat("t", 40)
	err := s.Commit(token, make([]byte, kv.MaxValueSize+1), time.Now().Add(time.Minute))
	if !errors.Is(err, kv.ErrInvalid) {
		t.Fatalf("Commit of a value over the limit: %v, want kv.ErrInvalid", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "session: scs commit: ") || strings.Count(msg, ": kv") > 0 || strings.Contains(msg, "secret") {
		t.Fatalf("error %q: want one prefix and no token", msg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.CommitCtx(ctx, token, []byte("x"), time.Now().Add(time.Minute)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit with an ended context: %v", err)
	}
}
