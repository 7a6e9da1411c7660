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
// With -redis redis://host:port the sessions live in Redis: run two copies
// on two ports (two machines) and a login on one is known on the other.
//
// A login is seen at once by every worker: a worker that does not find a
// session waits for the store (kv.KV.Sync) before it answers 401. A logout
// is seen at once by the worker that made it, and by the others as soon as
// the change reaches them (microseconds later).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/redis"
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
	if err := worker(*addr); err != nil {
		log.Fatalf("worker %d: %v", cluster.ID(), err)
	}
}

// primary runs the cluster until SIGINT or SIGTERM, logging every event,
// and returns the exit code.
func primary(workers int, redisURL string) int {
	if workers < 0 {
		fmt.Fprintln(os.Stderr, "-workers must be 0 or more")
		return 2
	}
	cfg := cluster.Config{Workers: workers}
	if redisURL != "" { // the sessions live in Redis, shared by every machine
		rc, err := redis.ParseURL(redisURL)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		cfg.Store = redis.Store(rc)
	}
	p, err := cluster.New(cfg) // with -redis: fails if Redis cannot be reached
	if err != nil {
		log.Print(err)
		return 1
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
func worker(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	store, err := cluster.Store(ctx) // a replica: the primary's store, or Redis's
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
