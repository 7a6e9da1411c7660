package redis_test

import (
	"context"
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
