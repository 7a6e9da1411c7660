package metrics

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/cluster"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Defaults for the zero values of [Options].
const (
	// DefaultTimeout bounds a worker's answer to one gather.
	DefaultTimeout = 2 * time.Second
	// DefaultInterval is how often the collector gathers every worker
	// between scrapes.
	DefaultInterval = 5 * time.Second
)

// Options configure a [Collector]. The zero value works.
type Options struct {
	// Timeout bounds how long a scrape waits for each worker
	// ([DefaultTimeout] if 0). A worker that does not answer in time is
	// counted in gocluster_worker_scrape_errors_total and shown by its last
	// cumulative series only (see the package doc).
	Timeout time.Duration
	// Interval is how often every worker is gathered between scrapes, so
	// that a worker killed by a signal loses at most this much of its
	// counts ([DefaultInterval] if 0; negative: only at scrapes).
	Interval time.Duration
	// Gatherer, if set, is the primary process's own metrics, served with
	// the collector's (prometheus.DefaultGatherer for the primary's Go
	// runtime).
	Gatherer prometheus.Gatherer
	// Logger receives the errors of serving (nil: slog.Default()).
	Logger *slog.Logger
}

// Collector gathers the metrics of every worker of a [cluster.Primary]
// and its own (gocluster_*); it is a [prometheus.Gatherer]. Create it with
// [New], run it with [Collector.Run], serve it with [Collector.Handler].
type Collector struct {
	p    *cluster.Primary
	opts Options
	log  *slog.Logger
	path string
	own  *prometheus.Registry
	pm   *primaryMetrics

	events     <-chan cluster.Event
	stopEvents context.CancelFunc
	runOnce    sync.Once
	handler    http.Handler

	mu      sync.Mutex
	workers map[int]*workerState
	exited  exited
}

// workerState is what the collector knows of one live worker.
type workerState struct {
	w    *cluster.Worker
	gen  string
	conn *workerConn         // nil while it is not connected
	last []*dto.MetricFamily // its last families, as it sent them
}

var _ prometheus.Gatherer = (*Collector)(nil)

// New returns a Collector for p's workers. It creates the socket
// directory ([SocketDir]) and subscribes to p's events, so that it counts
// the workers forked from now on: call it before p.Run, then run
// [Collector.Run] beside p.Run.
func New(p *cluster.Primary, opts Options) (*Collector, error) {
	if p == nil {
		return nil, errors.New("metrics: New needs a Primary")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := makeDir(SocketDir()); err != nil {
		return nil, err
	}
	c := &Collector{p: p, opts: opts, log: opts.Logger, path: SocketPath(os.Getpid()),
		own: prometheus.NewRegistry(), workers: make(map[int]*workerState)}
	c.pm = newPrimaryMetrics(p, c.connected)
	c.pm.register(c.own)
	c.handler = promhttp.HandlerFor(c, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError,
		ErrorLog: logAdapter{c.log}})
	var ctx context.Context
	ctx, c.stopEvents = context.WithCancel(context.Background())
	c.events = p.Events(ctx)
	return c, nil
}

// Handler returns the HTTP handler of the metrics: every gather a scrape.
func (c *Collector) Handler() http.Handler { return c.handler }

// Gather gathers the collector's own metrics, [Options.Gatherer]'s and
// every live worker's (at most [Options.Timeout] each, all at once), plus
// the accumulated series of the workers that exited.
func (c *Collector) Gather() ([]*dto.MetricFamily, error) {
	fresh := c.refresh() // first: its failures are counted in this scrape
	gs := prometheus.Gatherers{c.own}
	if c.opts.Gatherer != nil {
		gs = append(gs, c.opts.Gatherer)
	}
	gs = append(gs, prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return c.workerFamilies(fresh) }))
	return gs.Gather()
}

// Run listens on the collector's socket ([SocketPath] of this process)
// and serves the workers that connect, counts the primary's events and
// gathers every worker each [Options.Interval], until ctx ends. Every
// goroutine it started has ended when it returns. It may be called once,
// and one Collector at a time runs in a process.
func (c *Collector) Run(ctx context.Context) error {
	err := errors.New("metrics: Run called twice")
	c.runOnce.Do(func() { err = c.run(ctx) })
	return err
}

// listening is set while a Collector of this process runs: the socket's
// path is the process's, so there is one at a time.
var listening atomic.Bool

