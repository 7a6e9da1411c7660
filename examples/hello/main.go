// Command hello is a clustered HTTP server: the primary listens on :8000 and
// hands every request to one of its workers over IPC, round-robin; the
// worker that served it answers.
//
//	go run ./examples/hello            # one worker per CPU
//	go run ./examples/hello -n 4 -addr 127.0.0.1:9000
//	curl localhost:8000/               # "hello from worker 2 (pid 1234)"
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/gocluster/cluster"
)

func main() {
	addr := flag.String("addr", ":8000", "address to serve HTTP on")
	n := flag.Int("n", 0, "workers (0: one per CPU)")
	flag.Parse()
	if cluster.IsPrimary() {
		if err := primary(*addr, *n); err != nil {
			log.Fatal(err)
		}
		return
	}
	worker()
}

func primary(addr string, n int) error {
	p, err := cluster.New(cluster.Config{Workers: n})
	if err != nil {
		return err
	}
	go func() {
		for e := range p.Events(context.Background()) {
			log.Printf("primary: %v", e)
		}
	}()
	var next atomic.Uint64
	srv := &http.Server{Addr: addr, ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			ws := p.Workers()
			if len(ws) == 0 {
				http.Error(w, "no workers", http.StatusServiceUnavailable)
				return
			}
			wk := ws[next.Add(1)%uint64(len(ws))]
			reply, err := wk.Request(r.Context(), []byte(r.URL.Path))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			w.Write(reply)
		})}
	go func() {
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			log.Printf("primary: %v", err)
		}
	}()
	log.Printf("primary %d: serving on %s", os.Getpid(), addr)
	err = p.Run(context.Background()) // until SIGINT or SIGTERM
	srv.Close()
	return err
}

func worker() {
	cluster.Ready()
	msgs := cluster.Messages()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return
			}
			m.Reply([]byte(fmt.Sprintf("hello from worker %d (pid %d), path %s\n", cluster.ID(), os.Getpid(), m.Data)))
		case <-cluster.Shutdown():
			return
		}
	}
}
