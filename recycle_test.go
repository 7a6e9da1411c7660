//go:build unix

package cluster_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

// TestRecycleMaxAge: workers older than MaxAge are replaced one at a time,
// each only after its replacement is ready, so two stay ready throughout.
func TestRecycleMaxAge(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 2, MaxAge: 1200 * time.Millisecond, DrainTimeout: 500 * time.Millisecond})
	first := tc.ready(2)
	for _, w := range first {
		tc.event(cluster.EventExit, w)
	}
	// Replay the events: count ready workers; a recycle's victim must not
	// exit before a newer worker became ready, and the ready count never
	// drops below 2 once reached.
	ready := map[*cluster.Worker]bool{}
	recycling := 0
	for _, e := range tc.all() {
		switch e.Type {
		case cluster.EventReady:
			ready[e.Worker] = true
		case cluster.EventRecycle:
			recycling++
			if !strings.Contains(e.Reason, "MaxAge") {
				t.Errorf("recycle reason %q", e.Reason)
			}
		case cluster.EventExit:
			delete(ready, e.Worker)
			if len(ready) < 2 {
				t.Fatalf("after worker %d exited only %d workers were ready; events: %v", e.Worker.ID(), len(ready), tc.all())
			}
		}
		if len(ready) > 3 {
			t.Fatalf("%d workers ready at once: more than one recycle at a time", len(ready))
		}
	}
	if recycling < 2 {
		t.Fatalf("%d recycles", recycling)
	}
	if n := len(tc.ready(2)); n != 2 {
		t.Fatalf("%d workers after recycling", n)
	}
}
