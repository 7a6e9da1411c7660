//go:build unix

package metrics_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/metrics"
	dto "github.com/prometheus/client_model/go"
)

// hasWorkers returns a scrape condition: app_requests_total has a series
// for each of ids and none for each of gone.
func hasWorkers(ids []int, gone ...int) func(map[string]*dto.MetricFamily) bool {
	return func(mfs map[string]*dto.MetricFamily) bool {
		for _, id := range ids {
			if _, ok := value(mfs, "app_requests_total", "worker", strconv.Itoa(id)); !ok {
				return false
			}
		}
		for _, id := range gone {
			if _, ok := value(mfs, "app_requests_total", "worker", strconv.Itoa(id)); ok {
				return false
			}
		}
		return true
	}
}

// A worker killed by SIGKILL keeps its counts in the sum: they move to
// worker="exited", its gauges go, and its replacement adds its own.
func TestKilledWorkerKeepsItsCounts(t *testing.T) {
	tc := startCluster(t, 2, metrics.Options{})
	ws := []*cluster.Worker{tc.worker("worker 1", func(w *cluster.Worker) bool { return w.ID() == 1 }),
		tc.worker("worker 2", func(w *cluster.Worker) bool { return w.ID() == 2 })}
	mfs := tc.scrapeUntil("workers 1 and 2, their forks counted", func(mfs map[string]*dto.MetricFamily) bool {
		forks, _ := value(mfs, "gocluster_forks_total")
		return hasWorkers([]int{1, 2})(mfs) && forks >= 2
	})
	for _, w := range ws {
		id := strconv.Itoa(w.ID())
		gen := strconv.Itoa(w.Generation())
		if v, _ := value(mfs, "app_requests_total", "worker", id, "generation", gen, "code", "200"); v != amount(w.ID()) {
			t.Errorf("worker %s: app_requests_total = %v, want %v", id, v, amount(w.ID()))
		}
		if v, _ := value(mfs, "app_inflight", "worker", id); v != inflight {
			t.Errorf("worker %s: app_inflight = %v, want %v", id, v, inflight)
		}
	}
	before := sum(mfs, "app_requests_total")
	if want := amount(1) + amount(2); before != want {
		t.Fatalf("sum before the kill = %v, want %v:\n%s", before, want, dump(mfs))
	}
	if v, _ := value(mfs, "gocluster_workers", "state", "ready"); v != 2 {
		t.Errorf("gocluster_workers{state=ready} = %v, want 2", v)
	}
	if v, _ := value(mfs, "gocluster_forks_total"); v != 2 {
		t.Errorf("gocluster_forks_total = %v, want 2", v)
	}
	restarts, _ := value(mfs, "gocluster_worker_restarts_total")

	if err := ws[0].Process().Kill(); err != nil {
		t.Fatal(err)
	}
	repl := tc.worker("replacement", func(w *cluster.Worker) bool { return w.Restarts() > 0 })
	// The events are counted as they come, beside the series: wait for both.
	mfs = tc.scrapeUntil("the replacement, not worker 1, the exit counted", func(mfs map[string]*dto.MetricFamily) bool {
		exits, _ := value(mfs, "gocluster_worker_exits_total", "cause", "signal")
		restarted, _ := value(mfs, "gocluster_worker_restarts_total")
		return hasWorkers([]int{2, repl.ID()}, 1)(mfs) && exits > 0 && restarted > restarts
	})

	if v, _ := value(mfs, "app_requests_total", "worker", metrics.ExitedWorker, "code", "200"); v != amount(1) {
		t.Errorf(`app_requests_total{worker="exited"} = %v, want %v`, v, amount(1))
	}
	if after, want := sum(mfs, "app_requests_total"), before+amount(repl.ID()); after < want {
		t.Errorf("sum after the kill = %v, want at least %v:\n%s", after, want, dump(mfs))
	}
	if v, _ := value(mfs, "app_latency_seconds", "worker", metrics.ExitedWorker); v != observations {
		t.Errorf(`app_latency_seconds_count{worker="exited"} = %v, want %v`, v, observations)
	}
	for _, w := range []string{"1", metrics.ExitedWorker} {
		if _, ok := value(mfs, "app_inflight", "worker", w); ok {
			t.Errorf("app_inflight of worker %s is still served", w)
		}
	}
	if v, _ := value(mfs, "gocluster_worker_restarts_total"); v != restarts+1 {
		t.Errorf("gocluster_worker_restarts_total = %v, want %v", v, restarts+1)
	}
	if v, _ := value(mfs, "gocluster_worker_exits_total", "cause", "signal"); v != 1 {
		t.Errorf(`gocluster_worker_exits_total{cause="signal"} = %v, want 1`, v)
	}
}

// What a worker counts after its shutdown notice, while it drains, reaches
// the primary: Serve sends it when its context ends, unasked.
func TestDrainedCountsArrive(t *testing.T) {
	t.Setenv(envMode, "late")
	tc := startCluster(t, 1, metrics.Options{Interval: -1})
	w := tc.worker("worker", func(*cluster.Worker) bool { return true })
	tc.scrapeUntil("the worker", hasWorkers([]int{w.ID()}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Disconnect(ctx); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	mfs := tc.scrapeUntil("worker 1 folded, its exit counted", func(mfs map[string]*dto.MetricFamily) bool {
		exits, _ := value(mfs, "gocluster_worker_exits_total")
		return hasWorkers(nil, w.ID())(mfs) && exits > 0
	})
	want := amount(w.ID()) + lateRequests
	if v, _ := value(mfs, "app_requests_total", "worker", metrics.ExitedWorker); v != want {
		t.Errorf(`app_requests_total{worker="exited"} = %v, want %v:%s`, v, want, dump(mfs))
	}
	if v, _ := value(mfs, "gocluster_worker_exits_total", "cause", "stopped"); v != 1 {
		t.Errorf(`gocluster_worker_exits_total{cause="stopped"} = %v, want 1`, v)
	}
}

// A worker that does not answer in time is counted as a scrape error and
// served by its last counters, without its gauges.
func TestStuckWorker(t *testing.T) {
	t.Setenv(envMode, "stuck")
	tc := startCluster(t, 1, metrics.Options{Interval: -1, Timeout: 200 * time.Millisecond})
	w := tc.worker("worker", func(*cluster.Worker) bool { return true })
	id := strconv.Itoa(w.ID())
	tc.scrapeUntil("the worker's gauge", func(mfs map[string]*dto.MetricFamily) bool {
		_, ok := value(mfs, "app_inflight", "worker", id)
		return ok
	}) // its one answer
	mfs := tc.scrape() // it is stuck now
	if v, _ := value(mfs, "gocluster_worker_scrape_errors_total", "worker", id); v != 1 {
		t.Errorf("scrape errors of worker %s = %v, want 1", id, v)
	}
	if v, _ := value(mfs, "app_requests_total", "worker", id); v != amount(w.ID()) {
		t.Errorf("app_requests_total of the stuck worker = %v, want %v", v, amount(w.ID()))
	}
	if _, ok := value(mfs, "app_inflight", "worker", id); ok {
		t.Errorf("the stuck worker's gauge is served")
	}
}

func TestServeOutsideWorker(t *testing.T) {
	if err := metrics.Serve(context.Background(), nil); !errors.Is(err, metrics.ErrNotWorker) {
		t.Fatalf("Serve outside a worker: %v, want ErrNotWorker", err)
	}
}
