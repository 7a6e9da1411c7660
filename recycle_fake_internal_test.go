//go:build unix

package cluster

import (
	"strings"
	"testing"
	"time"
)

// TestFakeRecycleMaxAge: workers older than MaxAge are replaced one at a
// time, each only after its replacement is ready, so two stay ready
// throughout.
func TestFakeRecycleMaxAge(t *testing.T) {
	fc := startFake(t, Config{Workers: 2, MaxAge: 40 * time.Millisecond})
	a, _ := fc.fork()
	b, _ := fc.fork()
	fc.p.markReady(a)
	fc.p.markReady(b)
	// Every replacement is ready as soon as it starts; wait until both
	// first workers are gone.
	for gone := 0; gone < 2; {
		e := fc.next(EventFork, EventExit)
		switch {
		case e.Type == EventFork:
			fc.p.markReady(e.Worker)
		case e.Worker == a || e.Worker == b:
			if !e.Worker.ExitedAfterDisconnect() {
				t.Fatalf("recycled worker %d exited as a crash", e.Worker.id)
			}
			gone++
		}
	}
	// Replay the events: a recycled worker exits only after a newer one
	// became ready, so the ready count never drops below 2 once reached,
	// nor passes 3 (one recycle at a time).
	ready := map[*Worker]bool{}
	recycles := 0
	for _, e := range fc.seen {
		switch e.Type {
		case EventReady:
			ready[e.Worker] = true
		case EventRecycle:
			recycles++
			if !strings.Contains(e.Reason, "MaxAge") {
				t.Errorf("recycle reason %q", e.Reason)
			}
		case EventExit:
			delete(ready, e.Worker)
			if len(ready) < 2 {
				t.Fatalf("after worker %d exited only %d workers were ready; events: %v", e.Worker.id, len(ready), fc.seen)
			}
		}
		if len(ready) > 3 {
			t.Fatalf("%d workers ready at once: more than one recycle at a time", len(ready))
		}
	}
	if recycles < 2 {
		t.Fatalf("%d recycles, want 2 or more", recycles)
	}
}
