package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gocluster/cluster/internal/kvlink"
	"github.com/gocluster/cluster/internal/proc"
	"github.com/gocluster/cluster/kv"
)

// Primary starts and supervises the workers. Create it with New; its
// methods may be called from any goroutine.
type Primary struct {
	cfg    Config
	log    *slog.Logger
	events *broker
	mail   *mailbox
	stdout *syncWriter
	stderr *syncWriter
	start  proc.Starter // proc.Start; tests of supervision put a fake

	settingsMu sync.Mutex
	settings   Settings

	store      *kv.KV         // the shared state (Store), on a kv.Engine or Config.Store's
	closeStore func() error   // closes Config.Store's Backend; nil for the Engine
	kv         *kvlink.Server // serves it to the workers

	lns       listeners
	startMu   sync.Mutex    // held by a Fork before Run, and by Run as it starts
	started   atomic.Bool   // Run was called
	setupDone atomic.Bool   // EventSetup was emitted
	ops       chan func()   // the supervisor's inbox
	running   chan struct{} // closed when Run starts reading ops
	done      chan struct{} // closed when Run returns
	workers   atomic.Pointer[map[int]*Worker]
	group     group // the goroutines and timers Run waits for

	// Owned by the supervisor goroutine (Run's).
	table       map[int]*Worker
	nextID      int
	nextSlot    int
	slots       map[int]*slotInfo  // slots to keep filled (Scale and reloads take some away)
	gen         int                // generation of the workers forked from now on
	rollout     *rollout           // the reload or recycle in progress, if any
	again       bool               // SIGHUP during a reload: one more after it
	recycleHold time.Time          // no recycling before it (a replacement failed)
	deaths      map[int][]death    // recent unexpected deaths per slot
	goneWaits   []*goneWait        // calls waiting for workers to leave the table
	exes        map[exeKey]*exeRef // the programs generations run (see exeRef)
	runErr      error              // why Run stops, when not by its context
	stopping    bool
}

