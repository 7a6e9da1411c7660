//go:build unix

package redis_test

import (
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/redistest"
)

// TestClusterOwnedKeys: each worker of two machines writes a key it owns
// (kv.OwnedByWorker), and a worker of A one it does not. A worker of A
// killed with SIGKILL: its key goes from every replica of both machines,
// the others stay. Machine A killed whole (primary and workers): its
// workers' keys stay while its lease lasts, then go from every replica of
// B; B's keys and the unowned key stay.
func TestClusterOwnedKeys(t *testing.T) {
	srv := redistest.Start(t)
	r := newRaw(t, srv, "owned")
	ms := startMachines(t, srv, "owned", time.Second, "A", "B")
	a, b := ms[0], ms[1]
	owned := func(v view) string { return "own/" + v.String() }
	put := func(v view, key, opt string) {
		t.Helper()
		var res putResult
		v.m.askJSON(v.target, "put "+key+" x "+opt, &res)
		if res.Err != "" {
			t.Fatalf("%v: put %s: %s", v, key, res.Err)
		}
	}
	ws := workerViews(a, b)
	for _, v := range ws {
		put(v, owned(v), "owned")
	}
	put(ws[0], "plain/"+ws[0].String(), "")
	keysIn := func(vs []view) []string { // the own/ and plain/ keys every view shows (they must agree)
		t.Helper()
		rev := r.mustRev()
		ds := dumps(t, vs, rev)
		sameDumps(t, vs, ds, rev)
		var keys []string
		for _, e := range ds[0].Entries {
			if k, _, _ := strings.Cut(e, "="); strings.HasPrefix(k, "own/") || strings.HasPrefix(k, "plain/") {
				keys = append(keys, k)
			}
		}
		return keys
	}
	want := []string{owned(ws[0]), owned(ws[1]), owned(ws[2]), owned(ws[3]), "plain/" + ws[0].String()}
	slices.Sort(want)
	if got := keysIn(views(a, b)); !slices.Equal(got, want) {
		t.Fatalf("keys %q, want %q", got, want)
	}

	victim, _ := strconv.Atoi(ws[0].target)
	before := len(a.exited())
	syscall.Kill(a.pid(victim), syscall.SIGKILL)
	waitFor(t, 15*time.Second, "worker "+ws[0].String()+"'s key gone from Redis", func() bool {
		_, ok := r.content()[owned(ws[0])]
		return !ok && len(a.exited()) > before
	})
	a.waitWorkers(2, 15*time.Second) // its replacement
	want = slices.DeleteFunc(want, func(k string) bool { return k == owned(ws[0]) })
	if got := keysIn(views(a, b)); !slices.Equal(got, want) {
		t.Fatalf("after worker %v was killed: keys %q, want %q", ws[0], got, want)
	}

	e, ok := r.content()[owned(ws[1])]
	if !ok || e.owner>>32 == 0 {
		t.Fatalf("the key of %v in Redis: %+v, %v: no machine owns it", ws[1], e, ok)
	}
	machineA := e.owner >> 32
	a.kill()
	waitFor(t, 15*time.Second, "machine A's keys gone from Redis", func() bool {
		lease, exists := r.leaseAndKey(machineA, owned(ws[1]))
		if lease && !exists {
			t.Fatalf("the key of %v went while machine A's lease lasted", ws[1])
		}
		return !exists
	})
	want = slices.DeleteFunc(want, func(k string) bool { return strings.HasPrefix(k, "own/A/") })
	if got := keysIn(views(b)); !slices.Equal(got, want) {
		t.Fatalf("after machine A was killed: keys %q, want %q", got, want)
	}
}

// waitFor waits until cond holds, checking every 5 ms, and fails the test
// if it does not within d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
