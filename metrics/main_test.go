//go:build unix

package metrics_test

import (
	"context"
	"os"
	"testing"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/metrics"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The test binary is also the workers' program: a primary started by a test
// re-executes it, and TestMain runs the worker mode named in envMode.
const envMode = "GOCLUSTER_METRICS_TEST_MODE"

func TestMain(m *testing.M) {
	if cluster.IsWorker() {
		os.Exit(testWorker(os.Getenv(envMode)))
	}
	os.Exit(m.Run())
}

// amount is what worker id adds to app_requests_total{code="200"} at start.
func amount(id int) float64 { return float64(100 + id) }

// Amounts of the other series every worker sets at start.
const (
	inflight     = 7 // app_inflight, a gauge
	observations = 2 // app_latency_seconds, one in each bucket
	lateRequests = 1000
)

// testWorker counts known amounts and serves its registry to the
// collector until it is told to shut down. Modes:
//
//   - "late": after the shutdown notice it counts lateRequests more, as
//     requests drained then would be: only Serve's last push carries them;
//   - "stuck": its Gather answers once, then blocks until the shutdown
//     notice: a worker that does not answer.
func testWorker(mode string) int {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "app_requests_total", Help: "Requests served."},
		[]string{"code"})
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "app_inflight", Help: "Requests in flight."})
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "app_latency_seconds", Help: "Request latency.",
		Buckets: []float64{0.1, 1}})
	reg.MustRegister(requests, gauge, latency)
	requests.WithLabelValues("200").Add(amount(cluster.ID()))
	gauge.Set(inflight)
	latency.Observe(0.05)
	latency.Observe(0.5)

	var g prometheus.Gatherer = reg
	if mode == "stuck" {
		answered := false
		g = prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			if answered {
				<-cluster.Shutdown()
			}
			answered = true
			return reg.Gather()
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- metrics.Serve(ctx, g) }()
	cluster.Ready()
	<-cluster.Shutdown()
	if mode == "late" {
		requests.WithLabelValues("200").Add(lateRequests)
	}
	cancel()
	if err := <-served; err != nil {
		return 2
	}
	return 0
}
