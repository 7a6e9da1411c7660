//go:build unix

package cluster

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/proc/proctest"
)

// The supervision rules (restart.go, exit.go) on fake worker processes:
// each test ends its workers itself, in the order it wants.

const replacing = "cluster: replacing a crashed worker"

func TestFakeCrashedWorkerIsReplaced(t *testing.T) {
	fc := startFake(t, Config{Workers: 1, RestartDelay: time.Millisecond})
	w1, f1 := fc.fork()
	f1.Exit(3)
	if e := fc.exit(w1); e.ExitCode != 3 || e.Signal != nil || w1.ExitedAfterDisconnect() || !w1.IsDead() {
		t.Fatalf("exit: code %d signal %v deliberate %v", e.ExitCode, e.Signal, w1.ExitedAfterDisconnect())
	}
	w2, f2 := fc.fork()
	if w2.id != 2 || w2.slot != w1.slot || w2.gen != 1 || !slices.Contains(f2.Spec().Env, envWorkerID+"=2") {
		t.Fatalf("replacement: id %d slot %d (was %d) gen %d", w2.id, w2.slot, w1.slot, w2.gen)
	}
	if w2.Process() != nil || w2.PID() != f2.Pid() {
		t.Fatalf("a fake's worker has process %v, pid %d", w2.Process(), w2.PID())
	}
	f2.Die(syscall.SIGSEGV) // the second crash in a row: after RestartDelay
	if e := fc.exit(w2); e.ExitCode != -1 || e.Signal != syscall.SIGSEGV {
		t.Fatalf("exit: code %d signal %v, want -1 and SIGSEGV", e.ExitCode, e.Signal)
	}
	w3, _ := fc.fork()
	if w3.slot != w1.slot {
		t.Fatalf("second replacement in slot %d, want %d", w3.slot, w1.slot)
	}
	// The first replacement started at once, the second after a delay.
	recs := fc.logs.with(replacing)
	if len(recs) != 2 || recs[0].attrs["in"].Any() != nil || recs[1].attrs["in"].Duration() <= 0 {
		t.Fatalf("replacement log lines %v", recs)
	}
}

