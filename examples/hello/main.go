// Command hello is a clustered HTTP server: N workers serve one port, the
// primary owns the listening socket and hands out connections, and every
// reply names the worker that served it.
//
//	go run ./examples/hello                         # :8000, one worker per CPU
//	go run ./examples/hello -n 4 -addr 127.0.0.1:9000 -policy shared
//	curl localhost:8000/          # "hello from worker 2 (pid 1234, generation 1)"
//	kill -HUP <primary pid>       # rolling reload: generation 2, no request lost
//	gocluster status              # from the same directory: its workers (control socket)
//	gocluster reload              # the same reload, through the control socket
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
	"github.com/gocluster/cluster/control"
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
	// The control socket: gocluster status, top, scale, reload, stop, send,
	// kv from the same directory reach this cluster.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	if ctl, err := control.Listen(p, control.Options{Name: "hello", Stop: stop}); err != nil {
		log.Printf("primary %d: no control socket: %v", os.Getpid(), err) // say, another hello runs from here
		served <- nil
	} else {
		go func() { served <- ctl.Serve(ctx) }()
		log.Printf("primary %d: control socket %s", os.Getpid(), ctl.Path())
	}
	log.Printf("primary %d: starting workers", os.Getpid())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }() // until SIGINT, SIGTERM or gocluster stop; SIGHUP reloads
	for e := range events {
		log.Printf("primary: %v", e)
	}
	err = <-done
	stop()
	<-served
	return err
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
