// Command sessions is an HTTP server in a cluster whose logins live in the
// cluster's shared state: scs sessions in a session.SCSStore. Log in on one
// worker and every worker knows you; each answer names its worker in the
// X-Worker header.
//
//	go run ./examples/sessions                    # 127.0.0.1:8080, 2 workers
//	curl -c jar -d user=ada localhost:8080/login  # hello ada
//	curl -b jar localhost:8080/whoami             # ada, from either worker
//	curl -b jar -X POST localhost:8080/logout     # bye
//
// The endpoints, which a benchmark and a Node peer use as they are:
//
//	POST /login, form field user  200 "hello NAME\n", and the session cookie
//	GET /whoami                   200 "NAME\n" when logged in, 401 "who are you?\n" otherwise
//	POST /logout                  200 "bye\n": the session is destroyed
//
// A login is seen at once by every worker: a worker that does not find a
// session waits for the store (kv.KV.Sync) before it answers 401. A logout
// is seen at once by the worker that made it, and by the others as soon as
// the change reaches them (microseconds later).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/kv"
	"github.com/gocluster/cluster/session"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve HTTP on")
	workers := flag.Int("workers", 2, "worker processes (0: one per CPU)")
	redisURL := flag.String("redis", "", "redis:// URL of a store shared by several machines")
	flag.Parse()
	if cluster.IsPrimary() {
		os.Exit(primary(*workers, *redisURL))
	}
	if err := worker(*addr, *redisURL); err != nil {
		log.Fatalf("worker %d: %v", cluster.ID(), err)
	}
}

// errNeedsRedis is openStore's error for -redis until package redis exists.
var errNeedsRedis = errors.New("-redis needs package redis")

// openStore is where the -redis flag goes: it returns the store the
// sessions live in, in the primary (p) before any worker starts, and in
// each worker (p nil).
//
// Without -redis the store is the cluster's shared state: the primary's
// memory (p.Store()), each worker's replica of it (cluster.Store).
//
// TODO(redis): with -redis, the store is to be the one package redis
// gives for redisURL, so that several machines share the sessions. Until
// it exists openStore fails with errNeedsRedis, and main exits with 2.
func openStore(ctx context.Context, redisURL string, p *cluster.Primary) (*kv.KV, error) {
	if redisURL != "" {
		return nil, errNeedsRedis
	}
	if p != nil {
		return p.Store(), nil
	}
	return cluster.Store(ctx)
}

// primary runs the cluster until SIGINT or SIGTERM, logging every event,
// and returns the exit code.
func primary(workers int, redisURL string) int {
	if workers < 0 {
		fmt.Fprintln(os.Stderr, "-workers must be 0 or more")
		return 2
	}
	p, err := cluster.New(cluster.Config{Workers: workers})
	if err != nil {
		log.Print(err)
		return 1
	}
	if _, err := openStore(context.Background(), redisURL, p); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	events := p.Events(context.Background()) // before Run: every event
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	for e := range events { // closed after the last exit, once Run has returned
		log.Printf("primary: %v", e)
	}
	if err := <-done; err != nil {
		log.Print(err)
		return 1
	}
	return 0
}

// worker serves the endpoints on addr until told to drain.
func worker(addr, redisURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	store, err := openStore(ctx, redisURL, nil)
	cancel()
	if err != nil {
		return err
	}
	sm := scs.New()
	sm.Store = session.NewSCSStore(store, "")
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		log.Printf("worker %d: %s %s: %v", cluster.ID(), r.Method, r.URL.Path, err)
		http.Error(w, "session store unavailable", http.StatusInternalServerError)
	}
	ln, err := cluster.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: routes(sm), ReadHeaderTimeout: 5 * time.Second}
	cluster.Ready()
	return cluster.Serve(srv, ln) // drains without failing a request
}
