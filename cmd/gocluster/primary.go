package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/control"
	"github.com/gocluster/cluster/internal/systemd"
	"github.com/gocluster/cluster/logs"
	"github.com/gocluster/cluster/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// runOptions are what the command line adds to an app's spec.
type runOptions struct {
	Socket string // control socket path; empty: the default for the directory
	App    bool   // one app of several: its socket is named after it
}

// runApp runs one app until SIGINT, SIGTERM or gocluster stop.
func runApp(ctx context.Context, spec appSpec, opts runOptions, stderr io.Writer) error {
	out := &console{w: stderr}
	files, addrs, err := bindAll(spec.Listen)
	if err != nil {
		return err
	}
	defer closeAll(files)
	removeSockets := unixSockets(spec.Listen)
	defer removeSockets()
	socket, err := socketPath(opts.Socket, spec.Name, opts.App)
	if err != nil {
		return err
	}
	logDir, err := logDirFor(spec, socket)
	if err != nil {
		return err
	}
	lg, err := logs.Open(logs.Config{Dir: logDir, MaxSize: spec.LogSize, Keep: spec.LogKeep, Echo: stderr})
	if err != nil {
		return fmt.Errorf("gocluster: logs: %w", err)
	}
	defer lg.Close()
	notifyDir, err := os.MkdirTemp(filepath.Dir(socket), "notify-")
	if err != nil {
		return fmt.Errorf("gocluster: notify sockets: %w", err)
	}
	defer os.RemoveAll(notifyDir)
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("gocluster: find this program: %w", err)
	}
	p, err := cluster.New(clusterConfig(spec, self, files, notifyDir, lg, stderr))
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stopping sync.Once
	stop := func() { // systemd hears of a stop when it begins
		stopping.Do(func() { systemd.Notify("STOPPING=1") })
		cancel()
	}
	pids := &sync.Map{} // worker id -> the program's pid
	srv, err := control.Listen(p, control.Options{Path: socket, Name: spec.Name, Stop: stop, MaxRSS: spec.MaxMemory, Logs: lg,
		PID: func(w *cluster.Worker) int {
			if pid, ok := pids.Load(w.ID()); ok {
				return pid.(int)
			}
			return 0
		}})
	if err != nil {
		return err
	}
	var metricsSrv *http.Server
	var col *metrics.Collector
	var metricsLn net.Listener
	if spec.Metrics != "" {
		if metricsLn, err = net.Listen("tcp", spec.Metrics); err != nil {
			srv.Close()
			return fmt.Errorf("gocluster: metrics %s: %w", spec.Metrics, err)
		}
		if col, err = metrics.New(p, metrics.Options{Gatherer: prometheus.DefaultGatherer}); err != nil {
			srv.Close()
			metricsLn.Close()
			return err
		}
		metricsSrv = &http.Server{Handler: col.Handler()}
	}
	p.Handle(func(m *cluster.Message) { onReport(p, m, pids, out) })
	for _, a := range addrs {
		out.printf("listening on %s", a)
	}
	out.printf("control socket %s", srv.Path())
	out.printf("logs in %s", logDir)

	var wg sync.WaitGroup
	goRun := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	events := p.Events(runCtx)
	goRun(func() { watchEvents(events, p, cmpWorkers(spec.Workers), out, pids) })
	// The control socket outlives the stop: status answers while workers
	// drain, and its end tells gocluster stop that the cluster is gone.
	serveCtx, endServe := context.WithCancel(context.Background())
	defer endServe()
	goRun(func() { srv.Serve(serveCtx) })
	sigs := watchSignals() // from here on, before Run
	done := make(chan struct{})
	goRun(func() { sigs.run(done, runCtx, p, stop, out) })
	goRun(func() { watchdog(runCtx) })
	startReaper(serveCtx, goRun) // until the end: orphans also exit while workers drain
	if col != nil {
		goRun(func() { col.Run(runCtx) })
		goRun(func() { metricsSrv.Serve(metricsLn) })
		out.printf("metrics on http://%s/metrics", metricsLn.Addr())
	}
	err = p.Run(runCtx)
	stop()
	close(done)
	closeAll(files) // the addresses are free once gocluster stop returns
	removeSockets()
	endServe()
	srv.Close()
	if metricsSrv != nil {
		metricsSrv.Close()
	}
	wg.Wait()
	if err != nil {
		return err
	}
	out.printf("stopped")
	return nil
}

