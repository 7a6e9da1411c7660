//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

// TestCrashLoopStopsRunWhenAsked, with real processes: a real exit status
// reaches the crash loop's error as an *exec.ExitError. (The rules of the
// budget: TestFakeCrashLoopStopsRun and the other fake tests.)
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

func TestReadyOnListen(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, ReadyOnListen: true,
		Settings: cluster.Settings{Env: append(env("tcpid"), envNoReady+"=1")}})
	w := tc.event(cluster.EventListening, nil).Worker
	tc.event(cluster.EventReady, w)
	if !w.IsReady() {
		t.Fatal("a worker that listens is not ready with ReadyOnListen")
	}
}

// TestRestartPolicyConfig: New rejects an unknown policy; the policies
// print as systemd names. (What each replaces: TestFakeRestartPolicy.)
func TestRestartPolicyConfig(t *testing.T) {
	if _, err := cluster.New(cluster.Config{Restart: cluster.RestartNever + 1}); !errors.Is(err, cluster.ErrInvalidConfig) {
		t.Fatalf("New with an unknown restart policy: %v", err)
	}
	if s := cluster.RestartOnFailure.String(); s != "on-failure" {
		t.Fatalf("RestartOnFailure prints as %q", s)
	}
}