func TestFakeKillIsADeliberateStop(t *testing.T) {
	fc := startFake(t, Config{Workers: 1})
	w, f := fc.fork()
	if err := w.Kill(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if e := fc.exit(w); e.Signal != syscall.SIGKILL || !w.ExitedAfterDisconnect() {
		t.Fatalf("exit: signal %v deliberate %v", e.Signal, w.ExitedAfterDisconnect())
	}
	fc.settled()
	if got := f.Signals(); !slices.Equal(got, []os.Signal{syscall.SIGKILL}) {
		t.Fatalf("signals %v", got)
	}
	if n := len(fc.procs.Started()); n != 1 || len(fc.p.Workers()) != 0 {
		t.Fatalf("a killed worker was replaced: %d starts, workers %v", n, fc.p.Workers())
	}
}

// TestFakeRestartPolicy: RestartAlways (the zero value) replaces a worker
// that exits with status 0 on its own; RestartOnFailure replaces one that
// fails, not one that finishes; RestartNever replaces none.
func TestFakeRestartPolicy(t *testing.T) {
	// replaced ends the worker of f as end says and reports whether it was
	// replaced (a first crash is replaced at once, within the exit's op).
	replaced := func(fc *fakeCluster, w *Worker, end func()) bool {
		t.Helper()
		before := len(fc.procs.Started())
		end()
		fc.exit(w)
		fc.settled()
		return len(fc.procs.Started()) > before
	}
	t.Run("always", func(t *testing.T) {
		fc := startFake(t, Config{Workers: 1})
		w, f := fc.fork()
		if !replaced(fc, w, func() { f.Exit(0) }) {
			t.Fatal("exit status 0 not replaced")
		}
	})
	t.Run("on-failure", func(t *testing.T) {
		fc := startFake(t, Config{Workers: 3, Restart: RestartOnFailure})
		w1, f1 := fc.fork()
		w2, f2 := fc.fork()
		w3, f3 := fc.fork()
		if replaced(fc, w1, func() { f1.Exit(0) }) {
			t.Fatal("exit status 0 replaced")
		}
		if !replaced(fc, w2, func() { f2.Exit(3) }) {
			t.Fatal("exit status 3 not replaced")
		}
		if !replaced(fc, w3, func() { f3.Die(syscall.SIGKILL) }) {
			t.Fatal("a worker killed by a signal not replaced")
		}
		if n := len(fc.p.Workers()); n != 2 {
			t.Fatalf("%d workers, want 2: the finished one's place is dropped", n)
		}
	})
	t.Run("never", func(t *testing.T) {
		fc := startFake(t, Config{Workers: 2, Restart: RestartNever})
		w1, f1 := fc.fork()
		w2, f2 := fc.fork()
		if replaced(fc, w1, func() { f1.Exit(3) }) || replaced(fc, w2, func() { f2.Die(syscall.SIGKILL) }) {
			t.Fatal("a worker was replaced")
		}
		if w, err := fc.p.Fork(); err != nil || len(fc.p.Workers()) != 1 { // the Node way: fork on 'exit'
			t.Fatalf("Fork: %v, %v; workers %v", w, err, fc.p.Workers())
		}
	})
}

// TestFakeBackoffGrowsAndResets: the first replacement of a series starts
// at once, the k-th after RestartDelay*2^(k-2) (less or more 20% jitter),
// capped at MaxRestartDelay; a worker that was ready starts a new series.
func TestFakeBackoffGrowsAndResets(t *testing.T) {
	const base, maxDelay = 4 * time.Millisecond, 16 * time.Millisecond
	fc := startFake(t, Config{Workers: 1, RestartDelay: base, MaxRestartDelay: maxDelay, MaxRestarts: 100})
	// crash ends the next worker's fake and checks the delay logged for its
	// replacement, and that the replacement waited for it; want 0: at once.
	crash := func(w *Worker, f *proctest.Process, wantRow int, want time.Duration) (*Worker, *proctest.Process) {
		t.Helper()
		f.Exit(1)
		exit := fc.exit(w)
		next, nf := fc.fork()
		recs := fc.logs.with(replacing)
		rec := recs[len(recs)-1]
		if want == 0 {
			if rec.attrs["in"].Any() != nil {
				t.Fatalf("crash of worker %d: replaced after %v, want at once", w.id, rec.attrs["in"])
			}
			return next, nf
		}
		d, row := rec.attrs["in"].Duration(), rec.attrs["crashes_in_a_row"].Int64()
		if row != int64(wantRow) || d < want*4/5 || d > want*6/5 {
			t.Fatalf("crash of worker %d: replaced in %v, %d in a row; want %v ± 20%%, %d in a row", w.id, d, row, want, wantRow)
		}
		if gap := fc.seen[len(fc.seen)-1].Time.Sub(exit.Time); gap < d {
			t.Fatalf("replacement started %v after the exit, before the delay %v", gap, d)
		}
		return next, nf
	}
	w, f := fc.fork()
	w, f = crash(w, f, 1, 0)
	w, f = crash(w, f, 2, base)
	w, f = crash(w, f, 3, 2*base)
	w, f = crash(w, f, 4, 4*base)
	w, f = crash(w, f, 5, maxDelay) // 8*base, capped
	fc.ready(w)
	w, f = crash(w, f, 1, 0) // it had started fine: a new series
	crash(w, f, 2, base)
}

// TestFakeCrashLoopStopsRun: one death more than MaxRestarts within the
// window is a crash loop; it counts the deaths before Ready, carries the
// last death's cause, and with StopOnCrashLoop Run returns it and nothing
// is restarted.
func TestFakeCrashLoopStopsRun(t *testing.T) {
	fc := startFake(t, Config{Workers: 1, RestartDelay: time.Millisecond, MaxRestartDelay: 2 * time.Millisecond,
		MaxRestarts: 3, StopOnCrashLoop: true})
	for i := range 4 {
		w, f := fc.fork()
		if i%2 == 0 {
			fc.ready(w)
		}
		if i < 3 {
			f.Exit(3)
		} else {
			f.Die(syscall.SIGSEGV)
		}
		fc.exit(w)
	}
	loop := fc.next(EventCrashLoop)
	if loop.Deaths != 4 || loop.EarlyDeaths != 2 || !errors.Is(loop.Err, ErrCrashLoop) {
		t.Fatalf("crash loop: %d deaths, %d early, err %v; want 4, 2 and ErrCrashLoop", loop.Deaths, loop.EarlyDeaths, loop.Err)
	}
	var exit interface{ ExitCode() int }
	if !errors.As(loop.Err, &exit) || exit.ExitCode() != -1 || !strings.Contains(loop.Err.Error(), "signal: segmentation fault") {
		t.Fatalf("crash-loop error %q does not carry the last death's signal", loop.Err)
	}
	if err := fc.stopped(); !errors.Is(err, ErrCrashLoop) || strings.Count(err.Error(), "cluster: ") != 1 {
		t.Fatalf("Run: %v, want ErrCrashLoop", err)
	}
	if n := fc.count(EventFork); n != 4 {
		t.Fatalf("%d forks, want 4: none after the crash loop", n)
	}
}

// TestFakeCrashLoopKeepsTryingSlowly: without StopOnCrashLoop the slot is
// retried every MaxRestartDelay, each death a crash loop again.
func TestFakeCrashLoopKeepsTryingSlowly(t *testing.T) {
	const slow = 30 * time.Millisecond
	fc := startFake(t, Config{Workers: 1, RestartDelay: time.Millisecond, MaxRestartDelay: slow, MaxRestarts: 2})
	for range 3 {
		w, f := fc.fork()
		f.Exit(1)
		fc.exit(w)
	}
	for i := range 2 {
		loop := fc.next(EventCrashLoop)
		w, f := fc.fork()
		if gap := fc.seen[len(fc.seen)-1].Time.Sub(loop.Time); gap < slow {
			t.Fatalf("retried %v after crash loop %d, want MaxRestartDelay (%v) or more", gap, i+1, slow)
		}
		f.Exit(1)
		fc.exit(w)
	}
	if n := len(fc.logs.with("cluster: crash loop: retrying slowly")); n < 2 {
		t.Fatalf("%d crash-loop log lines, want 2", n)
	}
}

// TestFakeCrashLoopOfStartErrors: replacements that cannot even start
// count as deaths before Ready: the slot goes into a crash loop whose
// error is the start's.
func TestFakeCrashLoopOfStartErrors(t *testing.T) {
	for _, how := range []string{"Dir", "exec"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			fc := startFake(t, Config{Workers: 1, RestartDelay: time.Millisecond, MaxRestartDelay: 2 * time.Millisecond,
				MaxRestarts: 2, StopOnCrashLoop: true, Settings: Settings{Dir: dir}})
			w, f := fc.fork()
			fc.ready(w)
			want := error(syscall.ENOENT)
			if how == "Dir" {
				if err := os.Remove(dir); err != nil {
					t.Fatal(err)
				}
			} else {
				want = errors.New("exec failed")
				fc.procs.Fail(want)
				fc.procs.Fail(want)
			}
			f.Exit(1)
			loop := fc.next(EventCrashLoop)
			if loop.Deaths != 3 || loop.EarlyDeaths != 2 || !errors.Is(loop.Err, want) {
				t.Fatalf("crash loop: %d deaths, %d early, err %v; want 3, 2 and %v", loop.Deaths, loop.EarlyDeaths, loop.Err, want)
			}
			if how == "Dir" && !strings.Contains(loop.Err.Error(), strconv.Quote(dir)) {
				t.Fatalf("crash-loop error %q does not name the directory", loop.Err)
			}
			if err := fc.stopped(); !errors.Is(err, ErrCrashLoop) || !errors.Is(err, want) || strings.Count(err.Error(), "cluster: ") != 1 {
				t.Fatalf("Run: %v, want ErrCrashLoop and the start error", err)
			}
		})
	}
}