// clusterConfig is the library's configuration for an app: its workers are
// launchers (this program) that run the app's program beside them.
func clusterConfig(spec appSpec, self string, files []namedFile, notifyDir string, lg *logs.Dir, stderr io.Writer) cluster.Config {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	env := append(append([]string(nil), spec.Env...),
		envListenFDs+"="+strconv.Itoa(len(files)), envListenNames+"="+joinColon(names),
		envReady+"="+spec.Ready.String(), envNotifyDir+"="+notifyDir, envStopSignal+"="+spec.StopSignal,
		envMaxMemory+"="+strconv.FormatInt(spec.MaxMemory, 10))
	return cluster.Config{
		Workers: spec.Workers,
		Settings: cluster.Settings{Exec: self, Args: append([]string{launcherCmd, "--"}, spec.Command...),
			Env: env, Dir: spec.Dir, Silent: true, ExtraFiles: osFiles(files)},
		WorkerProcs:   -1,
		DrainTimeout:  spec.DrainTimeout,
		KillTimeout:   spec.KillTimeout,
		ReadyTimeout:  spec.ReadyTimeout,
		MaxRestarts:   spec.MaxRestarts,
		RestartWindow: spec.RestartWindow,
		NoSignals:     true,
		Stdout:        lg.Stdout(),
		Stderr:        lg.Stderr(),
		// The library's own warnings (exits, restarts) are said by
		// watchEvents in the terminal's words.
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
}

// onReport takes what a launcher says (see launcherReport).
func onReport(p *cluster.Primary, m *cluster.Message, pids *sync.Map, out *console) {
	var r launcherReport
	if json.Unmarshal(m.Data, &r) != nil {
		return
	}
	switch {
	case r.PID > 0:
		// A launcher's first message: its program's pid.
		if w := p.Worker(m.From); w != nil && !w.IsDead() {
			pids.LoadOrStore(m.From, r.PID)
		}
	case r.Status != "":
		systemd.Notify("STATUS=worker " + strconv.Itoa(m.From) + ": " + r.Status)
	case r.Message != nil:
		out.printf("message from worker %d: %s", m.From, r.Message)
	}
}

// envMaxMemory gives the launcher the program's memory limit in bytes.
const envMaxMemory = "GOCLUSTER_MAX_MEMORY"

// cmpWorkers is the library's count for n: 0 is one per CPU in both.
func cmpWorkers(n int) int {
	if n == 0 {
		return runtime.NumCPU()
	}
	return n
}

// watchEvents reports what happens, to the terminal and to systemd.
func watchEvents(events <-chan cluster.Event, p *cluster.Primary, want int, out *console, pids *sync.Map) {
	started := false
	for e := range events {
		switch e.Type {
		case cluster.EventReady:
			if !started && readyCount(p) >= want {
				started = true
				out.printf("ready: %s", plural(want, "worker"))
				systemd.Notify("READY=1\nSTATUS=" + strconv.Itoa(want) + " workers ready")
			}
		case cluster.EventExit:
			out.printf("worker %d exited (%s)", e.Worker.ID(), exitText(e))
			pids.Delete(e.Worker.ID())
		case cluster.EventReload:
			out.printf("reload: generation %d", e.Generation)
			systemd.Notify(systemd.Reloading())
		case cluster.EventReloadDone:
			if e.Err != nil {
				out.printf("reload of generation %d failed: %v", e.Generation, e.Err)
			} else {
				out.printf("reload: generation %d serving", e.Generation)
			}
			systemd.Notify("READY=1")
		case cluster.EventCrashLoop, cluster.EventError:
			out.printf("%v", e.Err)
		}
	}
}

func readyCount(p *cluster.Primary) int {
	n := 0
	for _, w := range p.Workers() {
		if w.IsReady() {
			n++
		}
	}
	return n
}

func exitText(e cluster.Event) string {
	if e.Signal != nil {
		return "signal " + e.Signal.String()
	}
	return "code " + strconv.Itoa(e.ExitCode)
}

// watchdog sends WATCHDOG=1 at half the interval systemd asks for.
func watchdog(ctx context.Context) {
	d, err := systemd.Watchdog()
	if err != nil || d <= 0 {
		return
	}
	t := time.NewTicker(d / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			systemd.Notify("WATCHDOG=1")
		}
	}
}

// console prints the primary's own lines.
type console struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *console) printf(format string, a ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.w, "gocluster: "+format+"\n", a...)
}
