//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/kv"
)

// kvWait polls fn until it returns true, for at most 10 s.
func kvWait(t *testing.T, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKVConcurrentWritersConverge: four workers write at once, thousands of
// puts and compare-and-set increments on the same keys. Afterwards every
// replica (and the primary's) holds the same entries at the same revision,
// every worker saw revisions only grow, and each counter equals the number
// of increments that returned no error.
func TestKVConcurrentWritersConverge(t *testing.T) {
	ctx := context.Background()
	tc := startCluster(t, cluster.Config{Workers: 4})
	store := tc.p.Store()
	for i := range 5 {
		if _, err := store.Put(ctx, fmt.Sprintf("s/c%d", i), []byte("0")); err != nil {
			t.Fatal(err)
		}
	}
	ws := tc.ready(4)
	const n = 2000
	outs := askAll(t, ws, "kvstress:"+strconv.Itoa(n))
	totalWins := 0
	for i, out := range outs {
		var wins, errs, disorder int
		if _, err := fmt.Sscanf(out, "wins=%d errors=%d disorder=%d", &wins, &errs, &disorder); err != nil {
			t.Fatalf("worker %d: %q", ws[i].ID(), out)
		}
		if errs != 0 || disorder != 0 {
			t.Fatalf("worker %d: %s", ws[i].ID(), out)
		}
		totalWins += wins
	}
	counted := 0
	for i := range 5 {
		e, _ := store.Get(fmt.Sprintf("s/c%d", i))
		v, _ := strconv.Atoi(string(e.Value))
		counted += v
	}
	if counted != totalWins {
		t.Fatalf("counters add up to %d, but %d compare-and-sets succeeded", counted, totalWins)
	}
	if totalWins == 0 || totalWins == len(ws)*n/2 {
		t.Fatalf("%d of %d compare-and-sets won: the test did not make them conflict", totalWins, len(ws)*n/2)
	}
	// Every replica has every write once the last one is in.
	last, err := store.Put(ctx, "s/zz", []byte("end"))
	if err != nil {
		t.Fatal(err)
	}
	want := digest(store, "s/")
	for _, w := range ws {
		kvWait(t, "worker "+strconv.Itoa(w.ID())+" has every write", func() bool {
			return strings.HasPrefix(ask(t, w, "kvdigest:s/"), fmt.Sprintf("rev=%d ", last))
		})
		if got := ask(t, w, "kvdigest:s/"); got != want {
			t.Fatalf("worker %d replica %s, primary %s", w.ID(), got, want)
		}
	}
	t.Logf("%d writes from 4 workers, %d increments won; replicas: %s", len(ws)*n, totalWins, want)
}

// TestKVReadYourWritesAndVisibility: a worker reads its own write as soon
// as the write returns; the others and the primary get it too.
func TestKVReadYourWritesAndVisibility(t *testing.T) {
	ctx := context.Background()
	tc := startCluster(t, cluster.Config{Workers: 2})
	ws := tc.ready(2)
	if got := ask(t, ws[0], "kvryw:500"); got != "0" {
		t.Fatalf("%s of 500 writes were not visible to their writer when the write returned", got)
	}
	rev, _ := strconv.ParseUint(ask(t, ws[0], "kvput:vis=hello"), 10, 64)
	if rev == 0 {
		t.Fatal("put returned no revision")
	}
	if e, ok := tc.p.Store().Get("vis"); !ok || string(e.Value) != "hello" || e.Rev != rev {
		t.Fatalf("primary reads %q@%d, want hello@%d", e.Value, e.Rev, rev)
	}
	kvWait(t, "the other worker sees the write", func() bool {
		return ask(t, ws[1], "kvget:vis") == fmt.Sprintf("hello@%d", rev)
	})
	if got := ask(t, ws[0], "kvbig:big"); !strings.Contains(got, "error") {
		t.Fatalf("a value over MaxValueSize: %q", got)
	}
	if _, err := tc.p.Store().Put(ctx, "big", make([]byte, kv.MaxValueSize+1)); !errors.Is(err, kv.ErrInvalid) {
		t.Fatalf("primary put over MaxValueSize: %v", err)
	}
}

// TestKVSnapshotAfterRestart: a worker started after the data was written
// (here, the replacement of a crashed one) starts from a snapshot.
func TestKVSnapshotAfterRestart(t *testing.T) {
	ctx := context.Background()
	tc := startCluster(t, cluster.Config{Workers: 1, RestartDelay: time.Millisecond})
	store := tc.p.Store()
	for i := range 3000 {
		if _, err := store.Put(ctx, fmt.Sprintf("snap/%04d", i), []byte(strings.Repeat("v", 500))); err != nil {
			t.Fatal(err)
		}
	}
	w := tc.ready(1)[0]
	want := digest(store, "snap/")
	if got := ask(t, w, "kvdigest:snap/"); got != want {
		t.Fatalf("first worker: %s, primary: %s", got, want)
	}
	w.Request(context.Background(), []byte("exit:3"))
	tc.event(cluster.EventExit, w)
	var next *cluster.Worker
	kvWait(t, "a replacement is ready", func() bool {
		for _, x := range tc.p.Workers() {
			if x != w && x.IsReady() {
				next = x
				return true
			}
		}
		return false
	})
	if got := ask(t, next, "kvdigest:snap/"); got != want {
		t.Fatalf("replacement: %s, primary: %s", got, want)
	}
}

// TestKVTTLAndOwnedKeys: a key with a TTL expires everywhere; a key owned by
// a worker goes when that worker exits.
func TestKVTTLAndOwnedKeys(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 2})
	ws := tc.ready(2)
	store := tc.p.Store()
	start := time.Now()
	if got := ask(t, ws[0], "kvttl:1000:ttl/a=x"); strings.HasPrefix(got, "error") {
		t.Fatal(got)
	}
	kvWait(t, "the other worker sees the key", func() bool { return strings.HasPrefix(ask(t, ws[1], "kvget:ttl/a"), "x@") })
	kvWait(t, "the key expires in the primary", func() bool { _, ok := store.Get("ttl/a"); return !ok })
	if took := time.Since(start); took < time.Second {
		t.Fatalf("the key expired after %v, before its TTL", took)
	}
	kvWait(t, "the key expires in the workers", func() bool {
		return ask(t, ws[0], "kvget:ttl/a") == "<none>" && ask(t, ws[1], "kvget:ttl/a") == "<none>"
	})
	if got := ask(t, ws[0], "kvown:own/a=mine"); strings.HasPrefix(got, "error") {
		t.Fatal(got)
	}
	if _, ok := store.Get("own/a"); !ok {
		t.Fatal("owned key missing in the primary")
	}
	if err := ws[0].Disconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	kvWait(t, "the owned key is deleted", func() bool { _, ok := store.Get("own/a"); return !ok })
	if got := ask(t, ws[1], "kvget:own/a"); got != "<none>" {
		t.Fatalf("after its owner exited the other worker reads %q", got)
	}
}

