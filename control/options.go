package control

import (
	"io/fs"
	"log/slog"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/logs"
)

// Options configure a [Server]. The zero value works: the socket at
// [DefaultPath] of the working directory, no stop command, no logs.
type Options struct {
	// Path is the socket's path; empty means DefaultPath(".").
	Path string
	// Name is the cluster's name, shown by status.
	Name string
	// Stop is what the stop command calls: it should end the cluster (the
	// gocluster CLI cancels Run's context). Nil: stop is refused.
	Stop func()
	// PID returns the process id to show and measure for w when the
	// program's process is not the worker's own (a helper that runs it);
	// nil means w.PID().
	PID func(w *cluster.Worker) int
	// MaxRSS is the memory limit shown beside each worker (see
	// cluster.Config.MaxRSS); 0: none.
	MaxRSS int64
	// Logs, if set, are the workers' log files the logs command reads; the
	// server tells them of each worker's exit ([logs.Dir.Exited]).
	Logs *logs.Dir
	// Logger receives the server's log lines (refused peers, failed
	// commands); nil means slog.Default().
	Logger *slog.Logger

	// socketMode is the socket file's mode; 0 means 0600. Tests open it to
	// other users, to reach the peer check.
	socketMode fs.FileMode
}
