//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

func TestLifecycleEvents(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1})
	w := tc.ready(1)[0]
	if !w.IsConnected() || w.IsDead() || w.ExitedAfterDisconnect() {
		t.Fatalf("live worker: connected=%v dead=%v exitedAfterDisconnect=%v", w.IsConnected(), w.IsDead(), w.ExitedAfterDisconnect())
	}
	if got := ask(t, w, "id"); got != "1" {
		t.Fatalf("worker says its id is %q, want 1", got)
	}
	if err := w.Disconnect(context.Background()); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	exit := tc.event(cluster.EventExit, w)
	if exit.ExitCode != 0 || exit.Signal != nil {
		t.Fatalf("exit: code %d signal %v, want 0 and none", exit.ExitCode, exit.Signal)
	}
	want := []cluster.EventType{cluster.EventFork, cluster.EventOnline, cluster.EventReady, cluster.EventDisconnect, cluster.EventExit}
	if got := tc.types(w); !slices.Equal(got, want) {
		t.Fatalf("events of the worker: %v, want %v", got, want)
	}
	if first := tc.all()[0]; first.Type != cluster.EventSetup || first.Settings == nil {
		t.Fatalf("first event %v, want setup with settings", first)
	}
	if w.IsConnected() || !w.IsDead() || !w.ExitedAfterDisconnect() {
		t.Fatalf("after Disconnect: connected=%v dead=%v exitedAfterDisconnect=%v", w.IsConnected(), w.IsDead(), w.ExitedAfterDisconnect())
	}
	tc.onlyForked("a disconnected worker")
}

func TestKillReportsSignalAndIsNotReplaced(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, RestartDelay: 10 * time.Millisecond})
	w := tc.ready(1)[0]
	if err := w.Kill(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	exit := tc.event(cluster.EventExit, w)
	if exit.Signal != syscall.SIGKILL || exit.ExitCode != -1 {
		t.Fatalf("exit: code %d signal %v, want -1 and killed", exit.ExitCode, exit.Signal)
	}
	if !w.ExitedAfterDisconnect() {
		t.Fatal("Kill must count as a deliberate stop")
	}
	tc.onlyForked("a killed worker")
}

func TestCrashedWorkerIsReplaced(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, RestartDelay: 10 * time.Millisecond})
	w := tc.ready(1)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.Request(ctx, []byte("exit:3")) // no reply: the worker exits
	exit := tc.event(cluster.EventExit, w)
	if exit.ExitCode != 3 || w.ExitedAfterDisconnect() {
		t.Fatalf("exit code %d exitedAfterDisconnect %v, want 3 and false", exit.ExitCode, w.ExitedAfterDisconnect())
	}
	next := tc.ready(1)[0]
	if next.ID() != 2 {
		t.Fatalf("replacement has id %d, want 2 (ids are not reused)", next.ID())
	}
	if got := ask(t, next, "echo:back"); got != "back" {
		t.Fatalf("replacement answers %q", got)
	}
}

func TestStubbornWorkerIsKilledAfterDeadlines(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, DrainTimeout: 200 * time.Millisecond,
		KillTimeout: 200 * time.Millisecond, Settings: cluster.Settings{Env: env("stubborn")}})
	w := tc.ready(1)[0]
	start := time.Now()
	err := w.Disconnect(context.Background())
	if !errors.Is(err, cluster.ErrForced) {
		t.Fatalf("Disconnect of a worker that ignores notice and SIGTERM: %v, want ErrForced", err)
	}
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Fatalf("killed after %v, before both deadlines (400ms)", took)
	}
	if e := tc.event(cluster.EventExit, w); e.Signal != syscall.SIGKILL {
		t.Fatalf("exit signal %v, want SIGKILL", e.Signal)
	}
}

func TestWorkerWithoutShutdownHandlerExitsOnNotice(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, Settings: cluster.Settings{Env: env("plain")}})
	w := tc.ready(1)[0]
	if err := w.Disconnect(context.Background()); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	if e := tc.event(cluster.EventExit, w); e.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0", e.ExitCode)
	}
}