// TestFakeRestartBudgetIsAWindow: deaths further apart than the window
// never make a crash loop, however many; two within it do.
func TestFakeRestartBudgetIsAWindow(t *testing.T) {
	const window = 30 * time.Millisecond
	fc := startFake(t, Config{Workers: 1, RestartDelay: time.Millisecond, MaxRestarts: 1, RestartWindow: window})
	w, f := fc.fork()
	for range 4 {
		fc.ready(w) // replaced at once: its death is recorded before the replacement's fork
		f.Exit(2)
		fc.exit(w)
		w, f = fc.fork()
		// Wait out the window from the replacement's start (not a guess:
		// the death it follows is older).
		<-time.After(time.Until(fc.seen[len(fc.seen)-1].Time.Add(window)))
	}
	fc.settled()
	if n := fc.count(EventCrashLoop); n != 0 {
		t.Fatalf("%d crash loops from deaths %v apart with a %v window", n, window, window)
	}
	// Two deaths within the window are over the budget of 1 (a window of a
	// minute: however slow the machine, they are within it).
	fc = startFake(t, Config{Workers: 1, RestartDelay: time.Millisecond, MaxRestarts: 1, RestartWindow: time.Minute})
	w, f = fc.fork()
	fc.ready(w)
	f.Exit(2)
	fc.exit(w)
	w, f = fc.fork()
	f.Exit(2)
	fc.exit(w)
	if e := fc.next(EventCrashLoop); e.Deaths != 2 || e.EarlyDeaths != 1 {
		t.Fatalf("crash loop: %d deaths, %d early; want 2 and 1", e.Deaths, e.EarlyDeaths)
	}
}

