package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

// TestRecycleMaxRSS: a worker whose memory passes MaxRSS is replaced; the
// other is left alone.
func TestRecycleMaxRSS(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 2, MaxRSS: 96 << 20, DrainTimeout: 500 * time.Millisecond})
	ws := tc.ready(2)
	// The worker may be recycled before it answers: the reply is not awaited.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go ws[0].Request(ctx, []byte("alloc:160"))
	e := tc.event(cluster.EventRecycle, ws[0])
	if !strings.Contains(e.Reason, "MaxRSS") {
		t.Fatalf("recycle reason %q", e.Reason)
	}
	tc.event(cluster.EventExit, ws[0])
	// A check now finds nothing more: it would have forked a replacement
	// of ws[1] before returning.
	if !cluster.CheckRecycle(tc.p) {
		t.Fatal("Run is not running")
	}
	if now := tc.p.Workers(); len(now) != 2 || now[0] != ws[1] || ws[1].IsDead() || !now[1].IsReady() {
		t.Fatalf("workers after the recycle: %v", now)
	}
	for _, e := range tc.all() {
		if e.Type == cluster.EventRecycle && e.Worker != ws[0] {
			t.Fatalf("worker %d recycled too: %s", e.Worker.ID(), e.Reason)
		}
	}
}
