//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

func TestCrashLoopStopsRunWhenAsked(t *testing.T) {
	p, err := cluster.New(cluster.Config{Workers: 1, NoSignals: true, RestartDelay: 5 * time.Millisecond,
		MaxRestartDelay: 20 * time.Millisecond, MaxRestarts: 3, StopOnCrashLoop: true,
		Settings: cluster.Settings{Env: env("crash")}})
	if err != nil {
		t.Fatal(err)
	}
	events := p.Events(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	var loop *cluster.Event
	forks := 0
	for e := range events { // closed when Run returns
		switch e.Type {
		case cluster.EventFork:
			forks++
		case cluster.EventCrashLoop:
			loop = &e
		}
	}
	select {
	case err := <-done:
		if !errors.Is(err, cluster.ErrCrashLoop) {
			t.Fatalf("Run: %v, want ErrCrashLoop", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop on the crash loop")
	}
	if loop == nil || loop.Deaths != 4 || loop.EarlyDeaths != 4 || !errors.Is(loop.Err, cluster.ErrCrashLoop) {
		t.Fatalf("crash-loop event %+v", loop)
	}
	// The error carries the last death's cause: the worker's exit status.
	var exit *exec.ExitError
	if !errors.As(loop.Err, &exit) || exit.ExitCode() != 3 || !strings.Contains(loop.Err.Error(), "exit status 3") {
		t.Fatalf("crash-loop error %q does not carry the exit status 3", loop.Err)
	}
	if forks != 4 {
		t.Fatalf("%d forks, want 4: the first and 3 restarts", forks)
	}
}

// TestCrashLoopOfStartErrors: replacements that cannot even start (their
// working directory is gone) count as deaths: the slot goes into a crash
// loop whose error is the start's.
func TestCrashLoopOfStartErrors(t *testing.T) {
	dir := t.TempDir()
	p, err := cluster.New(cluster.Config{Workers: 1, NoSignals: true, RestartDelay: 5 * time.Millisecond,
		MaxRestartDelay: 20 * time.Millisecond, MaxRestarts: 2, StopOnCrashLoop: true,
		Settings: cluster.Settings{Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	events := p.Events(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var loop *cluster.Event
	for e := range events { // closed when Run returns
		switch e.Type {
		case cluster.EventReady:
			if err := os.Remove(dir); err != nil {
				t.Error(err)
			}
			e.Worker.Process().Signal(syscall.SIGKILL) // a crash
		case cluster.EventCrashLoop:
			loop = &e
		}
	}
	err2 := <-done
	if loop == nil || !errors.Is(loop.Err, fs.ErrNotExist) || !strings.Contains(loop.Err.Error(), strconv.Quote(dir)) {
		t.Fatalf("crash-loop event %v, want the start error naming %s", loop, dir)
	}
	if !errors.Is(err2, cluster.ErrCrashLoop) || !errors.Is(err2, fs.ErrNotExist) || strings.Count(err2.Error(), "cluster: ") != 1 {
		t.Fatalf("Run: %v, want ErrCrashLoop and the start error", err2)
	}
	t.Log(err2)
}

func TestCrashLoopKeepsTryingSlowly(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, RestartDelay: 5 * time.Millisecond,
		MaxRestartDelay: 200 * time.Millisecond, MaxRestarts: 2, Settings: cluster.Settings{Env: env("crash")}})
	first := tc.event(cluster.EventCrashLoop, nil)
	next := tc.waitFor(10*time.Second, "fork after the crash loop", func(e cluster.Event) bool {
		return e.Type == cluster.EventFork && e.Time.After(first.Time)
	})
	if gap := next.Time.Sub(first.Time); gap < 200*time.Millisecond {
		t.Fatalf("retried %v after the crash loop, want MaxRestartDelay (200ms) or more", gap)
	}
}

// TestRestartBudgetIsAWindow: deaths spread out wider than the window never
// make a crash loop, however many there are.
func TestRestartBudgetIsAWindow(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, RestartDelay: time.Millisecond,
		MaxRestartDelay: 5 * time.Millisecond, MaxRestarts: 1, RestartWindow: 150 * time.Millisecond})
	for i := range 4 {
		w := tc.ready(1)[0]
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		w.Request(ctx, []byte("exit:2"))
		cancel()
		tc.event(cluster.EventExit, w)
		if i < 3 {
			time.Sleep(250 * time.Millisecond) // longer than the window
		}
	}
	tc.ready(1)
	for _, e := range tc.all() {
		if e.Type == cluster.EventCrashLoop {
			t.Fatalf("crash loop from deaths %v apart with a %v window: %v", 250*time.Millisecond, 150*time.Millisecond, e)
		}
	}
}

func TestScaleUpAndDown(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, RestartDelay: time.Millisecond})
	tc.ready(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := tc.p.Scale(ctx, 3); err != nil {
		t.Fatal(err)
	}
	ws := tc.ready(3)
	if len(ws) != 3 {
		t.Fatalf("%d workers after Scale(3)", len(ws))
	}
	if err := tc.p.Scale(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// Scale returned once the stopped workers had left: none was replaced.
	if left := tc.p.Workers(); len(left) != 1 || left[0] != ws[0] {
		t.Fatalf("after Scale(1): workers %v, want worker %d only", left, ws[0].ID())
	}
	for _, w := range ws[1:] {
		if e := tc.event(cluster.EventExit, w); !e.Worker.ExitedAfterDisconnect() {
			t.Fatalf("scaled-down worker %d exited as a crash", w.ID())
		}
	}
	if err := tc.p.Scale(ctx, -1); !errors.Is(err, cluster.ErrInvalidConfig) {
		t.Fatalf("Scale(-1): %v", err)
	}
}

// TestScaleWaitsForTheStops: Scale down returns once the workers it
// stopped have exited, or with ctx's error when ctx ends first.
func TestScaleWaitsForTheStops(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 2, DrainTimeout: 300 * time.Millisecond,
		KillTimeout: 300 * time.Millisecond, Settings: cluster.Settings{Env: env("stubborn")}})
	ws := tc.ready(2)
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := tc.p.Scale(short, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Scale(1) with a context shorter than the drain: %v, want DeadlineExceeded", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := tc.p.Scale(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if left := tc.p.Workers(); len(left) != 0 {
		t.Fatalf("after Scale(0) returned: workers %v", left)
	}
	for _, w := range ws {
		if !w.IsDead() {
			t.Fatalf("worker %d is alive", w.ID())
		}
	}
}

func TestReadyTimeoutKillsAndReplaces(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, ReadyTimeout: 200 * time.Millisecond,
		RestartDelay: time.Millisecond, Settings: cluster.Settings{Env: env("noready")}})
	first := tc.event(cluster.EventFork, nil).Worker
	e := tc.event(cluster.EventError, first)
	if !errors.Is(e.Err, cluster.ErrNotReady) {
		t.Fatalf("error event %v, want ErrNotReady", e.Err)
	}
	if x := tc.event(cluster.EventExit, first); x.Worker.ExitedAfterDisconnect() {
		t.Fatal("a worker killed for not being ready counts as a deliberate stop")
	}
	tc.waitFor(10*time.Second, "replacement", func(e cluster.Event) bool {
		return e.Type == cluster.EventFork && e.Worker != first
	})
}

