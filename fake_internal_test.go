//go:build unix

package cluster

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/proc/proctest"
)

// fakeCluster is a primary whose workers are fake processes
// (proctest): the test ends them, makes them ready, and reads the events
// in order; nothing is started, and nothing polls.
type fakeCluster struct {
	t      *testing.T
	p      *Primary
	procs  *proctest.Starter
	logs   *logRecorder
	events <-chan Event
	seen   []Event // every event read so far, in order
	done   chan error
	runErr error
	ran    bool // Run's result was taken
}

// waitLimit bounds every wait of a fake test: each is for something the
// test itself set off, so it only passes when there is a bug.
const waitLimit = 10 * time.Second

// startFake runs a primary with cfg (NoSignals; drain and kill timeouts of
// 1ms unless set: a fake does not read its shutdown notice, SIGTERM ends
// it) and fake processes until the test ends. Cleanup stops it and checks
// that Run returned nil (unless the test took its result) and that no fake
// process still runs.
func startFake(t *testing.T, cfg Config) *fakeCluster {
	t.Helper()
	cfg.NoSignals = true
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = time.Millisecond
	}
	if cfg.KillTimeout == 0 {
		cfg.KillTimeout = time.Millisecond
	}
	fc := &fakeCluster{t: t, procs: &proctest.Starter{}, logs: &logRecorder{}, done: make(chan error, 1)}
	cfg.Logger = slog.New(fc.logs)
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p.start = fc.procs.Start
	fc.p = p
	fc.events = p.Events(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	go func() { fc.done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		ran := fc.ran
		if err := fc.stopped(); err != nil && !ran {
			t.Errorf("Run: %v", err)
		}
		for _, fp := range fc.procs.Started() {
			select {
			case <-fp.Done():
			default:
				t.Errorf("fake process %d still runs after Run returned", fp.Pid())
				fp.Exit(0)
			}
		}
	})
	return fc
}

// stopped waits for Run to return and for its last event, and returns
// Run's error.
func (fc *fakeCluster) stopped() error {
	fc.t.Helper()
	if !fc.ran {
		select {
		case fc.runErr = <-fc.done:
			fc.ran = true
		case <-time.After(waitLimit):
			fc.t.Fatalf("Run did not return within %v", waitLimit)
		}
		for e := range fc.events { // closed after the last event
			fc.seen = append(fc.seen, e)
		}
	}
	return fc.runErr
}

// next reads events until one of a type in types, and returns it.
func (fc *fakeCluster) next(types ...EventType) Event {
	fc.t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case e, ok := <-fc.events:
			if !ok {
				fc.t.Fatalf("events ended waiting for %v; events: %v", types, fc.seen)
			}
			fc.seen = append(fc.seen, e)
			if slices.Contains(types, e.Type) {
				return e
			}
		case <-timeout:
			fc.t.Fatalf("no %v event within %v; events: %v", types, waitLimit, fc.seen)
		}
	}
}

// fork waits for the next worker started and returns it with its fake.
func (fc *fakeCluster) fork() (*Worker, *proctest.Process) {
	fc.t.Helper()
	w := fc.next(EventFork).Worker
	return w, w.proc.(*proctest.Process)
}

// ready makes w ready, as its Ready call would, and waits for the event.
func (fc *fakeCluster) ready(w *Worker) {
	fc.t.Helper()
	fc.p.markReady(w)
	if e := fc.next(EventReady); e.Worker != w {
		fc.t.Fatalf("ready event of worker %d, want %d", e.Worker.id, w.id)
	}
}

// exit waits for the exit event of w, which must be the next exit.
func (fc *fakeCluster) exit(w *Worker) Event {
	fc.t.Helper()
	e := fc.next(EventExit)
	if e.Worker != w {
		fc.t.Fatalf("exit of worker %d, want %d", e.Worker.id, w.id)
	}
	return e
}

// settled returns once the supervisor has handled everything queued
// before: an exit whose event was read, and a replacement started at
// once for it.
func (fc *fakeCluster) settled() {
	fc.t.Helper()
	if !fc.p.call(func() {}) {
		fc.t.Fatal("Run has returned")
	}
}

// count returns how many events of type typ were read.
func (fc *fakeCluster) count(typ EventType) int {
	n := 0
	for _, e := range fc.seen {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []logRecord
}

type logRecord struct {
	msg   string
	attrs map[string]slog.Value
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{msg: r.Message, attrs: make(map[string]slog.Value)}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, rec)
	return nil
}

// with returns the records logged with message msg, in order.
func (l *logRecorder) with(msg string) []logRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logRecord
	for _, r := range l.recs {
		if r.msg == msg {
			out = append(out, r)
		}
	}
	return out
}
