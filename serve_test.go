//go:build unix

package cluster_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/internal/clustertest"
)

// httpServeWorker answers "worker ID" over HTTP with cluster.Serve.
func httpServeWorker() int {
	ln, err := cluster.Listen("tcp", os.Getenv(envAddr))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 5
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "worker %d gen %d", cluster.ID(), cluster.Generation())
	})}
	cluster.Ready()
	if err := cluster.Serve(srv, ln); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		return 6
	}
	return 0
}

// TestDrainUnderLoadFailsNoRequest: 16 keep-alive clients that never retry
// keep requests going while one of two workers is drained; not one request
// fails, and after the drain only the other worker answers.
func TestDrainUnderLoadFailsNoRequest(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 2, Settings: cluster.Settings{Env: append(env("httpserve"), envAddr+"=127.0.0.1:0")}})
	ws := tc.ready(2)
	addr := tc.event(cluster.EventListening, ws[0]).Addr.String()
	var mu sync.Mutex
	var afterDrain []string
	var drained atomic.Bool
	load := clustertest.StartHTTPLoad(t, addr, 16, 20*time.Second, func() int64 {
		if drained.Load() {
			return 1
		}
		return 0
	}, func(after int64, body string) {
		if after == 1 {
			mu.Lock()
			afterDrain = append(afterDrain, body)
			mu.Unlock()
		}
	})
	time.Sleep(300 * time.Millisecond)
	if err := ws[0].Disconnect(context.Background()); err != nil {
		t.Fatalf("draining worker %d: %v", ws[0].ID(), err)
	}
	drained.Store(true)
	time.Sleep(300 * time.Millisecond)
	total := load.Finish("during the drain")
	if len(afterDrain) == 0 {
		t.Fatal("no request completed after the drain")
	}
	for _, b := range afterDrain {
		if b != fmt.Sprintf("worker %d gen 1", ws[1].ID()) {
			t.Fatalf("after the drain %q answered", b)
		}
	}
	if e := tc.event(cluster.EventExit, ws[0]); e.ExitCode != 0 {
		t.Fatalf("drained worker exited %d", e.ExitCode)
	}
	t.Logf("%d requests, none failed", total)
}
