package metrics

import (
	"strconv"

	"github.com/gocluster/cluster"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Worker states, the values of the state label of gocluster_workers.
var workerStates = []string{"starting", "online", "ready", "disconnected"}

// primaryMetrics are the collector's own gocluster_ metrics: counters fed
// by the primary's events, gauges read at each scrape.
type primaryMetrics struct {
	p *cluster.Primary

	forks, restarts, reloads, reloadFailures prometheus.Counter
	exits, scrapeErrors                      *prometheus.CounterVec

	workers, storeKeys, storeRev, serving *prometheus.Desc
	connected                             func() int
}

func newPrimaryMetrics(p *cluster.Primary, connected func() int) *primaryMetrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "gocluster", Name: name, Help: help})
	}
	return &primaryMetrics{
		p:              p,
		connected:      connected,
		forks:          counter("forks_total", "Worker processes started."),
		restarts:       counter("worker_restarts_total", "Workers started to replace one that exited (crashed or was recycled)."),
		reloads:        counter("reloads_total", "Rolling reloads begun."),
		reloadFailures: counter("reload_failures_total", "Rolling reloads aborted."),
		exits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "gocluster", Name: "worker_exits_total",
			Help: "Worker processes that ended, by cause: stopped (on purpose), signal, error (non-zero status), clean (status 0 on its own)."},
			[]string{"cause"}),
		scrapeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "gocluster", Name: "worker_scrape_errors_total",
			Help: "Gathers of a worker's metrics that failed or timed out (worker=\"exited\": those of workers gone since)."},
			[]string{LabelWorker}),
		workers: prometheus.NewDesc("gocluster_workers",
			"Live workers by state: starting (no channel yet), online, ready, disconnected (channel closed, process not yet ended).",
			[]string{"state"}, nil),
		storeKeys: prometheus.NewDesc("gocluster_store_keys", "Keys in the shared store.", nil, nil),
		storeRev:  prometheus.NewDesc("gocluster_store_revision", "Revision of the shared store's last change.", nil, nil),
		serving:   prometheus.NewDesc("gocluster_metrics_workers_connected", "Workers whose metrics the collector is connected to.", nil, nil),
	}
}

// register adds every metric to r.
func (m *primaryMetrics) register(r *prometheus.Registry) {
	r.MustRegister(m.forks, m.restarts, m.reloads, m.reloadFailures, m.exits, m.scrapeErrors, m)
}

// Describe is part of prometheus.Collector, for the gauges read at scrape.
func (m *primaryMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.workers
	ch <- m.storeKeys
	ch <- m.storeRev
	ch <- m.serving
}

// Collect is part of prometheus.Collector: it reads the workers' states
// and the store.
func (m *primaryMetrics) Collect(ch chan<- prometheus.Metric) {
	counts := make(map[string]int, len(workerStates))
	for _, w := range m.p.Workers() {
		counts[stateOf(w)]++
	}
	for _, s := range workerStates {
		ch <- prometheus.MustNewConstMetric(m.workers, prometheus.GaugeValue, float64(counts[s]), s)
	}
	st := m.p.Store()
	ch <- prometheus.MustNewConstMetric(m.storeKeys, prometheus.GaugeValue, float64(st.Len()))
	ch <- prometheus.MustNewConstMetric(m.storeRev, prometheus.GaugeValue, float64(st.Rev()))
	ch <- prometheus.MustNewConstMetric(m.serving, prometheus.GaugeValue, float64(m.connected()))
}

func stateOf(w *cluster.Worker) string {
	switch {
	case w.IsConnected() && w.IsReady():
		return "ready"
	case w.IsConnected():
		return "online"
	case w.IsReady():
		return "disconnected"
	}
	return "starting"
}

// event counts what e tells.
func (m *primaryMetrics) event(e cluster.Event) {
	switch e.Type {
	case cluster.EventFork:
		m.forks.Inc()
		if e.Worker != nil && e.Worker.Restarts() > 0 {
			m.restarts.Inc()
		}
	case cluster.EventExit:
		m.exits.WithLabelValues(exitCause(e)).Inc()
	case cluster.EventReload:
		m.reloads.Inc()
	case cluster.EventReloadDone:
		if e.Err != nil {
			m.reloadFailures.Inc()
		}
	}
}

func exitCause(e cluster.Event) string {
	switch {
	case e.Worker != nil && e.Worker.ExitedAfterDisconnect():
		return "stopped"
	case e.Signal != nil:
		return "signal"
	case e.ExitCode != 0:
		return "error"
	}
	return "clean"
}

// scrapeFailed counts a failed gather of worker id.
func (m *primaryMetrics) scrapeFailed(id int) {
	m.scrapeErrors.WithLabelValues(strconv.Itoa(id)).Inc()
}

// foldScrapeErrors moves the scrape errors of worker id, which exited, to
// worker="exited": the counter's sum does not drop.
func (m *primaryMetrics) foldScrapeErrors(id int) {
	label := strconv.Itoa(id)
	var d dto.Metric
	if c, err := m.scrapeErrors.GetMetricWithLabelValues(label); err == nil && c.Write(&d) == nil {
		if v := d.GetCounter().GetValue(); v > 0 {
			m.scrapeErrors.WithLabelValues(ExitedWorker).Add(v)
		}
	}
	m.scrapeErrors.DeleteLabelValues(label)
}