func (c *Collector) run(ctx context.Context) error {
	if !listening.CompareAndSwap(false, true) {
		return errors.New("metrics: another Collector of this process is running")
	}
	defer listening.Store(false)
	defer c.stopEvents()
	if err := os.Remove(c.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("metrics: stale socket: %w", err)
	}
	ln, err := net.Listen("unix", c.path)
	if err != nil {
		return fmt.Errorf("metrics: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		<-ctx.Done()
		ln.Close() // removes the socket file
	})
	wg.Go(func() { c.countEvents(ctx) })
	if c.opts.Interval > 0 {
		wg.Go(func() { c.gatherEvery(ctx, c.opts.Interval) })
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			break
		}
		wg.Go(func() { c.serveWorker(ctx, conn) })
	}
	cancel()
	wg.Wait()
	return nil
}

// countEvents feeds the primary's metrics until ctx ends (the channel
// closes then, or when the primary stops).
func (c *Collector) countEvents(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-c.events:
			if !ok {
				return
			}
			c.pm.event(e)
			if e.Type == cluster.EventExit && e.Worker != nil {
				c.exitedWithoutConn(e.Worker.ID())
			}
		}
	}
}

// gatherEvery gathers every worker each interval, keeping their families.
func (c *Collector) gatherEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.refresh()
		}
	}
}

// serveWorker reads the hello of a new connection, then its frames until
// it ends. Once the worker has exited too, its counters are folded.
func (c *Collector) serveWorker(ctx context.Context, conn net.Conn) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	st, wc, err := c.hello(conn)
	if err != nil {
		c.log.Warn(err.Error())
		conn.Close()
		return
	}
	wc.readLoop(func(mfs []*dto.MetricFamily) {
		c.mu.Lock()
		st.last = mfs
		c.mu.Unlock()
	})
	c.mu.Lock()
	if st.conn == wc {
		st.conn = nil
	}
	c.mu.Unlock()
	select {
	case <-st.w.Done():
		c.fold(st)
	case <-ctx.Done():
	}
}

// hello reads who the worker is and registers its connection.
func (c *Collector) hello(conn net.Conn) (*workerState, *workerConn, error) {
	conn.SetReadDeadline(time.Now().Add(c.opts.Timeout))
	r := bufio.NewReader(conn)
	typ, b, err := readFrame(r)
	conn.SetReadDeadline(time.Time{})
	if err != nil {
		return nil, nil, fmt.Errorf("metrics: a worker's hello: %w", err)
	}
	ns, _, err := readUvarints(b, 3)
	if typ != frameHello || err != nil {
		return nil, nil, errors.New("metrics: a worker's connection did not start with its hello")
	}
	id, gen, pid := int(ns[0]), int(ns[1]), int(ns[2])
	w := c.p.Worker(id)
	if w == nil || w.PID() != pid {
		return nil, nil, fmt.Errorf("metrics: connection from pid %d, which is not worker %d", pid, id)
	}
	wc := newWorkerConn(conn, r)
	c.mu.Lock()
	defer c.mu.Unlock()
	if w.IsDead() { // its counters may be folded already
		return nil, nil, fmt.Errorf("metrics: worker %d has exited", id)
	}
	st := c.workers[id]
	if st == nil {
		st = &workerState{w: w, gen: strconv.Itoa(gen)}
		c.workers[id] = st
	}
	if st.conn != nil {
		st.conn.fail() // a new connection replaces the old one
	}
	st.conn = wc
	return st, wc, nil
}

// fold moves the last counters of st's worker, which exited, into the
// worker="exited" series, once, and only when no connection of it is left
// to read (the one that is folds when it ends).
func (c *Collector) fold(st *workerState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := st.w.ID()
	if c.workers[id] != st || st.conn != nil {
		return
	}
	delete(c.workers, id)
	c.exited.fold(st.last)
	c.pm.foldScrapeErrors(id)
}

// exitedWithoutConn folds the worker id at its exit event, for a worker
// whose connection had ended before (one that is open folds when it ends,
// after reading what the worker sent last).
func (c *Collector) exitedWithoutConn(id int) {
	c.mu.Lock()
	st := c.workers[id]
	c.mu.Unlock()
	if st != nil {
		c.fold(st)
	}
}

func (c *Collector) connected() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, st := range c.workers {
		if st.conn != nil {
			n++
		}
	}
	return n
}

// logAdapter is promhttp's error log on a slog.Logger.
type logAdapter struct{ l *slog.Logger }

func (a logAdapter) Println(v ...any) { a.l.Error("metrics: " + fmt.Sprint(v...)) }
