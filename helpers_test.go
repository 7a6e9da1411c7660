//go:build unix

package cluster_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

// testCluster is a primary running in the test process, with every event
// it emitted recorded.
type testCluster struct {
	t *testing.T
	p *cluster.Primary

	mu     sync.Mutex
	events []cluster.Event
	closed bool
}

// startCluster runs a primary with cfg (NoSignals, short timeouts unless
// set) until the test ends; cleanup stops it and checks that Run returned
// and that no worker it forked is still alive.
func startCluster(t *testing.T, cfg cluster.Config) *testCluster {
	t.Helper()
	return startClusterSignals(t, cfg, false)
}

// startClusterSignals is startCluster, with the primary handling signals
// (SIGINT, SIGTERM, SIGHUP sent to the test process) if signals is set.
func startClusterSignals(t *testing.T, cfg cluster.Config, signals bool) *testCluster {
	t.Helper()
	return startClusterSetup(t, cfg, signals, nil)
}

// startClusterWith is startCluster, calling setup with the primary before
// Run starts (to set a Handle, say).
func startClusterWith(t *testing.T, cfg cluster.Config, setup func(*cluster.Primary)) *testCluster {
	t.Helper()
	return startClusterSetup(t, cfg, false, setup)
}

func startClusterSetup(t *testing.T, cfg cluster.Config, signals bool, setup func(*cluster.Primary)) *testCluster {
	t.Helper()
	cfg.NoSignals = !signals
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 3 * time.Second
	}
	if cfg.KillTimeout == 0 {
		cfg.KillTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		var out io.Writer = io.Discard
		if testing.Verbose() {
			out = os.Stderr
		}
		cfg.Logger = slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := cluster.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tc := &testCluster{t: t, p: p}
	ctx, cancel := context.WithCancel(context.Background())
	events := p.Events(context.Background())
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		for e := range events {
			tc.mu.Lock()
			tc.events = append(tc.events, e)
			tc.mu.Unlock()
		}
		tc.mu.Lock()
		tc.closed = true
		tc.mu.Unlock()
	}()
	if setup != nil {
		setup(p)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return 30 s after its context ended")
		}
		<-recorded
		for _, e := range tc.all() {
			if e.Worker != nil && !e.Worker.IsDead() {
				t.Errorf("worker %d still alive after Run returned", e.Worker.ID())
				e.Worker.Process().Kill()
			}
		}
	})
	return tc
}

func (tc *testCluster) all() []cluster.Event {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return append([]cluster.Event(nil), tc.events...)
}

// waitFor returns the first recorded event (from the start) that match
// accepts, waiting up to timeout.
func (tc *testCluster) waitFor(timeout time.Duration, what string, match func(cluster.Event) bool) cluster.Event {
	tc.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, e := range tc.all() {
			if match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			tc.t.Fatalf("no %s event within %v; events: %v", what, timeout, tc.all())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// event waits for an event of type typ about worker w (any worker if nil).
func (tc *testCluster) event(typ cluster.EventType, w *cluster.Worker) cluster.Event {
	tc.t.Helper()
	return tc.waitFor(10*time.Second, typ.String(), func(e cluster.Event) bool {
		return e.Type == typ && (w == nil || e.Worker == w)
	})
}

// ready waits until n workers have called Ready and returns the live
// workers that did, by id.
func (tc *testCluster) ready(n int) []*cluster.Worker {
	tc.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ws []*cluster.Worker
		for _, w := range tc.p.Workers() {
			if w.IsReady() {
				ws = append(ws, w)
			}
		}
		if len(ws) >= n {
			return ws
		}
		if time.Now().After(deadline) {
			tc.t.Fatalf("%d of %d workers ready after 15 s; events: %v", len(ws), n, tc.all())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ask sends a request to w and returns the reply as a string.
func ask(t *testing.T, w *cluster.Worker, req string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := w.Request(ctx, []byte(req))
	if err != nil {
		t.Fatalf("request %.40q to worker %d: %v", req, w.ID(), err)
	}
	return string(rep)
}

// types lists the types of the events about worker w, in order.
func (tc *testCluster) types(w *cluster.Worker) []cluster.EventType {
	var ts []cluster.EventType
	for _, e := range tc.all() {
		if e.Worker == w {
			ts = append(ts, e.Type)
		}
	}
	return ts
}

// safeBuffer is a bytes.Buffer for concurrent writers.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(mode string) []string { return []string{envMode + "=" + mode} }

// onlyForked checks that no worker was started to replace one that
// stopped on purpose: it forks one more worker, which goes through the
// supervisor after the exit was handled (a replacement would be listed by
// then), and expects it to be the only one.
func (tc *testCluster) onlyForked(what string) {
	tc.t.Helper()
	extra, err := tc.p.Fork()
	if err != nil {
		tc.t.Fatal(err)
	}
	if ws := tc.p.Workers(); len(ws) != 1 || ws[0] != extra {
		tc.t.Fatalf("%s was replaced: workers %v besides the one forked", what, ws)
	}
}

// askAll sends req to every worker of ws at once and returns their replies
// in the order of ws (failing the test, on its own goroutine, if any
// request fails).
func askAll(t *testing.T, ws []*cluster.Worker, req string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	outs := make([]string, len(ws))
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := w.Request(ctx, []byte(req))
			outs[i], errs[i] = string(rep), err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %.40q to worker %d: %v", req, ws[i].ID(), err)
		}
	}
	return outs
}