// TestKVLoadRunsOnce: eight workers Load the same cold key at once; the
// loader runs in one of them and all get its value. A failing loader's
// error reaches every waiter and nothing is stored.
func TestKVLoadRunsOnce(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 8})
	ws := tc.ready(8)
	msgs := tc.p.Messages()
	for _, round := range []string{"kvload", "kvloadfail"} {
		key := fmt.Sprintf("cold/%s/%d", round, time.Now().UnixNano()) // new in every run
		outs := make([]string, len(ws))
		var wg sync.WaitGroup
		for i, w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i] = ask(t, w, round+":"+key)
			}()
		}
		wg.Wait()
		for i, out := range outs {
			if round == "kvloadfail" && strings.Contains(out, "backend down") {
				continue // the leader has its own error, the others its text
			}
			if out != outs[0] {
				t.Fatalf("%s: worker %d got %q, worker %d got %q", round, ws[0].ID(), outs[0], ws[i].ID(), out)
			}
		}
		if round == "kvloadfail" {
			if _, ok := tc.p.Store().Get(key); ok {
				t.Fatal("a failed load stored a value")
			}
			continue
		}
		runs := 0
		for len(msgs) > 0 || runs == 0 {
			select {
			case m := <-msgs:
				if strings.HasPrefix(string(m.Data), "loader ran") {
					runs++
				}
			case <-time.After(2 * time.Second):
				t.Fatal("no loader ran")
			}
		}
		if runs != 1 || !strings.HasPrefix(outs[0], "loaded by ") {
			t.Fatalf("the loader ran %d times; workers got %q", runs, outs[0])
		}
	}
}

// TestKVValueOverMessageSize: with a small Config.MaxMessageSize, a value
// that would not fit a frame to the workers is refused, and the workers
// live on.
func TestKVValueOverMessageSize(t *testing.T) {
	ctx := context.Background()
	tc := startCluster(t, cluster.Config{Workers: 1, MaxMessageSize: 64 << 10})
	w := tc.ready(1)[0]
	_ = ask(t, w, "kvget:x") // subscribed
	if _, err := tc.p.Store().Put(ctx, "big/primary", make([]byte, 100<<10)); !errors.Is(err, kv.ErrInvalid) {
		t.Fatalf("a 100 KiB value with 64 KiB messages: %v", err)
	}
	if _, err := tc.p.Store().Put(ctx, "big/ok", make([]byte, 32<<10)); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, w, "kvget:big/ok"); strings.HasPrefix(got, "<none>") {
		t.Fatalf("worker reads %.20q", got)
	}
	if w.IsDead() || len(tc.all()) == 0 {
		t.Fatal("the worker died")
	}
	for _, e := range tc.all() {
		if e.Type == cluster.EventExit {
			t.Fatalf("a worker exited: %v", e)
		}
	}
}
