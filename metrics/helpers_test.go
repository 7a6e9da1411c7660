//go:build unix

package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/metrics"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// testCluster is a primary with a metrics collector served over HTTP on
// 127.0.0.1, running until the test ends.
type testCluster struct {
	t   *testing.T
	p   *cluster.Primary
	c   *metrics.Collector
	url string

	mu     sync.Mutex
	forked []*cluster.Worker
}

// startCluster runs a primary with n workers and a collector with opts;
// cleanup stops both, checks that their Run returned nil and that no worker
// is left alive.
func startCluster(t *testing.T, n int, opts metrics.Options) *testCluster {
	t.Helper()
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := cluster.New(cluster.Config{Workers: n, NoSignals: true, Logger: logger,
		DrainTimeout: 3 * time.Second, KillTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("cluster.New: %v", err)
	}
	opts.Logger = logger
	c, err := metrics.New(p, opts)
	if err != nil {
		t.Fatalf("metrics.New: %v", err)
	}
	tc := &testCluster{t: t, p: p, c: c}
	events := p.Events(context.Background())
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		for e := range events {
			if e.Type == cluster.EventFork {
				tc.mu.Lock()
				tc.forked = append(tc.forked, e.Worker)
				tc.mu.Unlock()
			}
		}
	}()
	srv := httptest.NewServer(c.Handler())
	tc.url = srv.URL
	ctx, cancel := context.WithCancel(context.Background())
	collected, ran := make(chan error, 1), make(chan error, 1)
	go func() { collected <- c.Run(ctx) }()
	go func() { ran <- p.Run(ctx) }()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		for what, ch := range map[string]chan error{"cluster": ran, "collector": collected} {
			select {
			case err := <-ch:
				if err != nil {
					t.Errorf("%s Run: %v", what, err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("%s Run did not return 30 s after its context ended", what)
			}
		}
		<-recorded
		for _, w := range tc.forked {
			if !w.IsDead() {
				t.Errorf("worker %d still alive after Run returned", w.ID())
				w.Process().Kill()
			}
		}
	})
	return tc
}

// scrape gets the metrics over HTTP and parses them.
func (tc *testCluster) scrape() map[string]*dto.MetricFamily {
	tc.t.Helper()
	resp, err := http.Get(tc.url)
	if err != nil {
		tc.t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		tc.t.Fatalf("scrape: %s: %s", resp.Status, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		tc.t.Fatalf("parse the scrape: %v", err)
	}
	return mfs
}

// scrapeUntil scrapes until ok accepts the result, for at most 15 s.
func (tc *testCluster) scrapeUntil(what string, ok func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	tc.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		mfs := tc.scrape()
		if ok(mfs) {
			return mfs
		}
		if time.Now().After(deadline) {
			tc.t.Fatalf("no scrape with %s within 15 s; last:\n%s", what, dump(mfs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// worker waits for the live worker that match accepts and is ready.
func (tc *testCluster) worker(what string, match func(*cluster.Worker) bool) *cluster.Worker {
	tc.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, w := range tc.p.Workers() {
			if w.IsReady() && match(w) {
				return w
			}
		}
		if time.Now().After(deadline) {
			tc.t.Fatalf("no ready %s within 15 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// value returns the value of the series of family name whose labels
// include every pair of want (name, value, name, value...), and whether
// there is one: a counter's or gauge's value, a histogram's or summary's
// count.
func value(mfs map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	for _, m := range mfs[name].GetMetric() {
		if hasLabels(m, want...) {
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			case m.Summary != nil:
				return float64(m.Summary.GetSampleCount()), true
			case m.Untyped != nil:
				return m.Untyped.GetValue(), true
			}
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, want ...string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == want[i] && l.GetValue() == want[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// sum adds the counter values of every series of family name.
func sum(mfs map[string]*dto.MetricFamily, name string) float64 {
	var s float64
	for _, m := range mfs[name].GetMetric() {
		s += m.GetCounter().GetValue()
	}
	return s
}

// dump writes families in the text format, for failure messages.
func dump(mfs map[string]*dto.MetricFamily) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(mfs)) {
		expfmt.MetricFamilyToText(&b, mfs[name])
	}
	return b.String()
}
