//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/kv"
)

// stallCluster starts a cluster of one silent worker whose primary holds
// the reader of the worker's channel when the worker sends "stall", until
// the returned release is called (at the latest when the test ends).
func stallCluster(t *testing.T) (tc *testCluster, w *cluster.Worker, out *safeBuffer, release func()) {
	t.Helper()
	out = new(safeBuffer)
	tc = startCluster(t, cluster.Config{Workers: 1, Stdout: out, Settings: cluster.Settings{Silent: true}})
	held := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(held) }) }
	t.Cleanup(release) // before the cluster stops
	tc.p.Handle(func(m *cluster.Message) {
		if string(m.Data) == "stall" {
			<-held
		}
	})
	return tc, tc.ready(1)[0], out, release
}

// askStalled sends req, which makes w stall its primary's reader, waits
// for w to say the stalled call returned, releases the reader and returns
// the reply.
func askStalled(t *testing.T, w *cluster.Worker, out *safeBuffer, release func(), req string) string {
	t.Helper()
	type answer struct {
		rep []byte
		err error
	}
	got := make(chan answer, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		rep, err := w.Request(ctx, []byte(req))
		got <- answer{rep, err}
	}()
	kvWait(t, "the stalled call to return", func() bool {
		return strings.Contains(out.String(), "stalled call returned")
	})
	release()
	a := <-got
	if a.err != nil {
		t.Fatalf("%s: %v", req, a.err)
	}
	return string(a.rep)
}

// TestKVWriteGivesUpWhenItsContextEnds: a worker's write that the primary
// does not answer (its reader is held) returns when its context ends, with
// the context's error; the channel works on afterwards.
func TestKVWriteGivesUpWhenItsContextEnds(t *testing.T) {
	_, w, out, release := stallCluster(t)
	_ = ask(t, w, "kvget:x") // subscribed
	rep := askStalled(t, w, out, release, "kvstall:200:stall/k=v")
	if !strings.Contains(rep, "deadline=true") || prefixes(rep) != 1 {
		t.Fatalf("a write with a 200 ms context: %q", rep)
	}
	if got := ask(t, w, "kvput:stall/after=1"); strings.HasPrefix(got, "error") {
		t.Fatalf("a write afterwards: %s", got)
	}
}

// TestKVFirstStoreGivesUpWhenItsContextEnds: the first Store of a
// worker returns when its context ends if the snapshot cannot come, and
// the subscription goes on: a later call finds the data.
func TestKVFirstStoreGivesUpWhenItsContextEnds(t *testing.T) {
	ctx := context.Background()
	tc, w, out, release := stallCluster(t)
	rev, err := tc.p.Store().Put(ctx, "stallsub/before", []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	rep := askStalled(t, w, out, release, "kvstallsub:200")
	if !strings.Contains(rep, "deadline=true") {
		t.Fatalf("the first Store with a 200 ms context: %q", rep)
	}
	if got, want := ask(t, w, "kvget:stallsub/before"), fmt.Sprintf("1@%d", rev); got != want {
		t.Fatalf("after the snapshot came: %q, want %q", got, want)
	}
}

// TestKVCallsFromAHandleCallbackFailAtOnce: from a worker's Handle
// callback, every shared-state call that would wait for the primary fails
// at once with ErrInHandler (its answer would be read by the goroutine the
// callback holds); from other goroutines the same calls work.
func TestKVCallsFromAHandleCallbackFailAtOnce(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1})
	w := tc.ready(1)[0]
	if got := ask(t, w, "handlemode"); got != "ok" {
		t.Fatal(got)
	}
	check := func(what string) {
		t.Helper()
		got := ask(t, w, "inhandler:"+what)
		var took int
		if _, err := fmt.Sscanf(got, "inhandler=true took=%d", &took); err != nil || took > 1000 {
			t.Fatalf("%s from a Handle callback: %q (want ErrInHandler at once)", what, got)
		}
	}
	check("store") // the first Store
	if got := ask(t, w, "kvput:handler/ok=1"); strings.HasPrefix(got, "error") {
		t.Fatalf("a write off the callback: %s", got)
	}
	check("put")
	check("mapset")
	check("load")
	if got := ask(t, w, "kvget:handler/ok"); !strings.HasPrefix(got, "1@") {
		t.Fatalf("read back: %q", got)
	}
}

// TestRequestFromAHandleCallbackFailsAtOnce: Request from a worker's Handle
// callback fails at once with ErrInHandler.
func TestRequestFromAHandleCallbackFailsAtOnce(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1})
	tc.p.Handle(func(m *cluster.Message) { m.Reply([]byte("answered")) })
	w := tc.ready(1)[0]
	if got := ask(t, w, "handlemode"); got != "ok" {
		t.Fatal(got)
	}
	got := ask(t, w, "inhandler:request")
	var took int
	if _, err := fmt.Sscanf(got, "inhandler=true took=%d", &took); err != nil || took > 1000 {
		t.Fatalf("Request from a Handle callback: %q (want ErrInHandler at once)", got)
	}
}

