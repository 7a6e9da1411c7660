// Command hello is a clustered HTTP server: N workers serve one port, the
// primary owns the listening socket and hands out connections, and every
// reply names the worker that served it.
//
//	go run ./examples/hello                         # :8000, one worker per CPU
//	go run ./examples/hello -n 4 -addr 127.0.0.1:9000 -policy shared
//	curl localhost:8000/          # "hello from worker 2 (pid 1234, generation 1)"
//	kill -HUP <primary pid>       # rolling reload: generation 2, no request lost
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
)

func main() {
	addr := flag.String("addr", ":8000", "address to serve HTTP on")
	n := flag.Int("n", 0, "workers (0: one per CPU)")
	policy := flag.String("policy", "", "how workers share the port: round-robin (default), shared or reuseport")
	flag.Parse()
	if cluster.IsPrimary() {
		if err := primary(*n, *policy); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := worker(*addr); err != nil {
		log.Fatal(err)
	}
}

func primary(n int, policy string) error {
	cfg := cluster.Config{Workers: n}
	switch policy {
	case "", "round-robin":
	case "shared":
		cfg.Policy = cluster.Shared
	case "reuseport":
		cfg.Policy = cluster.ReusePort
	default:
		return fmt.Errorf("unknown policy %q", policy)
	}
	p, err := cluster.New(cfg)
	if err != nil {
		return err
	}
	// Subscribe before Run: the channel then gets every event from setup
	// on, and is closed after the last exit, when Run has returned.
	events := p.Events(context.Background())
	log.Printf("primary %d: starting workers", os.Getpid())
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }() // until SIGINT or SIGTERM; SIGHUP reloads
	for e := range events {
		log.Printf("primary: %v", e)
	}
	return <-done
}

func worker(addr string) error {
	ln, err := cluster.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from worker %d (pid %d, generation %d)\n", cluster.ID(), os.Getpid(), cluster.Generation())
		})}
	cluster.Ready()
	return cluster.Serve(srv, ln) // until told to drain; drains without failing a request
}
