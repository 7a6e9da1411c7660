package kv_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gocluster/cluster/kv"
)

// A store on its own, in one process: a write returns its revision, and Get
// reads the local replica. In a cluster the calls are the same on
// Primary.Store and on a worker's cluster.Store.
func Example() {
	ctx := context.Background()
	store := kv.New(kv.NewEngine(kv.Limits{}))
	rev, err := store.Put(ctx, "greeting", []byte("Hi!, from seotory"))
	if err != nil {
		fmt.Println(err)
		return
	}
	e, _ := store.Get("greeting")
	fmt.Println(string(e.Value), e.Rev == rev)
	// Update succeeds only if nobody wrote the key since rev.
	_, err = store.Update(ctx, "greeting", []byte("Hello"), rev-1)
	fmt.Println(errors.Is(err, kv.ErrConflict))
	fmt.Println(err)
	// Output:
	// Hi!, from seotory true
	// true
	// kv: update "greeting": revision conflict: key at revision 1, expected 0
}

// A typed Map counts across every process without losing an increment.
func ExampleMap_Update() {
	ctx := context.Background()
	visits := kv.NewMap[int](kv.New(kv.NewEngine(kv.Limits{})), "stats/")
	for range 3 {
		visits.Update(ctx, "visits", func(n int, _ bool) (int, error) { return n + 1, nil })
	}
	n, _ := visits.Get("visits")
	fmt.Println(n)
	// Output: 3
}

// Watch delivers what a prefix holds, then OpSynced, then every change, in
// order, in the primary or in any worker.
func ExampleKV_Watch() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := kv.New(kv.NewEngine(kv.Limits{}))
	store.Put(ctx, "watch/a", []byte("1"))
	changes := store.Watch(ctx, "watch/")
	store.Put(ctx, "watch/b", []byte("2"))
	store.Delete(ctx, "watch/a")
	store.Delete(ctx, "watch/b")
	for e := range changes {
		switch e.Op {
		case kv.OpSynced:
			fmt.Println("synced: changes follow")
		case kv.OpPut:
			fmt.Printf("put %s = %s\n", e.Key, e.Value)
		default:
			fmt.Println(e.Op, e.Key)
		}
		if e.Op == kv.OpDelete && strings.HasSuffix(e.Key, "/b") {
			break
		}
	}
	// Output:
	// put watch/a = 1
	// synced: changes follow
	// put watch/b = 2
	// delete watch/a
	// delete watch/b
}

// Load runs the loader once however many callers ask at once, in this
// process or, in a cluster, in any worker.
func ExampleKV_Load() {
	ctx := context.Background()
	store := kv.New(kv.NewEngine(kv.Limits{}))
	for range 2 {
		e, err := store.Load(ctx, "config", 0, func(context.Context) ([]byte, error) {
			fmt.Println("loading")
			return []byte("max_conns=100"), nil
		})
		fmt.Println(string(e.Value), err)
	}
	// Output:
	// loading
	// max_conns=100 <nil>
	// max_conns=100 <nil>
}