// TestFakeReadyTimeoutKillsAndReplaces: a worker not ready within
// ReadyTimeout gets ErrNotReady and SIGKILL, which is no deliberate stop:
// it is replaced.
func TestFakeReadyTimeoutKillsAndReplaces(t *testing.T) {
	fc := startFake(t, Config{Workers: 1, ReadyTimeout: 5 * time.Millisecond, RestartDelay: time.Millisecond})
	w, f := fc.fork()
	if e := fc.next(EventError); e.Worker != w || !errors.Is(e.Err, ErrNotReady) {
		t.Fatalf("error event %v, want ErrNotReady for worker %d", e, w.id)
	}
	if e := fc.exit(w); e.Signal != syscall.SIGKILL || w.ExitedAfterDisconnect() {
		t.Fatalf("exit: signal %v, deliberate %v; want SIGKILL, a death", e.Signal, w.ExitedAfterDisconnect())
	}
	if got := f.Signals(); !slices.Equal(got, []os.Signal{os.Kill}) {
		t.Fatalf("signals %v, want SIGKILL", got)
	}
	if next, _ := fc.fork(); next.slot != w.slot {
		t.Fatalf("replacement in slot %d, want %d", next.slot, w.slot)
	}
}

// TestFakeStubbornWorkerIsKilled: Disconnect of a worker that ignores its
// notice and SIGTERM ends with SIGKILL and ErrForced; it is not replaced.
func TestFakeStubbornWorkerIsKilled(t *testing.T) {
	fc := startFake(t, Config{Workers: 1})
	w, f := fc.fork()
	f.Ignore(syscall.SIGTERM)
	if err := w.Disconnect(context.Background()); !errors.Is(err, ErrForced) {
		t.Fatalf("Disconnect: %v, want ErrForced", err)
	}
	if got := f.Signals(); !slices.Equal(got, []os.Signal{syscall.SIGTERM, os.Kill}) {
		t.Fatalf("signals %v, want SIGTERM then SIGKILL", got)
	}
	if e := fc.exit(w); e.Signal != syscall.SIGKILL || !w.ExitedAfterDisconnect() {
		t.Fatalf("exit: signal %v deliberate %v", e.Signal, w.ExitedAfterDisconnect())
	}
	fc.settled()
	if n := len(fc.procs.Started()); n != 1 {
		t.Fatalf("%d starts: a disconnected worker was replaced", n)
	}
}
