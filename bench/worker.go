package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gocluster/cluster"
)

// Environment of the processes the bench starts.
const (
	envBenchMode = "BENCH_MODE" // worker: "http" serves HTTP; else the IPC peer
	envBenchAddr = "BENCH_ADDR" // address to serve HTTP on
	envSingle    = "BENCH_SINGLE_HTTP"
)

func isBenchWorker() bool { return cluster.IsWorker() || os.Getenv(envSingle) != "" }

func benchWorker() {
	if os.Getenv(envSingle) != "" || os.Getenv(envBenchMode) == "http" {
		httpWorker()
		return
	}
	if os.Getenv(envBenchMode) == "state" {
		stateWorker()
		return
	}
	ipcWorker()
}

// ipcWorker counts one-way messages, answers "end" with the count, and
// echoes every other request.
func ipcWorker() {
	cluster.Ready()
	count := 0
	done := make(chan struct{})
	cluster.Handle(func(m *cluster.Message) {
		switch {
		case !m.IsRequest():
			count++
		case string(m.Data) == "end":
			m.Reply(strconv.AppendInt(nil, int64(count), 10))
			count = 0
		default:
			m.Reply(m.Data)
		}
	})
	<-done
}

// httpWorker serves hello world on the shared address and answers "stats"
// with "connections requests" since the last stats (then resets them).
func httpWorker() {
	var conns, reqs atomic.Int64
	ln, err := cluster.Listen("tcp", os.Getenv(envBenchAddr))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench worker:", err)
		os.Exit(1)
	}
	body := []byte(fmt.Sprintf("hello from worker %d\n", cluster.ID()))
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			reqs.Add(1)
			w.Header().Set("Content-Type", "text/plain")
			w.Write(body)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	cluster.Handle(func(m *cluster.Message) {
		if m.IsRequest() && string(m.Data) == "stats" {
			m.Reply([]byte(fmt.Sprintf("%d %d", conns.Swap(0), reqs.Swap(0))))
		}
	})
	cluster.Ready()
	srv.Serve(ln)
}
