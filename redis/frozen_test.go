//go:build unix

package redis_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/redistest"
	"github.com/gocluster/cluster/kv"
	"github.com/gocluster/cluster/redis"
)

// TestFrozenServer: a server that stops answering (SIGSTOP) fails writes
// with ErrUnavailable well before their context ends, and the backend
// follows the store again once it answers.
func TestFrozenServer(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	b, err := redis.New(ctx, redis.Config{Addrs: []string{srv.Addr()}, Name: "frozen", DialTimeout: time.Second}, kv.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	store := kv.New(b)
	if _, err := store.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(srv.PID(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			syscall.Kill(srv.PID(), syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = store.Put(wctx, "k", []byte("w"))
	if !errors.Is(err, redis.ErrUnavailable) {
		t.Fatalf("Put while the server is frozen: %v; want ErrUnavailable before the context's 30 s", err)
	}
	if e, ok := store.Get("k"); !ok || string(e.Value) != "v" {
		t.Fatalf("Get while the server is frozen: %q %v; want the last content", e.Value, ok)
	}
	resume()
	var last error
	for i := 0; i < 200; i++ { // bounded: the server answers again within moments
		if _, last = store.Put(ctx, "k", []byte("x")); last == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("Put after the server resumed: %v", last)
	}
	if e, _ := store.Get("k"); string(e.Value) != "x" {
		t.Fatalf("after the server resumed, k is %q; want x", e.Value)
	}
}