// TestKVRangeListsInKeyOrder: Range lists the keys under a prefix with
// their entries, in key order, the same in a worker and in the primary;
// its loop body may write; Map.Range decodes and strips the map's prefix.
func TestKVRangeListsInKeyOrder(t *testing.T) {
	ctx := context.Background()
	tc := startCluster(t, cluster.Config{Workers: 1})
	store := tc.p.Store()
	for _, k := range []string{"rng/b", "rng/a/2", "rng/a/10", "rng/c", "rngx", "rng/gone"} {
		if _, err := store.Put(ctx, k, []byte("v-"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Delete(ctx, "rng/gone"); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	var keys []string
	for k, e := range store.Range("rng/") {
		fmt.Fprintf(&want, "%s=%s@%d;", k, e.Value, e.Rev)
		keys = append(keys, k)
		if _, err := store.Put(ctx, "rngwrite/"+k, e.Value); err != nil { // writes from the loop body
			t.Fatal(err)
		}
	}
	if !slices.Equal(keys, []string{"rng/a/10", "rng/a/2", "rng/b", "rng/c"}) {
		t.Fatalf("primary's Range: %q", keys)
	}
	n := 0
	for range store.Range("rngwrite/") {
		if n++; n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("a loop that stops at 2 ran %d times", n)
	}

	w := tc.ready(1)[0]
	if got := ask(t, w, "kvrange:rng/"); got != want.String() {
		t.Fatalf("worker's Range:\n got %q\nwant %q", got, want.String())
	}

	m := kv.NewMap[int](store, "rngmap/")
	for i, k := range []string{"c", "a", "b/1", "b/2"} {
		if _, err := m.Set(ctx, k, i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Put(ctx, "rngmap/bad", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for k, v := range m.Range("") {
		got = append(got, fmt.Sprintf("%s=%d", k, v))
	}
	if !slices.Equal(got, []string{"a=1", "b/1=2", "b/2=3", "c=0"}) {
		t.Fatalf("Map.Range: %q", got)
	}
	got = got[:0]
	for k := range m.Range("b/") {
		got = append(got, k)
	}
	if !slices.Equal(got, []string{"b/1", "b/2"}) {
		t.Fatalf("Map.Range(b/): %q", got)
	}
}

// TestKVMaxValueSizeRaised: Config.MaxValueSize raises the value limit up
// to the message size: a 2 MiB value is written by one worker and read by
// another; a value over the limit fails with kv.ErrInvalid.
func TestKVMaxValueSizeRaised(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 2, MaxValueSize: 3 << 20})
	ws := tc.ready(2)
	t.Cleanup(func() { // it would not fit the messages of a later test's primary
		if _, err := tc.p.Store().Delete(context.Background(), "big/2mib"); err != nil {
			t.Error(err)
		}
	})
	if got := ask(t, ws[0], "kvputn:2097152:big/2mib"); got != "invalid=false <nil>" {
		t.Fatalf("a 2 MiB value under a 3 MiB limit: %s", got)
	}
	kvWait(t, "the other worker to read the 2 MiB value", func() bool {
		return ask(t, ws[1], "kvlen:big/2mib") == "true 2097152"
	})
	if got := ask(t, ws[0], "kvputn:4194304:big/4mib"); !strings.HasPrefix(got, "invalid=true") || !strings.Contains(got, "Config.MaxValueSize") {
		t.Fatalf("a 4 MiB value over a 3 MiB limit: %s", got)
	}
}

// TestKVMaxValueSizeLowered: a lower Config.MaxValueSize holds for the
// workers' writes and the primary's.
func TestKVMaxValueSizeLowered(t *testing.T) {
	ctx := context.Background()
	tc := startCluster(t, cluster.Config{Workers: 1, MaxValueSize: 1000})
	w := tc.ready(1)[0]
	if got := ask(t, w, "kvputn:1001:small/over"); !strings.HasPrefix(got, "invalid=true") {
		t.Fatalf("1001 bytes over a 1000-byte limit: %s", got)
	}
	if got := ask(t, w, "kvputn:1000:small/at"); got != "invalid=false <nil>" {
		t.Fatalf("1000 bytes at a 1000-byte limit: %s", got)
	}
	if _, err := tc.p.Store().Put(ctx, "small/primary", make([]byte, 1001)); !errors.Is(err, kv.ErrInvalid) {
		t.Fatalf("the primary's 1001 bytes: %v", err)
	}
}

func TestKVMaxValueSizeChecked(t *testing.T) {
	for _, cfg := range []cluster.Config{
		{MaxValueSize: -1},
		{MaxValueSize: cluster.DefaultMaxMessageSize},
		{MaxMessageSize: 1 << 20, MaxValueSize: 1 << 20},
	} {
		if _, err := cluster.New(cfg); !errors.Is(err, cluster.ErrInvalidConfig) || !strings.Contains(err.Error(), "MaxValueSize") {
			t.Errorf("MaxMessageSize %d, MaxValueSize %d: %v", cfg.MaxMessageSize, cfg.MaxValueSize, err)
		}
	}
}

// prefixes counts the package prefixes in an error's text.
func prefixes(s string) int { return strings.Count(s, "cluster: ") + strings.Count(s, "kv: ") }

// TestKVErrorsCrossTheChannel: a worker's failed write reads with one
// "kv: " prefix and its key quoted short, and matches its sentinel;
// an error a worker replies with keeps its sentinel at the primary.
func TestKVErrorsCrossTheChannel(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1})
	w := tc.ready(1)[0]
	long := strings.Repeat("k", 4000)
	for _, key := range []string{"errs/k", long} {
		_ = ask(t, w, "kvcreate:"+key+"=1")
		got := ask(t, w, "kvcreate:"+key+"=2")
		if !strings.HasPrefix(got, "exists=true invalid=false kv: create ") || prefixes(got) != 1 || len(got) > 200 {
			t.Fatalf("a second create of a %d-byte key: %q", len(key), got)
		}
	}
	got := ask(t, w, "kvcreate:"+long+"k"+long+"=1") // over MaxKeySize
	if !strings.HasPrefix(got, "exists=false invalid=true ") || prefixes(got) != 1 || !strings.Contains(got, "…(8001 bytes)") {
		t.Fatalf("a create of an 8001-byte key: %q", got)
	}

	if got := ask(t, w, "handlemode"); got != "ok" {
		t.Fatal(got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, s := range map[string]error{
		"exists":   kv.ErrExists,
		"conflict": kv.ErrConflict,
		"invalid":  kv.ErrInvalid,
		"noworker": cluster.ErrNoWorker,
		"toolarge": cluster.ErrTooLarge,
		"deadline": context.DeadlineExceeded,
	} {
		_, err := w.Request(ctx, []byte("replyerr:"+name))
		var re *cluster.RemoteError
		if !errors.Is(err, s) || !errors.As(err, &re) || !strings.HasSuffix(re.Text, "as asked") {
			t.Errorf("ReplyError wrapping %v came back as %v", s, err)
		}
	}
}

// TestKVWriteAllocations: a worker's Put with a context allocates no more
// than it did without one: 2 allocations per write, both the replica's
// copy of the change (its node and its value).
func TestKVWriteAllocations(t *testing.T) {
	if raceDetector {
		t.Skip("with the race detector, sync.Pool drops items at random: allocations are counted without it")
	}
	tc := startCluster(t, cluster.Config{Workers: 1})
	w := tc.ready(1)[0]
	got := ask(t, w, "kvallocs:20000")
	t.Logf("allocations per Put in a worker: %s", got)
	var per float64
	if _, err := fmt.Sscanf(got, "%f", &per); err != nil || per > 2.1 {
		t.Fatalf("allocations per Put in a worker: %s, want at most 2", got)
	}
}

// raceDetector is set in a test binary built with -race.
var raceDetector bool

// TestPrimariesOwnTheirStores: each Primary made by New has its own store,
// with the limits of its own Config; nothing is shared through the process.
func TestPrimariesOwnTheirStores(t *testing.T) {
	ctx := context.Background()
	p1, err := cluster.New(cluster.Config{Workers: 1, MaxValueSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := cluster.New(cluster.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p1.Store() == p2.Store() {
		t.Fatal("two primaries return the same store")
	}
	rev, err := p1.Store().Put(ctx, "own/k", []byte("1"))
	if err != nil || rev != 1 {
		t.Fatalf("first write of p1: rev %d, %v", rev, err)
	}
	if _, ok := p2.Store().Get("own/k"); ok {
		t.Fatal("a write to one primary's store shows in the other's")
	}
	if rev, err := p2.Store().Put(ctx, "own/other", []byte("2")); err != nil || rev != 1 {
		t.Fatalf("first write of p2: rev %d, %v (revisions are per store)", rev, err)
	}
	big := make([]byte, 200)
	if _, err := p1.Store().Put(ctx, "own/big", big); !errors.Is(err, kv.ErrInvalid) {
		t.Fatalf("a 200-byte value with p1's MaxValueSize of 100: %v", err)
	}
	if _, err := p2.Store().Put(ctx, "own/big", big); err != nil {
		t.Fatalf("the same value in p2, with the default limit: %v", err)
	}
	if _, err := cluster.Store(ctx); !errors.Is(err, cluster.ErrNotWorker) {
		t.Fatalf("Store outside a worker: %v, want ErrNotWorker (the primary's is Primary.Store)", err)
	}
}
