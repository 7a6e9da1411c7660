package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/kv"
)

// stateKey is the name of the i-th key of the shared-state figures (the
// peers use the same names).
func stateKey(i int) string { return fmt.Sprintf("key%07d", i) }

// stateValue is a 60-byte value.
var stateValue = []byte(strings.Repeat("v", 60))

// stateWorker holds the replica and answers the bench's commands:
//
//	mem             bytes of heap the replica added
//	get:K           ns per Get of random keys among K
//	watch:N:A       start recording N visibility samples of key "vis"; A=1:
//	                acknowledge each by writing its number to "ack"
//	visresult       "p50 p99 n" in ns, once N samples are in (or 10 s)
//	visloop:N       closed loop, as the peers measure: write a time stamp
//	                to "vis", wait for its number in "ack", N times
//	viswrite:N      write N time stamps to "vis", 0.5-1 ms apart (every
//	                process goes idle in between)
//	writes:K:S:G    G goroutines Put random keys among K for S seconds: "count ns"
func stateWorker() {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	store, err := cluster.Store(context.Background()) // the snapshot is in when it returns
	if err != nil {
		log.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	mem := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	var vis struct {
		sync.Mutex
		samples []int64
		want    int
		full    chan struct{}
	}
	cluster.Handle(func(m *cluster.Message) {
		cmd, arg, _ := strings.Cut(string(m.Data), ":")
		switch cmd {
		case "mem":
			m.Reply([]byte(strconv.FormatInt(mem, 10)))
		case "get":
			k, _ := strconv.Atoi(arg)
			go func() { m.Reply([]byte(fmt.Sprintf("%.2f", getNs(store, k)))) }()
		case "watch":
			a, ack, _ := strings.Cut(arg, ":")
			n, _ := strconv.Atoi(a)
			vis.Lock()
			vis.samples, vis.want, vis.full = nil, n, make(chan struct{})
			full := vis.full
			vis.Unlock()
			synced := make(chan struct{})
			go watchVis(store, n, synced, func(d int64, seq string) bool {
				vis.Lock()
				vis.samples = append(vis.samples, d)
				more := len(vis.samples) < vis.want
				vis.Unlock()
				if ack == "1" {
					store.Put(context.Background(), "ack", []byte(seq))
				}
				if !more {
					close(full)
				}
				return more
			})
			go func() { <-synced; m.Reply([]byte("ok")) }()
		case "visresult":
			vis.Lock()
			full := vis.full
			vis.Unlock()
			go func() {
				select {
				case <-full:
				case <-time.After(10 * time.Second):
				}
				vis.Lock()
				s := slices.Clone(vis.samples)
				vis.Unlock()
				slices.Sort(s)
				if len(s) == 0 {
					m.Reply([]byte("0 0 0"))
					return
				}
				m.Reply([]byte(fmt.Sprintf("%d %d %d", s[len(s)/2], s[len(s)*99/100], len(s))))
			}()
		case "viswrite":
			n, _ := strconv.Atoi(arg)
			go func() {
				for i := range n {
					stamp := strconv.FormatInt(time.Now().UnixNano(), 10) + ":" + strconv.Itoa(i)
					store.Put(context.Background(), "vis", []byte(stamp))
					time.Sleep(500*time.Microsecond + rand.N(500*time.Microsecond))
				}
				m.Reply([]byte("done"))
			}()
		case "visloop":
			n, _ := strconv.Atoi(arg)
			go func() { m.Reply([]byte(visLoop(store, n))) }()
		case "writes":
			f := strings.Split(arg, ":")
			k, _ := strconv.Atoi(f[0])
			secs, _ := strconv.Atoi(f[1])
			g, _ := strconv.Atoi(f[2])
			go func() {
				stop := cpuProfile("worker")
				count, took := putLoad(store, k, time.Duration(secs)*time.Second, g)
				stop()
				m.Reply([]byte(fmt.Sprintf("%d %d", count, took.Nanoseconds())))
			}()
		}
	})
	cluster.Ready()
	<-cluster.Shutdown()
}

// visLoop writes n time stamps to "vis", each once the previous one was
// acknowledged in "ack" (one write in flight, as the peers do).
func visLoop(store *kv.KV, n int) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	acks := store.Watch(ctx, "ack")
	for ev := range acks { // the entries that exist, up to the marker
		if ev.Op == kv.OpSynced {
			break
		}
	}
	for i := range n {
		seq := strconv.Itoa(i)
		store.Put(ctx, "vis", []byte(strconv.FormatInt(time.Now().UnixNano(), 10)+":"+seq))
		for ev := range acks {
			if ev.Op == kv.OpPut && string(ev.Value) == seq {
				break
			}
		}
		if ctx.Err() != nil {
			return "timeout"
		}
	}
	return "done"
}

// watchVis records now - stamp for each change of "vis" until record says
// stop; record also gets the sample's number.
func watchVis(store *kv.KV, n int, synced chan<- struct{}, record func(d int64, seq string) bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	live := false // past the entries that existed when the watch began
	for ev := range store.Watch(ctx, "vis") {
		if ev.Op == kv.OpSynced {
			live = true
			close(synced)
			continue
		}
		if ev.Op != kv.OpPut || !live || ev.Key != "vis" {
			continue
		}
		now := time.Now().UnixNano()
		s, seq, _ := strings.Cut(string(ev.Value), ":")
		stamp, err := strconv.ParseInt(s, 10, 64)
		if err == nil && !record(now-stamp, seq) {
			return
		}
	}
}

// getNs times Get on keys drawn at random among all k (so at 100k keys most
// reads miss the CPU caches): the best of 3 loops of 200,000.
func getNs(store *kv.KV, k int) float64 {
	const reads = 200000
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = stateKey(rand.N(k))
	}
	best := time.Duration(1 << 62)
	hits := 0
	for range 3 {
		start := time.Now()
		for i := range reads {
			if _, ok := store.Get(keys[i&(1<<16-1)]); ok {
				hits++
			}
		}
		best = min(best, time.Since(start))
	}
	if hits == 0 {
		return -1
	}
	return float64(best.Nanoseconds()) / reads
}

// putLoad runs g goroutines that Put random existing keys for d. The key
// names are made beforehand, as the peers do (Node picks from an array of
// names, uWSGI from pre-drawn keys).
func putLoad(store *kv.KV, k int, d time.Duration, g int) (int64, time.Duration) {
	names := make([]string, k)
	for i := range names {
		names[i] = stateKey(i)
	}
	var count atomic.Int64
	ctx := context.Background()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				if n%64 == 0 && time.Now().After(deadline) {
					return
				}
				if _, err := store.Put(ctx, names[rand.N(k)], stateValue); err == nil {
					count.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return count.Load(), time.Since(start)
}
