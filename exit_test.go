//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

// The "sendexit" worker sends sendExitCount messages from sendExitSenders
// goroutines at once (so that most are queued, not written inline), then
// its main returns.
const (
	sendExitCount   = 100
	sendExitSenders = 4
)

// TestWorkerThatSendsAndExitsLosesNothing: seed 002's worker sends and its
// main returns at once. The primary must see it online, get every message,
// and only then its disconnect and exit (Node delivers them all too).
func TestWorkerThatSendsAndExitsLosesNothing(t *testing.T) {
	const workers = 4
	type received struct {
		data string
		at   time.Time
	}
	var mu sync.Mutex
	got := map[int][]received{}
	cfg := cluster.Config{Workers: workers, Settings: cluster.Settings{Env: env("sendexit")}}
	tc := startClusterWith(t, cfg, func(p *cluster.Primary) {
		p.Handle(func(m *cluster.Message) {
			mu.Lock()
			got[m.From] = append(got[m.From], received{string(m.Data), time.Now()})
			mu.Unlock()
		})
	})
	exits := map[*cluster.Worker]cluster.Event{}
	tc.waitFor(20*time.Second, fmt.Sprintf("%d exits", workers), func(e cluster.Event) bool {
		if e.Type == cluster.EventExit {
			exits[e.Worker] = e
		}
		return len(exits) >= workers
	})
	for w, exit := range exits {
		var online, disconnect *cluster.Event
		for _, e := range tc.all() {
			if e.Worker != w {
				continue
			}
			switch e.Type {
			case cluster.EventOnline:
				online = &e
			case cluster.EventDisconnect:
				disconnect = &e
			}
		}
		if online == nil || disconnect == nil {
			t.Fatalf("worker %d: events %v, want online and disconnect before exit", w.ID(), tc.types(w))
		}
		mu.Lock()
		msgs := got[w.ID()]
		mu.Unlock()
		if len(msgs) != sendExitCount {
			t.Fatalf("worker %d: %d of %d messages arrived", w.ID(), len(msgs), sendExitCount)
		}
		next := make([]int, sendExitSenders) // each sender's messages arrive in order
		for _, m := range msgs {
			var g, i int
			if _, err := fmt.Sscanf(m.data, "%d/%d", &g, &i); err != nil || g >= sendExitSenders || i != next[g] {
				t.Fatalf("worker %d: message %q out of order", w.ID(), m.data)
			}
			next[g]++
		}
		last := msgs[len(msgs)-1].at
		if !last.Before(disconnect.Time) || disconnect.Time.After(exit.Time) {
			t.Errorf("worker %d: last message at %v, disconnect at %v, exit at %v: want that order",
				w.ID(), last, disconnect.Time, exit.Time)
		}
	}
}

// TestSendToAGoneWorkerFails: SendTo a worker id that never existed, or
// whose worker has exited, returns ErrNoWorker to the sender.
func TestSendToAGoneWorkerFails(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 2})
	ws := tc.ready(2)
	a, b := ws[0], ws[1]
	if got := ask(t, a, "sendto:99:x"); got != "error: cluster: send to worker 99: no such worker" {
		t.Fatalf("SendTo an unknown id: %q, want ErrNoWorker, with one prefix", got)
	}
	if got := ask(t, a, fmt.Sprintf("sendto:%d:x", b.ID())); got != "ok" {
		t.Fatalf("SendTo a live worker: %q", got)
	}
	if got := ask(t, a, fmt.Sprintf("sendhandleto:%d", b.ID())); got != "ok" {
		t.Fatalf("SendHandleTo a live worker: %q", got)
	}
	b.Kill(syscall.SIGKILL)
	tc.event(cluster.EventExit, b)
	if got := ask(t, a, fmt.Sprintf("sendto:%d:x", b.ID())); !strings.Contains(got, "no such worker") {
		t.Fatalf("SendTo worker %d after its exit: %q, want ErrNoWorker", b.ID(), got)
	}
	if got := ask(t, a, fmt.Sprintf("sendhandleto:%d", b.ID())); !strings.Contains(got, "no such worker") {
		t.Fatalf("SendHandleTo worker %d after its exit: %q, want ErrNoWorker", b.ID(), got)
	}
}

// TestWorkerDisconnectIsADeliberateStop: a worker that calls Disconnect
// ends as Node's does after process.disconnect(): exitedAfterDisconnect,
// not replaced, and its later sends fail with ErrDisconnected.
func TestWorkerDisconnectIsADeliberateStop(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, Settings: cluster.Settings{Env: env("leave")}})
	w := tc.ready(1)[0]
	if err := w.Send([]byte("go")); err != nil {
		t.Fatal(err)
	}
	exit := tc.event(cluster.EventExit, w)
	if exit.ExitCode != 0 {
		t.Fatalf("the worker's checks failed: exit code %d", exit.ExitCode)
	}
	if !w.ExitedAfterDisconnect() {
		t.Fatal("ExitedAfterDisconnect is false after the worker's own Disconnect")
	}
	tc.onlyForked("a worker that disconnected on purpose")
	var disconnects int
	for _, ty := range tc.types(w) {
		if ty == cluster.EventDisconnect {
			disconnects++
		}
	}
	if disconnects != 1 {
		t.Fatalf("events of the worker: %v", tc.types(w))
	}
}

// TestSendContextBoundsTheWaitForAWorkerThatDoesNotRead: a worker stops
// reading; Send would wait for it for ever, SendContext and Broadcast give
// up when their context ends.
func TestSendContextBoundsTheWaitForAWorkerThatDoesNotRead(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, Settings: cluster.Settings{Env: env("stuck")}})
	w := tc.ready(1)[0]
	chunk := make([]byte, 1<<20)
	var err error
	for i := 0; i < 200 && err == nil; i++ { // far more than the pipe and the queue hold
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err = w.SendContext(ctx, chunk)
		cancel()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SendContext to a worker that does not read: %v, want context.DeadlineExceeded", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := tc.p.Broadcast(ctx, chunk); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Broadcast: %v, want context.DeadlineExceeded", err)
	}
}
