package cluster_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

// actors are the functions the primary runs beside its supervisor
// goroutine, as they show in a stack dump.
var actors = []string{
	"cluster.(*Primary).watchStrangers",
	"cluster.(*Primary).route.func",
	"cluster.(*Primary).after.func",
	"cluster.(*Worker).Disconnect",
	"cluster.(*Primary).serve",
	"cluster.(*Primary).wait",
	"cluster.(*Primary).acceptLoop",
}

// runningActors lists the actors found in a dump of every goroutine.
func runningActors() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, a := range actors {
			if strings.Contains(g, a) {
				found = append(found, a)
			}
		}
	}
	return found
}

// hasActors reports whether found holds an actor whose name contains each
// of names.
func hasActors(found []string, names ...string) bool {
	for _, n := range names {
		if !slices.ContainsFunc(found, func(a string) bool { return strings.Contains(a, n) }) {
			return false
		}
	}
	return true
}

// TestRunJoinsItsGoroutines ends Run while a ReusePort address is checked
// for strangers, a worker-to-worker request is routed and unanswered, and
// a crashed worker's restart is pending: Run returns only once every
// goroutine and timer it started has ended.
func TestRunJoinsItsGoroutines(t *testing.T) {
	p, err := cluster.New(cluster.Config{Workers: cluster.NoWorkers, NoSignals: true,
		RestartDelay: time.Hour, MaxRestartDelay: time.Hour,
		DrainTimeout: 3 * time.Second, KillTimeout: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	events := p.Events(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	lst, err := p.Fork(envMode+"=tcpid", envPolicy+"=reuseport")
	if err != nil {
		t.Fatal(err)
	}
	src, err := p.Fork() // echo: asks the stuck one on request
	if err != nil {
		t.Fatal(err)
	}
	stuck, err := p.Fork(env("stuck")...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Fork(env("crash")...); err != nil {
		t.Fatal(err)
	}
	var exits int
	timeout := time.After(15 * time.Second)
	for listening, ready := false, 0; !listening || ready < 2 || exits < 2; {
		select {
		case e := <-events:
			switch {
			case e.Type == cluster.EventListening && e.Worker == lst:
				listening = true
			case e.Type == cluster.EventReady && (e.Worker == src || e.Worker == stuck):
				ready++
			case e.Type == cluster.EventExit && e.Worker != nil && e.Worker.ID() != lst.ID() &&
				e.Worker.ID() != src.ID() && e.Worker.ID() != stuck.ID():
				exits++ // crash, then its immediate replacement
			}
		case <-timeout:
			t.Fatalf("setup incomplete: %d crashes seen", exits)
		}
	}
	asked := make(chan error, 1)
	go func() {
		_, err := src.Request(context.Background(), []byte(fmt.Sprintf("reqto:%d:x", stuck.ID())))
		asked <- err
	}()
	// The stranger check, the routed request, and each worker's reader and
	// reaper (the restart timer shows only in the group's count).
	for start := time.Now(); !hasActors(runningActors(), "watchStrangers", "route.func", "serve", "wait"); time.Sleep(time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("before Run ends, running: %v, want the stranger check, the routed request, readers and reapers", runningActors())
		}
	}
	if n := cluster.GroupRunning(p); n < 3 {
		t.Fatalf("the group counts %d goroutines and timers", n)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := cluster.GroupRunning(p); n != 0 {
		t.Errorf("%d goroutines or timers of the primary left after Run returned", n)
	}
	if got := runningActors(); len(got) > 0 {
		t.Errorf("after Run returned, still running: %v", got)
	}
	<-asked // failed: its worker was stopped
	for range events {
	}
}
