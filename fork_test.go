//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

// TestForkBeforeRunWithNoWorkers: with NoWorkers, Run starts no worker of
// its own. A worker forked right after New, before Run, and one forked
// while Run runs, each get their own env and serve; every event of theirs
// is delivered, setup first, and Run stops both.
func TestForkBeforeRunWithNoWorkers(t *testing.T) {
	p, err := cluster.New(cluster.Config{Workers: cluster.NoWorkers, NoSignals: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	events := p.Events(context.Background())
	first, err := p.Fork("ROLE=first")
	if err != nil {
		t.Fatalf("Fork before Run: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return")
		}
	}
	t.Cleanup(stop)
	second, err := p.Fork("ROLE=second")
	if err != nil {
		t.Fatalf("Fork while Run starts or runs: %v", err)
	}

	var got []cluster.Event
	ready := 0
	timeout := time.After(15 * time.Second)
	for ready < 2 {
		select {
		case e := <-events:
			got = append(got, e)
			if e.Type == cluster.EventReady {
				ready++
			}
		case <-timeout:
			t.Fatalf("events so far: %v", got)
		}
	}
	if got[0].Type != cluster.EventSetup {
		t.Fatalf("first event %v, want setup", got[0])
	}
	if ws := p.Workers(); !slices.Equal(ws, []*cluster.Worker{first, second}) {
		t.Fatalf("workers %v, want only the two forked ones", ws)
	}
	for w, role := range map[*cluster.Worker]string{first: "first", second: "second"} {
		if got := ask(t, w, "env:ROLE"); got != role {
			t.Errorf("worker %d has ROLE=%q, want %q", w.ID(), got, role)
		}
	}
	stop()
	for e := range events { // closed after the last exit
		got = append(got, e)
	}
	var types []cluster.EventType
	for _, e := range got {
		if e.Worker == first {
			types = append(types, e.Type)
		}
	}
	want := []cluster.EventType{cluster.EventFork, cluster.EventOnline, cluster.EventReady, cluster.EventDisconnect, cluster.EventExit}
	if !slices.Equal(types, want) {
		t.Fatalf("events of the worker forked before Run: %v, want %v", types, want)
	}
	if _, err := p.Fork(); !errors.Is(err, cluster.ErrNotRunning) {
		t.Fatalf("Fork after Run returned: %v, want ErrNotRunning", err)
	}
}