func TestReadyOnListen(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, ReadyOnListen: true,
		Settings: cluster.Settings{Env: append(env("tcpid"), envNoReady+"=1")}})
	w := tc.event(cluster.EventListening, nil).Worker
	tc.event(cluster.EventReady, w)
	if !w.IsReady() {
		t.Fatal("a worker that listens is not ready with ReadyOnListen")
	}
}

// exitWith makes w exit with code on its own and waits for its exit event.
func (tc *testCluster) exitWith(w *cluster.Worker, code int) cluster.Event {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.Request(ctx, []byte("exit:"+strconv.Itoa(code))) // no reply: the worker exits
	return tc.event(cluster.EventExit, w)
}

// forkAfter forks a worker once the supervisor has handled what came
// before (the exit just seen, and its replacement if any): Fork is queued
// behind it. It returns the worker and the workers listed besides it.
func (tc *testCluster) forkAfter() (*cluster.Worker, []*cluster.Worker) {
	tc.t.Helper()
	w, err := tc.p.Fork()
	if err != nil {
		tc.t.Fatal(err)
	}
	var others []*cluster.Worker
	for _, o := range tc.p.Workers() {
		if o != w {
			others = append(others, o)
		}
	}
	return w, others
}

// TestRestartPolicy: RestartAlways (the zero value) replaces a worker that
// exits with status 0 on its own; RestartOnFailure replaces one that
// fails, not one that finishes; RestartNever replaces none, so a program
// that forks on exit, as Node programs do, keeps its count.
func TestRestartPolicy(t *testing.T) {
	t.Run("always", func(t *testing.T) {
		tc := startCluster(t, cluster.Config{Workers: 1})
		w := tc.ready(1)[0]
		tc.exitWith(w, 0)
		next := tc.waitFor(10*time.Second, "replacement", func(e cluster.Event) bool {
			return e.Type == cluster.EventFork && e.Worker != w
		}).Worker
		if got := ask(t, next, "id"); got != strconv.Itoa(next.ID()) {
			t.Fatalf("replacement answered %q", got)
		}
	})
	t.Run("on-failure", func(t *testing.T) {
		tc := startCluster(t, cluster.Config{Workers: 1, Restart: cluster.RestartOnFailure})
		w := tc.ready(1)[0]
		tc.exitWith(w, 0)
		forked, others := tc.forkAfter()
		if len(others) != 0 {
			t.Fatalf("a worker that exited with status 0 was replaced: %v", others)
		}
		tc.ready(1)
		tc.exitWith(forked, 3)
		next := tc.waitFor(10*time.Second, "replacement", func(e cluster.Event) bool {
			return e.Type == cluster.EventFork && e.Worker != w && e.Worker != forked
		}).Worker
		if got := ask(t, next, "id"); got != strconv.Itoa(next.ID()) {
			t.Fatalf("replacement answered %q", got)
		}
	})
	t.Run("never", func(t *testing.T) {
		tc := startCluster(t, cluster.Config{Workers: 2, Restart: cluster.RestartNever})
		ws := tc.ready(2)
		tc.exitWith(ws[0], 3)
		forked, others := tc.forkAfter() // the Node way: fork on 'exit'
		if len(others) != 1 || others[0] != ws[1] {
			t.Fatalf("besides the worker forked on exit: %v, want worker %d only", others, ws[1].ID())
		}
		if got := ask(t, forked, "id"); got != strconv.Itoa(forked.ID()) {
			t.Fatalf("forked worker answered %q", got)
		}
	})
	if _, err := cluster.New(cluster.Config{Restart: cluster.RestartNever + 1}); !errors.Is(err, cluster.ErrInvalidConfig) {
		t.Fatalf("New with an unknown restart policy: %v", err)
	}
	if s := cluster.RestartOnFailure.String(); s != "on-failure" {
		t.Fatalf("RestartOnFailure prints as %q", s)
	}
}