// New checks cfg and returns a Primary. It fails with an error wrapping
// [ErrInvalidConfig] that says what to change, with [ErrNotPrimary] in a worker,
// and with [ErrUnsupported] where worker processes are not available.
func New(cfg Config) (*Primary, error) {
	if IsWorker() {
		return nil, ErrNotPrimary
	}
	if !supported {
		return nil, ErrUnsupported
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Primary{
		cfg:      cfg,
		log:      cfg.Logger,
		events:   newBroker(),
		mail:     newMailbox(cfg.Logger),
		stdout:   &syncWriter{w: cfg.Stdout, def: os.Stdout},
		stderr:   &syncWriter{w: cfg.Stderr, def: os.Stderr},
		start:    proc.Start,
		settings: cfg.Settings,
		ops:      make(chan func()),
		running:  make(chan struct{}),
		done:     make(chan struct{}),
		table:    make(map[int]*Worker),
		slots:    make(map[int]*slotInfo),
		gen:      1,
		deaths:   make(map[int][]death),
		exes:     make(map[exeKey]*exeRef),
	}
	p.workers.Store(&map[int]*Worker{})
	limits := kv.Limits{MaxValueSize: cfg.MaxValueSize, MaxChangeSize: cfg.MaxMessageSize}
	var backend kv.Backend = kv.NewEngine(limits)
	if cfg.Store != nil {
		if backend, err = cfg.Store(limits); err != nil {
			return nil, fmt.Errorf("cluster: opening the shared state's store (Config.Store): %w", err)
		}
		p.closeStore = backend.Close
	}
	p.store, p.kv = kv.New(backend), kvlink.NewServer(backend, cfg.MaxMessageSize)
	p.lns.byAddr = make(map[string]*listenEntry)
	p.lns.byKey = make(map[uint32]*listenEntry)
	return p, nil
}

// Run forks [Config.Workers] workers (beside those Fork started before it)
// and supervises them: a worker that dies without being told to is
// replaced after a back-off (see [Config.Restart]). Run returns when ctx
// ends or, unless [Config.NoSignals], on SIGINT or SIGTERM; before returning
// it stops every worker gracefully (see [Worker.Disconnect]) and waits for
// them. It returns nil after such a stop, or the error that kept the first
// workers from starting (a bad Exec, say). Run may be called once.
func (p *Primary) Run(ctx context.Context) error {
	p.startMu.Lock()
	if !p.started.CompareAndSwap(false, true) {
		p.startMu.Unlock()
		return ErrRunning
	}
	p.startMu.Unlock()
	defer close(p.done)
	if p.closeStore != nil {
		defer p.closeStore() // once every worker is gone
	}
	if p.cfg.PrimaryProcs > 0 && os.Getenv("GOMAXPROCS") == "" {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(p.cfg.PrimaryProcs))
	}
	var hup chan os.Signal
	if !p.cfg.NoSignals {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		hup = make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	var recycle <-chan time.Time
	if p.cfg.MaxRSS > 0 || p.cfg.MaxAge > 0 {
		every := recycleEvery
		if p.cfg.MaxAge > 0 {
			every = min(every, max(p.cfg.MaxAge/4, 10*time.Millisecond))
		}
		t := time.NewTicker(every)
		defer t.Stop()
		recycle = t.C
	}
	s := p.currentSettings()
	p.emitSetup(s)
	var startErr error
	for i := 0; i < p.cfg.Workers && startErr == nil; i++ {
		_, startErr = p.fork(s, nil)
	}
	stop := ctx.Done()
	if startErr != nil {
		stop = nil
		p.beginShutdown()
	}
	close(p.running)
	for !p.stopping || len(p.table) > 0 {
		select {
		case op := <-p.ops:
			op()
		case <-stop:
			stop = nil
			p.beginShutdown()
		case <-hup:
			p.onSIGHUP()
		case <-recycle:
			p.checkRecycle()
		}
	}
	// Every goroutine and timer of the group ends before Run returns (the
	// accept loops once their listeners are closed); the ops they hand over
	// meanwhile still run (and find p.stopping set).
	p.closeListeners()
	for idle := p.group.stop(); idle != nil; {
		select {
		case op := <-p.ops:
			op()
		case <-idle:
			idle = nil
		}
	}
	p.closeExes()
	p.events.close()
	p.mail.close()
	if startErr != nil {
		return startErr
	}
	return p.runErr
}

// beginShutdown starts draining every worker; Run returns when the last one
// has exited.
func (p *Primary) beginShutdown() {
	p.stopping = true
	p.stopRollout()
	p.log.Info("cluster: shutting down", "workers", len(p.table))
	p.closeListeners() // stop accepting; workers drain what they hold
	for _, w := range p.table {
		p.goRun(func() { w.Disconnect(context.Background()) })
	}
}

// do runs op on the supervisor goroutine and waits until it has been taken.
// Before Run starts, it waits for it (ops about a worker Fork started before
// Run). It reports false once Run has returned.
func (p *Primary) do(op func()) bool {
	select {
	case <-p.running:
	case <-p.done:
		return false
	}
	select {
	case p.ops <- op:
		return true
	case <-p.done:
		return false
	}
}

// call runs op on the supervisor goroutine and waits until it has finished.
// It reports false if Run was not called or has returned.
func (p *Primary) call(op func()) bool { return p.callCtx(context.Background(), op) }

// callCtx is call that gives up, reporting false, if ctx ends before the
// supervisor takes op.
func (p *Primary) callCtx(ctx context.Context, op func()) bool {
	if !p.started.Load() {
		return false
	}
	finished := make(chan struct{})
	select {
	case <-p.running:
	case <-p.done:
		return false
	case <-ctx.Done():
		return false
	}
	select {
	case p.ops <- func() { op(); close(finished) }:
	case <-p.done:
		return false
	case <-ctx.Done():
		return false
	}
	<-finished
	return true
}

// Fork starts one more worker with env (KEY=value) added to its
// environment, like Node's cluster.fork(env). The worker is replaced with
// the same env if it crashes (see [Config.Restart]).
//
// Fork may be called right after New, before Run: the worker starts at
// once and Run, which must follow, supervises it (its events after
// [EventFork] are emitted once Run runs). With [Config.Workers] set to
// [NoWorkers], Run starts no worker of its own: the program forks each one
// with its own env. After Run has returned, Fork fails with [ErrNotRunning].
func (p *Primary) Fork(env ...string) (*Worker, error) {
	for _, kv := range env {
		if !validEnv(kv) {
			return nil, fmt.Errorf("%w: Fork env entry %q is not KEY=value", ErrInvalidConfig, kv)
		}
	}
	p.startMu.Lock()
	if !p.started.Load() {
		// Run has not started: nobody else owns the supervisor's state, and
		// Run waits for the lock before it takes it over.
		defer p.startMu.Unlock()
		s := p.currentSettings()
		p.emitSetup(s)
		return p.fork(s, env)
	}
	p.startMu.Unlock()
	var w *Worker
	var err error
	if !p.call(func() {
		if p.stopping {
			err = ErrNotRunning
			return
		}
		w, err = p.fork(p.currentSettings(), env)
	}) {
		return nil, ErrNotRunning
	}
	return w, err
}

// Setup replaces the settings used for workers forked from now on (Node's
// cluster.setupPrimary) and emits [EventSetup]. Running workers are not
// affected.
func (p *Primary) Setup(s Settings) error {
	if err := s.validate(); err != nil {
		return err
	}
	p.settingsMu.Lock()
	p.settings = s
	p.settingsMu.Unlock()
	p.setupDone.Store(true)
	p.emit(Event{Type: EventSetup, Settings: &s})
	return nil
}

// emitSetup emits [EventSetup] with s unless it was emitted already (by
// Setup, or by a Fork before Run): Node's implicit setupPrimary.
func (p *Primary) emitSetup(s Settings) {
	if !p.setupDone.Swap(true) {
		p.emit(Event{Type: EventSetup, Settings: &s})
	}
}

func (p *Primary) currentSettings() Settings {
	p.settingsMu.Lock()
	defer p.settingsMu.Unlock()
	return p.settings
}

// Workers returns the live workers (not yet exited), ordered by id.
func (p *Primary) Workers() []*Worker {
	m := *p.workers.Load()
	ws := make([]*Worker, 0, len(m))
	for _, w := range m {
		ws = append(ws, w)
	}
	slices.SortFunc(ws, func(a, b *Worker) int { return a.id - b.id })
	return ws
}

// Worker returns the live worker with the given id, or nil.
func (p *Primary) Worker(id int) *Worker { return (*p.workers.Load())[id] }

// Broadcast sends msg to every live worker (see [Worker.SendContext]),
// waiting for a worker that does not read only until ctx ends. It returns
// the errors of the sends that failed, joined.
func (p *Primary) Broadcast(ctx context.Context, msg []byte) error {
	var errs []error
	for _, w := range p.Workers() {
		if err := w.SendContext(ctx, msg); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Disconnect stops every worker gracefully ([Worker.Disconnect] on each, at
// once) and waits for them; they are not replaced. Run keeps running.
func (p *Primary) Disconnect(ctx context.Context) error {
	ws := p.Workers()
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.Disconnect(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Messages returns the channel of messages and requests from workers (Node's
// 'message' event), each with [Message.Worker] set. Messages from one worker
// arrive in the order it sent them. The channel is closed when Run returns.
// Until the first call, up to 1,024 messages are kept and later ones
// dropped; after it, a reader that falls behind slows the sending workers.
func (p *Primary) Messages() <-chan *Message { return p.mail.channel() }

// Handle makes h receive the messages and requests from workers from now
// on, instead of the Messages channel. h is called on the goroutine that
// reads the sending worker's channel: in order for one worker, concurrently
// for different workers. While it runs nothing else is read from that
// worker, so h must not block: answer at once or hand the message to
// another goroutine (Reply may be called from any goroutine).
func (p *Primary) Handle(h func(m *Message)) { p.mail.handle(h) }

// Events returns a channel that receives every event from now on, in order,
// until ctx ends or Run returns (then it is closed after the last event).
// Events are queued per subscriber without bound, so a slow reader never
// stalls supervision and loses nothing; it must keep reading or cancel ctx.
func (p *Primary) Events(ctx context.Context) <-chan Event { return p.events.subscribe(ctx) }

// emit logs and publishes an event.
func (p *Primary) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	level := slog.LevelDebug
	switch {
	case e.Type == EventError:
		level = slog.LevelError
	case e.Type == EventExit && e.Worker != nil && !e.Worker.ExitedAfterDisconnect():
		level = slog.LevelWarn
	}
	p.log.Log(context.Background(), level, "cluster: "+e.String())
	p.events.publish(e)
}

// publishWorkers stores a copy of the table for readers outside the
// supervisor goroutine.
func (p *Primary) publishWorkers() {
	m := make(map[int]*Worker, len(p.table))
	for id, w := range p.table {
		m[id] = w
	}
	p.workers.Store(&m)
	p.announcePeers()
}
