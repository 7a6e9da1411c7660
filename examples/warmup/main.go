// Command warmup is seed 001's deploy problem, solved: every worker of
// every machine needs the same cache at start, loaded from a slow origin.
// Loaded by each worker on its own, a deploy of 10 machines with 16 workers
// each calls the origin 160 times at once; with [kv.KV.Load] the whole
// cluster calls it once and every other worker waits for that value.
//
//	go run ./examples/warmup                          # one machine, the embedded store
//	go run ./examples/warmup -redis redis://127.0.0.1:6379 -addr 127.0.0.1:8081
//	go run ./examples/warmup -redis redis://127.0.0.1:6379 -addr 127.0.0.1:8082  # a second "machine"
//	curl 127.0.0.1:8081/       # the cached value, the same in every worker of every machine
//
// Each worker, at start, loads "cache/config" with store.Load; the origin
// sleeps -delay and counts its calls in the shared state (a counter
// updated with compare-and-set, so the count covers every machine of a
// Redis store). Once this machine's workers are all ready, its primary
// prints "origin loads: N (workers: W)": N is the origin's calls so far
// for the store, from every machine (1 on a cold start, however many
// machines and workers).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/kv"
	"github.com/gocluster/cluster/redis"
)

const (
	cacheKey = "cache/config" // the cache every worker needs
	cacheTTL = 10 * time.Minute
	// loadsKey (in the map under "warmup/") counts the origin's calls.
	loadsKey = "origin-loads"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to serve HTTP on")
	redisURL := flag.String("redis", "", "redis:// URL of the store every machine shares (default: the embedded store, this machine only)")
	workers := flag.Int("workers", 4, "workers on this machine")
	delay := flag.Duration("delay", 200*time.Millisecond, "the origin's latency")
	flag.Parse()
	if cluster.IsPrimary() {
		if err := primary(*workers, *redisURL); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := worker(*addr, *delay); err != nil {
		log.Fatal(err)
	}
}

func primary(workers int, redisURL string) error {
	cfg := cluster.Config{Workers: workers}
	if redisURL != "" {
		rc, err := redis.ParseURL(redisURL)
		if err != nil {
			return err
		}
		cfg.Store = redis.Store(rc)
	}
	p, err := cluster.New(cfg)
	if err != nil {
		return err
	}
	events := p.Events(context.Background()) // before Run: every event
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }() // until SIGINT or SIGTERM
	ready := 0
	for e := range events {
		switch e.Type {
		case cluster.EventReady:
			if ready++; ready == workers {
				report(p, workers)
			}
		case cluster.EventExit, cluster.EventError:
			log.Printf("primary: %v", e)
		}
	}
	return <-done
}

// report prints how many times the origin was called, on every machine.
func report(p *cluster.Primary, workers int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Sync: the count includes every write another machine made before.
	if err := p.Store().Sync(ctx); err != nil {
		log.Printf("primary: %v", err)
	}
	n, err := kv.NewMap[int](p.Store(), "warmup/").Get(loadsKey)
	if err != nil {
		log.Printf("primary: %v", err)
	}
	fmt.Printf("origin loads: %d (workers: %d)\n", n, workers)
}

func worker(addr string, delay time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := cluster.Store(ctx)
	if err != nil {
		return err
	}
	loads := kv.NewMap[int](store, "warmup/")
	origin := func(ctx context.Context) ([]byte, error) {
		log.Printf("worker %d: calling the origin (%v)", cluster.ID(), delay)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if _, err := loads.Update(ctx, loadsKey, func(n int, _ bool) (int, error) { return n + 1, nil }); err != nil {
			return nil, err
		}
		host, _ := os.Hostname()
		return fmt.Appendf(nil, "config loaded by worker %d (pid %d on %s) at %s",
			cluster.ID(), os.Getpid(), host, time.Now().Format(time.RFC3339Nano)), nil
	}
	loaded, err := store.Load(ctx, cacheKey, cacheTTL, origin)
	if err != nil {
		return err
	}
	ln, err := cluster.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			e, ok := store.Get(cacheKey) // the current value: a reload elsewhere shows here
			if !ok {
				e = loaded
			}
			fmt.Fprintf(w, "%s\n", e.Value)
		})}
	cluster.Ready()
	return cluster.Serve(srv, ln) // until told to drain
}
