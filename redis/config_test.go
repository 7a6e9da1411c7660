package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/kv"
	"github.com/gocluster/cluster/redis"
)

// TestBadConfig: a Config that cannot work fails New with ErrConfig and a
// message that says what to change; an unreachable server fails it with
// ErrUnavailable, at once, and so does cluster.New with it as its Store.
func TestBadConfig(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		cfg  redis.Config
		want string
	}{
		{redis.Config{}, "set Config.Addrs or Config.URL"},
		{redis.Config{URL: "http://127.0.0.1:6379"}, "redis: bad config"},
		{redis.Config{Addrs: []string{"127.0.0.1:6379"}, Name: "a b"}, `store name "a b"`},
	} {
		_, err := redis.New(ctx, tt.cfg, kv.Limits{})
		if !errors.Is(err, redis.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v): %v; want ErrConfig saying %q", tt.cfg, err, tt.want)
		}
	}
	if _, err := redis.ParseURL("nope://x"); err == nil {
		t.Error("ParseURL of a nope:// URL: no error")
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	cfg := redis.Config{Addrs: []string{addr}, DialTimeout: time.Second}
	start := time.Now()
	_, err = redis.New(ctx, cfg, kv.Limits{})
	if !errors.Is(err, redis.ErrUnavailable) || !errors.Is(err, kv.ErrUnavailable) {
		t.Errorf("New against %s, where nothing listens: %v; want ErrUnavailable", addr, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("New against a closed port took %v", d)
	}
	if cluster.IsPrimary() {
		_, err = cluster.New(cluster.Config{Store: redis.Store(cfg)})
		if !errors.Is(err, redis.ErrUnavailable) || !strings.Contains(err.Error(), "Config.Store") {
			t.Errorf("cluster.New with the Store of an unreachable server: %v; want ErrUnavailable naming Config.Store", err)
		}
	}
}

// ExampleStore puts a cluster's shared state in Redis: each machine runs
// this program; the store named "shop" is shared by all of them.
func ExampleStore() {
	if !cluster.IsPrimary() {
		return // a worker: cluster.Store(ctx) reads its replica, as with the embedded store
	}
	rc, err := redis.ParseURL("redis://127.0.0.1:6379/0")
	if err != nil {
		fmt.Println(err)
		return
	}
	rc.Name = "shop"
	p, err := cluster.New(cluster.Config{Workers: 2, Store: redis.Store(rc)})
	if err != nil {
		return // Redis cannot be reached: the error says so (redis.ErrUnavailable)
	}
	_ = p.Run(context.Background())
}