func TestRunStopsEveryWorkerWhenContextEnds(t *testing.T) {
	p, err := cluster.New(cluster.Config{Workers: 2, NoSignals: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := p.Events(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var forked []*cluster.Worker
	for ready := 0; ready < 2; {
		e := <-events
		switch e.Type {
		case cluster.EventFork:
			forked = append(forked, e.Worker)
		case cluster.EventReady:
			ready++
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	for _, w := range forked {
		if !w.IsDead() || !w.ExitedAfterDisconnect() {
			t.Errorf("worker %d after Run: dead=%v exitedAfterDisconnect=%v", w.ID(), w.IsDead(), w.ExitedAfterDisconnect())
		}
	}
	for range events { // the channel must close after the last exit
	}
	if err := p.Run(context.Background()); !errors.Is(err, cluster.ErrRunning) {
		t.Fatalf("second Run: %v, want ErrRunning", err)
	}
	if _, err := p.Fork(); !errors.Is(err, cluster.ErrNotRunning) {
		t.Fatalf("Fork after Run: %v, want ErrNotRunning", err)
	}
}

func TestForkEnvAndSetup(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1})
	tc.ready(1)
	w, err := tc.p.Fork("GREETING=hi")
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, w, "env:GREETING"); got != "hi" {
		t.Fatalf("forked worker sees GREETING=%q", got)
	}
	if err := tc.p.Setup(cluster.Settings{Env: []string{"KIND=https"}}); err != nil {
		t.Fatal(err)
	}
	tc.waitFor(5*time.Second, "second setup", func(e cluster.Event) bool {
		return e.Type == cluster.EventSetup && e.Settings != nil && slices.Contains(e.Settings.Env, "KIND=https")
	})
	w2, err := tc.p.Fork()
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, w2, "env:KIND"); got != "https" {
		t.Fatalf("worker forked after Setup sees KIND=%q", got)
	}
	if got := ask(t, w2, "env:"+cluster.EnvWorkerID); got != "" {
		t.Fatalf("the worker's own environment still has %s=%q", cluster.EnvWorkerID, got)
	}
	if _, err := tc.p.Fork("NOEQUALS"); !errors.Is(err, cluster.ErrInvalidConfig) {
		t.Fatalf("Fork with a bad env entry: %v", err)
	}
}

// TestWorkerProcs checks the GOMAXPROCS workers get: the CPUs divided
// among them by default (a GOMAXPROCS the Go runtime ignores, empty or 0,
// counts as unset), a set one is kept, WorkerProcs -1 adds none.
func TestWorkerProcs(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	want := strconv.Itoa(max(1, runtime.NumCPU()/2))
	tc := startCluster(t, cluster.Config{Workers: 2, Settings: cluster.Settings{Env: []string{"GOMAXPROCS=0"}}})
	tc.ready(2)
	w := tc.p.Workers()[0]
	if got := ask(t, w, "env:GOMAXPROCS"); got != want {
		t.Errorf("default: GOMAXPROCS=%q, want %q", got, want)
	}
	w, err := tc.p.Fork("GOMAXPROCS=3")
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(t, w, "env:GOMAXPROCS"); got != "3" {
		t.Errorf("set by the caller: GOMAXPROCS=%q, want 3", got)
	}
	tc2 := startCluster(t, cluster.Config{Workers: 1, WorkerProcs: -1})
	tc2.ready(1)
	if got := ask(t, tc2.p.Workers()[0], "env:GOMAXPROCS"); got != "" {
		t.Errorf("WorkerProcs -1: GOMAXPROCS=%q, want none", got)
	}
}

func TestSilentPrefixesOutput(t *testing.T) {
	var out, errOut safeBuffer
	tc := startCluster(t, cluster.Config{Workers: 1, Stdout: &out, Stderr: &errOut,
		Settings: cluster.Settings{Silent: true}})
	w := tc.ready(1)[0]
	ask(t, w, "print:hello there")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "[worker 1] hello there\n") || !strings.Contains(errOut.String(), "[worker 1] stderr hello there\n") {
		if time.Now().After(deadline) {
			t.Fatalf("stdout %q, stderr %q", out.String(), errOut.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestExecRunsAnotherProgramWithArgs(t *testing.T) {
	var out safeBuffer
	tc := startCluster(t, cluster.Config{Workers: 1, Stdout: &out, Settings: cluster.Settings{
		Exec: "/bin/sh", Args: []string{"-c", `echo "args: $1 $2"; exec sleep 30`, "sh", "one", "two"}, Silent: true}})
	w := tc.event(cluster.EventFork, nil).Worker
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "[worker 1] args: one two\n") {
		if time.Now().After(deadline) {
			t.Fatalf("output %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if w.IsConnected() {
		t.Fatal("a program that never spoke the protocol counts as connected")
	}
	w.Kill(syscall.SIGKILL)
	tc.event(cluster.EventExit, w)
}

// TestExecScript: a "#!" script runs as a worker program. (On Linux a
// generation's program is started from the file the primary holds open,
// which a script's interpreter could not open: scripts run from their
// path.)
func TestExecScript(t *testing.T) {
	script := filepath.Join(t.TempDir(), "worker.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"script $1\"\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out safeBuffer
	tc := startCluster(t, cluster.Config{Workers: 1, Stdout: &out, Settings: cluster.Settings{
		Exec: script, Args: []string{"ran"}, Silent: true}})
	w := tc.event(cluster.EventFork, nil).Worker
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "[worker 1] script ran\n") {
		if time.Now().After(deadline) {
			t.Fatalf("output %q; events %v", out.String(), tc.all())
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.Kill(syscall.SIGKILL)
	tc.event(cluster.EventExit, w)
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  cluster.Config
		want string
	}{
		{cluster.Config{Workers: -2}, "Workers"},
		{cluster.Config{DrainTimeout: -time.Second}, "negative"},
		{cluster.Config{RestartDelay: time.Second, MaxRestartDelay: time.Millisecond}, "MaxRestartDelay"},
		{cluster.Config{Settings: cluster.Settings{Env: []string{"=x"}}}, "KEY=value"},
		{cluster.Config{MaxMessageSize: -5}, "MaxMessageSize"},
		{cluster.Config{MaxMessageSize: 10}, "MinMessageSize"},
		{cluster.Config{MaxMessageSize: cluster.MinMessageSize - 1}, "MinMessageSize"},
		{cluster.Config{WorkerProcs: -2}, "WorkerProcs"},
	} {
		_, err := cluster.New(tt.cfg)
		if !errors.Is(err, cluster.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want ErrInvalidConfig naming %s", tt.cfg, err, tt.want)
		}
	}
}

// TestBadExecFailsRun: a program that is missing, or that exec refuses (a
// file without the execute bit), fails Run with an error naming it, not the
// descriptor it was started from.
func TestBadExecFailsRun(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "program")
	if err := os.WriteFile(notExec, []byte("\x7fELF not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, prog := range []string{"/nonexistent/program", notExec} {
		p, err := cluster.New(cluster.Config{Workers: 1, NoSignals: true,
			Settings: cluster.Settings{Exec: prog}})
		if err != nil {
			t.Fatal(err)
		}
		err = p.Run(context.Background())
		if err == nil || strings.Count(err.Error(), prog) != 2 || strings.Contains(err.Error(), "/proc/") {
			t.Fatalf("Run with program %s: %v", prog, err)
		}
		t.Log(err)
	}
}

// TestBadDirFailsRun: a Settings.Dir workers cannot start in fails Run with
// an error that names it (exec alone would name the program).
func TestBadDirFailsRun(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"/nonexistent", notDir} {
		p, err := cluster.New(cluster.Config{Workers: 1, NoSignals: true, Settings: cluster.Settings{Dir: dir}})
		if err != nil {
			t.Fatal(err)
		}
		err = p.Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), strconv.Quote(dir)) || !strings.Contains(err.Error(), "Dir") {
			t.Fatalf("Run with Dir %s: %v, want an error naming the directory", dir, err)
		}
		t.Log(err)
	}
}

func TestWorkerCallsOutsideAWorker(t *testing.T) {
	if !cluster.IsPrimary() || cluster.IsWorker() || cluster.ID() != 0 {
		t.Fatal("the test process is a primary")
	}
	if err := cluster.Send([]byte("x")); !errors.Is(err, cluster.ErrNotWorker) {
		t.Errorf("Send: %v", err)
	}
	if _, err := cluster.Request(context.Background(), nil); !errors.Is(err, cluster.ErrNotWorker) {
		t.Errorf("Request: %v", err)
	}
	if err := cluster.Ready(); err != nil {
		t.Errorf("Ready outside a cluster: %v, want nil (the program runs on its own)", err)
	}
	if err := cluster.SendTo(context.Background(), 1, []byte("x")); !errors.Is(err, cluster.ErrNotWorker) {
		t.Errorf("SendTo: %v", err)
	}
	if err := cluster.Disconnect(context.Background()); !errors.Is(err, cluster.ErrNotWorker) {
		t.Errorf("Disconnect: %v", err)
	}
}

// TestChildrenOfWorkersDoNotInheritTheChannel: a program a worker starts
// holds none of the channel's descriptors (else the primary would not see
// the worker's channel end when the worker does).
func TestChildrenOfWorkersDoNotInheritTheChannel(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc")
	}
	tc := startCluster(t, cluster.Config{Workers: 1})
	w := tc.ready(1)[0]
	if got := ask(t, w, "child-fds"); got != "clean" {
		t.Fatalf("a program started by the worker holds its channel: %s", got)
	}
}
