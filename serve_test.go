//go:build unix

package cluster_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/cluster"
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
		fmt.Fprintf(w, "worker %d", cluster.ID())
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
	tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	var failures, total atomic.Int64
	var mu sync.Mutex
	var afterDrain []string
	var drained atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	deadline := time.Now().Add(20 * time.Second) // every loop is bounded
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 100000 && time.Now().Before(deadline); n++ {
				select {
				case <-stop:
					return
				default:
				}
				// A POST whose body cannot be replayed: the transport does
				// not retry it, so every failure is counted.
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", io.NopCloser(strings.NewReader("x")))
				after := drained.Load()
				resp, err := client.Do(req)
				total.Add(1)
				if err != nil {
					failures.Add(1)
					t.Logf("request failed: %v", err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
					continue
				}
				if after {
					mu.Lock()
					afterDrain = append(afterDrain, string(body))
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	if err := ws[0].Disconnect(context.Background()); err != nil {
		t.Fatalf("draining worker %d: %v", ws[0].ID(), err)
	}
	drained.Store(true)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during the drain", n, total.Load())
	}
	if len(afterDrain) == 0 {
		t.Fatal("no request completed after the drain")
	}
	for _, b := range afterDrain {
		if b != fmt.Sprintf("worker %d", ws[1].ID()) {
			t.Fatalf("after the drain %q answered", b)
		}
	}
	if e := tc.event(cluster.EventExit, ws[0]); e.ExitCode != 0 {
		t.Fatalf("drained worker exited %d", e.ExitCode)
	}
	t.Logf("%d requests, none failed", total.Load())
}
