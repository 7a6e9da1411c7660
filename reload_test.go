//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/internal/clustertest"
)

// TestReloadUnderLoadFailsNoRequest: 16 keep-alive clients that never retry
// keep requests going through 5 reloads in a row: not one request fails,
// and every answer to a request sent after a reload returned comes from the
// new generation.
func TestReloadUnderLoadFailsNoRequest(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 2, Settings: cluster.Settings{Env: append(env("httpserve"), envAddr+"=127.0.0.1:0")}})
	ws := tc.ready(2)
	addr := tc.event(cluster.EventListening, ws[0]).Addr.String()
	var gen atomic.Int64
	gen.Store(1)
	var stale, checked atomic.Int64
	load := clustertest.StartHTTPLoad(t, addr, 16, 60*time.Second, gen.Load, func(want int64, body string) {
		var id, got int64
		if _, err := fmt.Sscanf(body, "worker %d gen %d", &id, &got); err != nil || got < want {
			stale.Add(1)
			t.Logf("sent after generation %d was in, answered %q", want, body)
		}
		checked.Add(1)
	})
	time.Sleep(200 * time.Millisecond)
	for i := 2; i <= 6; i++ {
		before := load.Total.Load()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := tc.p.Reload(ctx)
		cancel()
		if err != nil {
			load.Finish("")
			t.Fatalf("reload %d: %v", i-1, err)
		}
		gen.Store(int64(i))
		for _, w := range tc.p.Workers() {
			if w.Generation() != i {
				t.Errorf("after reload %d, worker %d is of generation %d", i-1, w.ID(), w.Generation())
			}
		}
		t.Logf("reload %d took %v, %d requests meanwhile", i-1, time.Since(start).Round(time.Millisecond), load.Total.Load()-before)
		time.Sleep(150 * time.Millisecond)
	}
	n := load.Finish("during the reloads")
	if stale.Load() != 0 {
		t.Fatalf("%d of %d answers came from an older generation than the reload that had returned", stale.Load(), checked.Load())
	}
	if e := tc.event(cluster.EventReloadDone, nil); e.Err != nil || e.Generation != 2 {
		t.Fatalf("first reload-done event: generation %d, err %v", e.Generation, e.Err)
	}
	t.Logf("%d requests over 5 reloads, none failed", n)
}

// TestReloadAbortsWhenNewGenerationNeverReady: a new build that never
// becomes ready, or that crashes at start, aborts the reload; the old
// workers keep serving.
func TestReloadAbortsWhenNewGenerationNeverReady(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 2, ReadyTimeout: 700 * time.Millisecond, DrainTimeout: 500 * time.Millisecond})
	old := tc.ready(2)
	for _, mode := range []string{"noready", "crash"} {
		if err := tc.p.Setup(cluster.Settings{Env: env(mode)}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := tc.p.Reload(ctx)
		cancel()
		if !errors.Is(err, cluster.ErrReloadAborted) {
			t.Fatalf("%s build: Reload returned %v, want ErrReloadAborted", mode, err)
		}
		if mode == "noready" && !errors.Is(err, cluster.ErrNotReady) {
			t.Fatalf("noready build: %v does not wrap ErrNotReady", err)
		}
		t.Logf("%s build: %v", mode, err)
		for _, w := range old {
			if w.IsDead() || w.ExitedAfterDisconnect() {
				t.Fatalf("%s build: old worker %d was stopped", mode, w.ID())
			}
			if got := ask(t, w, "id"); got != strconv.Itoa(w.ID()) {
				t.Fatalf("old worker %d answered %q", w.ID(), got)
			}
		}
		// An aborted Reload returns once the workers it stopped are gone.
		if ws := tc.p.Workers(); len(ws) != 2 || ws[0] != old[0] || ws[1] != old[1] {
			t.Fatalf("%s build: after the aborted reload the workers are %v", mode, ws)
		}
	}
}

// TestReloadOneAtATime: while a reload runs, a second Reload and Scale fail
// with ErrReloading; a Reload whose context ends is aborted.
func TestReloadOneAtATime(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, DrainTimeout: 500 * time.Millisecond})
	old := tc.ready(1)[0]
	if err := tc.p.Setup(cluster.Settings{Env: env("noready")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	first := make(chan error, 1)
	go func() { first <- tc.p.Reload(ctx) }()
	tc.event(cluster.EventReload, nil)
	if err := tc.p.Reload(context.Background()); !errors.Is(err, cluster.ErrReloading) {
		t.Fatalf("second Reload: %v, want ErrReloading", err)
	}
	if err := tc.p.Scale(context.Background(), 3); !errors.Is(err, cluster.ErrReloading) {
		t.Fatalf("Scale during a reload: %v, want ErrReloading", err)
	}
	err := <-first
	if !errors.Is(err, cluster.ErrReloadAborted) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Reload whose context ended: %v", err)
	}
	if old.IsDead() || ask(t, old, "id") != strconv.Itoa(old.ID()) {
		t.Fatal("the old worker does not serve after the aborted reload")
	}
}

// TestSIGHUPReloads: SIGHUP to the primary's process reloads; the new
// workers know their generation.
func TestSIGHUPReloads(t *testing.T) {
	tc := startClusterSignals(t, cluster.Config{Workers: 2}, true)
	old := tc.ready(2)
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if e := tc.event(cluster.EventReloadDone, nil); e.Err != nil || e.Generation != 2 {
		t.Fatalf("reload-done: generation %d, err %v", e.Generation, e.Err)
	}
	ws := tc.p.Workers()
	if len(ws) != 2 {
		t.Fatalf("%d workers after the reload", len(ws))
	}
	for _, w := range ws {
		if w == old[0] || w == old[1] {
			t.Fatalf("old worker %d still runs", w.ID())
		}
		if got := ask(t, w, "gen"); got != "2" {
			t.Fatalf("worker %d says its generation is %q", w.ID(), got)
		}
	}
}

// TestReloadAbortWithSurge: with room for two new workers at once, a new
// build that crashes at start aborts the reload without a replacement
// being forked into a slot the abort dropped; the old workers serve on.
func TestReloadAbortWithSurge(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 4, MaxSurge: 2, RestartDelay: time.Millisecond})
	old := tc.ready(4)
	if err := tc.p.Setup(cluster.Settings{Env: env("crash")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := tc.p.Reload(ctx); !errors.Is(err, cluster.ErrReloadAborted) {
		t.Fatalf("Reload: %v", err)
	}
	// Reload returned after the exit of both new workers was handled: a
	// replacement of either would be listed now.
	for _, w := range old {
		if got := ask(t, w, "id"); got != strconv.Itoa(w.ID()) {
			t.Fatalf("old worker %d answered %q", w.ID(), got)
		}
	}
	if ws := tc.p.Workers(); len(ws) != 4 || !slices.Equal(ws, old) {
		t.Fatalf("workers after the aborted reload: %v, want the old ones %v", ws, old)
	}
}
