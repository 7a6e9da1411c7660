package redis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/redistest"
	"github.com/gocluster/cluster/kv"
	"github.com/gocluster/cluster/kv/kvtest"
	"github.com/gocluster/cluster/redis"
)

// open opens a Backend on srv's store name for t, closed in t.Cleanup.
func open(t testing.TB, srv *redistest.Server, name string, lease time.Duration) *redis.Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := redis.New(ctx, redis.Config{Addrs: []string{srv.Addr()}, Name: name, Lease: lease, DialTimeout: 2 * time.Second}, kv.Limits{})
	if err != nil {
		t.Fatalf("redis.New: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestConformance runs the Backend conformance suite against a real
// redis-server: the Redis backend keeps every promise of kv.Backend.
func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	n := 0
	kvtest.TestBackend(t, func(t *testing.T) kv.Backend {
		n++
		return open(t, srv, "conf"+time.Now().Format("150405.000000"), time.Second)
	})
}

// loadWait is the outcome a load's waiter was given.
type loadWait struct {
	e   kv.Entry
	err error
}

func waiter() (func(kv.Entry, error), chan loadWait) {
	ch := make(chan loadWait, 1)
	return func(e kv.Entry, err error) { ch <- loadWait{e, err} }, ch
}

func waitLoad(t *testing.T, ch chan loadWait, what string) loadWait {
	t.Helper()
	select {
	case w := <-ch:
		return w
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no outcome within 10s", what)
		return loadWait{}
	}
}

// TestLoadAcrossMachines: one load per key for two machines: B waits for
// A's leader; A's result reaches B's waiter; A's error reaches B's waiter
// too (it does not call the origin again); a leader whose lock was taken
// over after its lease is refused (fencing).
func TestLoadAcrossMachines(t *testing.T) {
	srv := redistest.Start(t)
	a := open(t, srv, "loads", 300*time.Millisecond)
	b := open(t, srv, "loads", 300*time.Millisecond)
	ctx := context.Background()

	if _, have, lead, err := a.BeginLoad(ctx, "v", 1, nil); err != nil || have || !lead {
		t.Fatalf("A's first BeginLoad: have %v lead %v err %v; want lead", have, lead, err)
	}
	done, ch := waiter()
	if _, have, lead, err := b.BeginLoad(ctx, "v", 1, done); err != nil || have || lead {
		t.Fatalf("B's BeginLoad while A leads: have %v lead %v err %v; want a wait", have, lead, err)
	}
	rev, err := a.FinishLoad(ctx, "v", 1, []byte("loaded"), time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := waitLoad(t, ch, "B's waiter"); w.err != nil || string(w.e.Value) != "loaded" || w.e.Rev != rev {
		t.Fatalf("B's waiter got %q rev %d err %v; want %q rev %d", w.e.Value, w.e.Rev, w.err, "loaded", rev)
	}

	if _, _, lead, err := a.BeginLoad(ctx, "e", 1, nil); err != nil || !lead {
		t.Fatalf("A's BeginLoad of e: lead %v err %v", lead, err)
	}
	done, ch = waiter()
	if _, _, lead, err := b.BeginLoad(ctx, "e", 1, done); err != nil || lead {
		t.Fatalf("B's BeginLoad of e: lead %v err %v", lead, err)
	}
	if _, err := a.FinishLoad(ctx, "e", 1, nil, time.Time{}, errors.New("origin down")); err == nil {
		t.Fatal("FinishLoad with an error returned none")
	}
	if w := waitLoad(t, ch, "B's waiter of a failed load"); w.err == nil || w.err.Error() != "origin down" {
		t.Fatalf("B's waiter of a failed load got %v; want the leader's error %q", w.err, "origin down")
	}

	// Fencing: A leads, stops renewing (its lease is 300 ms); B takes over.
	if _, _, lead, err := a.BeginLoad(ctx, "f", 1, nil); err != nil || !lead {
		t.Fatalf("A's BeginLoad of f: lead %v err %v", lead, err)
	}
	srv.Command("DEL", "{loads}:lock:f") // as if A paused past its lease and the lock expired
	if _, _, lead, err := b.BeginLoad(ctx, "f", 2, nil); err != nil || !lead {
		t.Fatalf("B's BeginLoad of f once A's lock is gone: lead %v err %v; want lead", lead, err)
	}
	if _, err := a.FinishLoad(ctx, "f", 1, []byte("late"), time.Time{}, nil); !errors.Is(err, kv.ErrLoadAborted) {
		t.Fatalf("A's late FinishLoad: %v; want kv.ErrLoadAborted", err)
	}
	if _, err := b.FinishLoad(ctx, "f", 2, []byte("fresh"), time.Time{}, nil); err != nil {
		t.Fatalf("B's FinishLoad: %v", err)
	}
	if got := srv.Command("GET", "{loads}:k:f"); !strings.HasSuffix(got, " fresh") {
		t.Fatalf("stored f is %q; want B's value", got)
	}
}
