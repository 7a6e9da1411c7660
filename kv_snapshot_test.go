//go:build unix

package cluster_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/kv"
)

// fillStore puts n keys under prefix, each with a value of size bytes, into
// the primary's store, and deletes them when the test ends.
func fillStore(t *testing.T, store *kv.KV, prefix string, n, size int) {
	t.Helper()
	value := []byte(strings.Repeat("v", size))
	for i := range n {
		if _, err := store.Put(context.Background(), fmt.Sprintf("%s%06d", prefix, i), value); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for i := range n {
			store.Delete(context.Background(), fmt.Sprintf("%s%06d", prefix, i))
		}
	})
}

// subscribeAll has every worker of ws take the snapshot at once (their
// first Store call, which returns once it is in) and checks that each sees
// key.
func subscribeAll(t *testing.T, ws []*cluster.Worker, key string) {
	t.Helper()
	outs := askAll(t, ws, "kvget:"+key)
	for i, out := range outs {
		if !strings.HasPrefix(out, "v") {
			t.Fatalf("worker %d reads %.20q for %s after its snapshot", ws[i].ID(), out, key)
		}
	}
}

// killAll kills the workers of ws as a crash would (they are replaced) and
// waits for their exit events: they are out of the table.
func (tc *testCluster) killAll(ws []*cluster.Worker) {
	for _, w := range ws {
		w.Process().Kill()
	}
	for _, w := range ws {
		tc.event(cluster.EventExit, w)
	}
}

// heapPeak measures, back to back until the test ends or the function it
// returns is called, the heap in use right after a collection; that
// function returns the highest figure.
func heapPeak(t *testing.T) func() uint64 {
	stop := make(chan struct{})
	peak := make(chan uint64, 1)
	go func() {
		var most uint64
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				peak <- most
				return
			default:
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			most = max(most, ms.HeapInuse)
		}
	}()
	end := sync.OnceValue(func() uint64 {
		close(stop)
		return <-peak
	})
	t.Cleanup(func() { end() })
	return end
}

// TestKVSnapshotMemoryBounded: with a store of 20k keys of 600 bytes (about
// 12 MiB of snapshot), 4 workers take their snapshot at once, are killed
// and restarted, 3 times over. The primary's heap (measured after collections,
// all along) must not grow by anything like a copy of the store per
// starting worker: the snapshot goes in pieces, each queued only once the
// worker has read the previous ones.
func TestKVSnapshotMemoryBounded(t *testing.T) {
	const keys, valueSize, workers, rounds = 20_000, 600, 4, 3
	tc := startCluster(t, cluster.Config{Workers: workers, RestartDelay: time.Millisecond, MaxRestarts: 1000})
	fillStore(t, tc.p.Store(), "mem/", keys, valueSize)
	ws := tc.ready(workers)
	subscribeAll(t, ws, "mem/000000") // the channels' buffers exist before the baseline
	tc.killAll(ws)
	ws = tc.ready(workers)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse

	peak := heapPeak(t)
	for round := range rounds {
		subscribeAll(t, ws, fmt.Sprintf("mem/%06d", keys-1-round))
		tc.killAll(ws)
		ws = tc.ready(workers)
	}
	grew := int64(peak()) - int64(base)
	t.Logf("heap in use: %d MiB at the start, at most %+.1f MiB over %d rounds of %d snapshots",
		base>>20, float64(grew)/(1<<20), rounds, workers)
	if grew > 16<<20 {
		t.Fatalf("the primary's heap grew by %d MiB while workers took snapshots of a %d-key store: "+
			"it holds copies of the store", grew>>20, keys)
	}
}

// TestKVSnapshotRacingWrites: workers take their snapshot while the primary
// writes as fast as it can (puts of old and new keys, deletes); when the
// writes stop, every replica holds exactly the primary's content. The
// first Store call of a worker returns only with the whole snapshot in.
func TestKVSnapshotRacingWrites(t *testing.T) {
	const static, racing = 3000, 10_000
	tc := startCluster(t, cluster.Config{Workers: 3, RestartDelay: time.Millisecond, MaxRestarts: 1000})
	fillStore(t, tc.p.Store(), "static/", static, 200)
	fillStore(t, tc.p.Store(), "race/", racing, 100)
	store := tc.p.Store()
	want := digest(store, "static/")

	stop := make(chan struct{})
	wrote := make(chan int, 1)
	go func() {
		rng := rand.New(rand.NewPCG(1, 2))
		n := 0
		for {
			select {
			case <-stop:
				wrote <- n
				return
			default:
			}
			key := fmt.Sprintf("race/%06d", rng.IntN(2*racing)) // half of them new
			if rng.IntN(3) == 0 {
				store.Delete(context.Background(), key)
			} else {
				store.Put(context.Background(), key, []byte(fmt.Sprint(n)))
			}
			n++
		}
	}()
	stopWrites := sync.OnceValue(func() int {
		close(stop)
		return <-wrote
	})
	t.Cleanup(func() {
		stopWrites()
		for i := racing; i < 2*racing; i++ {
			store.Delete(context.Background(), fmt.Sprintf("race/%06d", i))
		}
	})
	var ws []*cluster.Worker
	for round := range 3 {
		ws = tc.ready(3)
		before := store.Rev()
		outs := askAll(t, ws, "kvdigest:static/") // their first Store call
		if store.Rev() == before {
			t.Fatalf("round %d: no write while the workers took their snapshots", round)
		}
		for i, out := range outs {
			if contentOf(out) != contentOf(want) {
				t.Fatalf("round %d: worker %d's replica right after Store: %s; primary: %s", round, ws[i].ID(), out, want)
			}
		}
		if round < 2 {
			tc.killAll(ws)
		}
	}
	t.Logf("%d writes raced with the snapshots", stopWrites())
	want = digest(store, "race/")
	for _, w := range ws {
		kvWait(t, fmt.Sprintf("worker %d holds the primary's content", w.ID()), func() bool {
			return ask(t, w, "kvdigest:race/") == want
		})
	}
}

// contentOf drops the revision from a digest: the count and the sum of the
// keys under its prefix.
func contentOf(digest string) string {
	_, content, _ := strings.Cut(digest, " ")
	return content
}

// TestKVSnapshotFitsTheSmallestMessageSize: with MaxMessageSize at its
// minimum, a snapshot of values a third of that size still reaches a worker
// (a piece of the table larger than a message goes in several frames).
func TestKVSnapshotFitsTheSmallestMessageSize(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1, MaxMessageSize: cluster.MinMessageSize})
	fillStore(t, tc.p.Store(), "smallframes/", 2000, 1500)
	w := tc.ready(1)[0]
	if got, want := ask(t, w, "kvdigest:smallframes/"), digest(tc.p.Store(), "smallframes/"); got != want {
		t.Fatalf("worker's replica %s, primary's %s", got, want)
	}
	for _, e := range tc.all() {
		if e.Type == cluster.EventExit {
			t.Fatalf("a worker exited: %v", e)
		}
	}
}
