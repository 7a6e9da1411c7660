// Package metrics serves the Prometheus metrics of every worker of a
// cluster from the primary, on one endpoint, without losing the counts of
// a worker that dies.
//
// In each worker, [Serve] hands a [prometheus.Gatherer] (the worker's
// registry) to the primary. In the primary, [New] makes a [Collector] for
// a [cluster.Primary]; [Collector.Run] runs it beside Primary.Run and
// [Collector.Handler] serves it (promhttp). The Collector is itself a
// [prometheus.Gatherer].
//
// # Series
//
// Every series of a worker gets the labels worker="<id>" and
// generation="<generation>" ([LabelWorker], [LabelGeneration]; a label of
// the worker's with one of those names is kept as exported_worker or
// exported_generation). Ids are never reused, so a restarted worker starts
// new series.
//
// Node's prom-client AggregatorRegistry sums the workers it can reach, so
// when one dies its counts leave the sum, which drops, and rate() sees a
// reset. Here the collector keeps each worker's last gathered families;
// when the worker has exited it folds their cumulative series (counter
// values, histogram and summary counts and sums, histogram buckets) into
// series labelled worker="exited" ([ExitedWorker]) that only grow, so
// sum(app_requests_total) never drops. The gauges of a dead worker are
// dropped: they described a process that is gone. Summary quantiles are
// not folded (they cannot be added).
//
// A worker that does not answer a scrape within [Options.Timeout] (2 s) is
// counted in gocluster_worker_scrape_errors_total and, for that scrape,
// served by its last cumulative series only (its gauges left out), so the
// sum does not dip either.
//
// # How much is kept of a worker that dies
//
// The collector gathers every worker at each scrape and also every
// [Options.Interval] (5 s) between scrapes, so a worker killed by a signal
// loses at most the counts of its last 5 s, whatever the scrape interval.
// A worker that exits on purpose loses nothing: when Serve's context ends
// (cancel it after the worker's server has drained) it sends its families
// one last time, unasked, and the collector reads them before it sees the
// connection end. Serve does not gather on [cluster.Shutdown] itself:
// asking for Shutdown tells the cluster the program drains, and a program
// that never asks must still be ended by the shutdown notice; besides,
// counts keep changing while the server drains, so the push at the end of
// Serve is the one that matters.
//
// # Transport
//
// The collector listens on a unix socket, [SocketPath] of the primary's
// pid, in a directory only the user can enter ([SocketDir], mode 0700,
// checked by both sides). A worker finds it from os.Getppid(), with no
// environment to pass and no change to the cluster's own channel, whose
// messages belong to the program. The worker speaks first (its id,
// generation and pid, checked against the primary's table); then the
// collector sends gather requests and the worker answers each with its
// families in the protobuf delimited format. The collector knows a worker
// is gone when its connection ends and the process has exited (the
// Worker's Done channel, or EventExit for a worker with no connection).
// A worker must be the primary's own child: a Settings.Exec that starts
// the program through a shell hides the primary's pid.
//
// # The primary's metrics
//
// The collector's own series, named gocluster_*:
//
//   - gocluster_workers{state}: live workers by state (starting, online,
//     ready, disconnected);
//   - gocluster_forks_total, gocluster_worker_restarts_total (workers
//     started to replace one that exited), gocluster_worker_exits_total{cause}
//     (stopped, signal, error, clean), gocluster_reloads_total,
//     gocluster_reload_failures_total: counted from the primary's events from
//     [New] on;
//   - gocluster_store_keys, gocluster_store_revision: the shared store, read at
//     each scrape;
//   - gocluster_worker_scrape_errors_total{worker},
//     gocluster_metrics_workers_connected.
//
// [Options.Gatherer] adds the primary process's own (Go runtime) metrics.
package metrics
