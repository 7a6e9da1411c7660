package cluster_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

// TestAbortedReloadRestartsTheOldBuild: a new build replaces the program on
// disk (write, then rename, as deploys do) and exits at once, so the
// reload is aborted. An old worker killed after that is replaced by one
// that runs the old build, the one its generation started from, and
// serves: the bad build on disk does not make the slot crash-loop.
func TestAbortedReloadRestartsTheOldBuild(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "worker")
	copyFile(t, self, prog)
	tc := startCluster(t, cluster.Config{Workers: 2, RestartDelay: time.Millisecond, Settings: cluster.Settings{Exec: prog}})
	old := tc.ready(2)

	next := filepath.Join(dir, "worker.next")
	if err := os.WriteFile(next, []byte("#!/bin/sh\nexit 7\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, prog); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := tc.p.Reload(ctx); !errors.Is(err, cluster.ErrReloadAborted) {
		t.Fatalf("Reload to a build that exits at once: %v, want ErrReloadAborted", err)
	}

	if err := old[0].Process().Signal(syscall.SIGKILL); err != nil { // a crash, not a deliberate stop
		t.Fatal(err)
	}
	tc.event(cluster.EventExit, old[0])
	repl := tc.waitFor(10*time.Second, "fork of the replacement", func(e cluster.Event) bool {
		return e.Type == cluster.EventFork && e.Worker.Generation() == 1 && !slices.Contains(old, e.Worker)
	}).Worker
	end := tc.waitFor(10*time.Second, "ready or exit of the replacement", func(e cluster.Event) bool {
		return e.Worker == repl && (e.Type == cluster.EventReady || e.Type == cluster.EventExit)
	})
	if end.Type == cluster.EventExit {
		t.Fatalf("the replacement of an old worker ran the aborted build: exit code %d", end.ExitCode)
	}
	if got := ask(t, repl, "gen"); got != "1" {
		t.Fatalf("the replacement says its generation is %q", got)
	}
	if got := ask(t, old[1], "echo:alive"); got != "alive" {
		t.Fatalf("the other old worker answered %q", got)
	}
	// A worker forked after the abort joins the generation that serves.
	forked, err := tc.p.Fork()
	if err != nil {
		t.Fatal(err)
	}
	end = tc.waitFor(10*time.Second, "ready or exit of the forked worker", func(e cluster.Event) bool {
		return e.Worker == forked && (e.Type == cluster.EventReady || e.Type == cluster.EventExit)
	})
	if end.Type == cluster.EventExit || forked.Generation() != 1 {
		t.Fatalf("a worker forked after the abort: generation %d, %v (want generation 1, ready)", forked.Generation(), end)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
