//go:build unix

package cluster_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/kv"
)

// answerKV runs the shared-state commands of the echo worker; it reports
// false for a command that is not one of them.
func answerKV(cmd, arg string) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch cmd { // the commands that must run before the store is there
	case "kvstallsub": // ms: the first Store, with the primary's reader held
		return stalled(arg, func(ctx context.Context) error {
			_, err := cluster.Store(ctx)
			return err
		}), true
	case "handlemode": // from now on, messages go to handleKV
		cluster.Handle(handleKV)
		return "ok", true
	}
	store, err := cluster.Store(ctx)
	if err != nil {
		return result("", err), true
	}
	switch cmd {
	case "kvput": // key=value
		k, v, _ := strings.Cut(arg, "=")
		rev, err := store.Put(ctx, k, []byte(v))
		return result(strconv.FormatUint(rev, 10), err), true
	case "kvown": // key=value, owned by this worker
		k, v, _ := strings.Cut(arg, "=")
		rev, err := store.Put(ctx, k, []byte(v), kv.OwnedByWorker())
		return result(strconv.FormatUint(rev, 10), err), true
	case "kvttl": // ms:key=value
		ms, kvs, _ := strings.Cut(arg, ":")
		d, _ := strconv.Atoi(ms)
		k, v, _ := strings.Cut(kvs, "=")
		rev, err := store.Put(ctx, k, []byte(v), kv.WithTTL(time.Duration(d)*time.Millisecond))
		return result(strconv.FormatUint(rev, 10), err), true
	case "kvget":
		if e, ok := store.Get(arg); ok {
			return fmt.Sprintf("%s@%d", e.Value, e.Rev), true
		}
		return "<none>", true
	case "kvbig": // a value one byte over the limit
		_, err := store.Put(ctx, arg, make([]byte, kv.MaxValueSize+1))
		return result("ok", err), true
	case "kvdigest": // prefix: revision, count and hash of the replica under it
		return digest(store, arg), true
	case "kvrange": // prefix: key=value@rev; for each entry, in Range's order
		var b strings.Builder
		for k, e := range store.Range(arg) {
			fmt.Fprintf(&b, "%s=%s@%d;", k, e.Value, e.Rev)
		}
		return b.String(), true
	case "kvstall": // ms:key=value, a Put with the primary's reader held
		ms, kvs, _ := strings.Cut(arg, ":")
		k, v, _ := strings.Cut(kvs, "=")
		return stalled(ms, func(ctx context.Context) error {
			_, err := store.Put(ctx, k, []byte(v))
			return err
		}), true
	case "kvputn": // n:key, a value of n bytes
		n, k, _ := strings.Cut(arg, ":")
		size, _ := strconv.Atoi(n)
		_, err := store.Put(ctx, k, make([]byte, size))
		return fmt.Sprintf("invalid=%v %v", errors.Is(err, kv.ErrInvalid), err), true
	case "kvallocs": // n: heap allocations per Put, over n Puts of one key
		n, _ := strconv.Atoi(arg)
		return allocsPerPut(ctx, store, n), true
	case "kvlen": // key: the length of its value
		e, ok := store.Get(arg)
		return fmt.Sprintf("%v %d", ok, len(e.Value)), true
	case "kvcreate": // key=value: the error's text, and the sentinel it matches
		k, v, _ := strings.Cut(arg, "=")
		_, err := store.Create(ctx, k, []byte(v))
		return fmt.Sprintf("exists=%v invalid=%v %v", errors.Is(err, kv.ErrExists), errors.Is(err, kv.ErrInvalid), err), true
	case "kvryw": // n writes, each read back at once by the writer
		n, _ := strconv.Atoi(arg)
		misses := 0
		for i := range n {
			v := strconv.Itoa(i)
			rev, err := store.Put(ctx, "ryw/"+strconv.Itoa(cluster.ID()), []byte(v))
			if e, ok := store.Get("ryw/" + strconv.Itoa(cluster.ID())); err != nil || !ok || string(e.Value) != v || e.Rev != rev || store.Rev() < rev {
				misses++
			}
		}
		return strconv.Itoa(misses), true
	case "kvstress":
		n, _ := strconv.Atoi(arg)
		return stress(ctx, store, n), true
	case "kvload": // key: Load with a loader that tells the primary and takes 300 ms
		e, err := store.Load(ctx, arg, 0, func(context.Context) ([]byte, error) {
			cluster.Send([]byte("loader ran in " + strconv.Itoa(cluster.ID())))
			time.Sleep(300 * time.Millisecond)
			return []byte("loaded by " + strconv.Itoa(cluster.ID())), nil
		})
		return result(string(e.Value), err), true
	case "kvloadfail": // key: a loader that fails
		_, err := store.Load(ctx, arg, 0, func(context.Context) ([]byte, error) {
			time.Sleep(300 * time.Millisecond)
			return nil, errors.New("backend down")
		})
		return result("loaded", err), true
	}
	return "", false
}

func result(ok string, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return ok
}

// digest describes the replica's content under prefix.
func digest(store *kv.KV, prefix string) string {
	h := sha256.New()
	n := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for ev := range store.Watch(ctx, prefix) {
		if ev.Op == kv.OpSynced {
			return fmt.Sprintf("rev=%d n=%d sum=%x", ev.Rev, n, h.Sum(nil)[:8])
		}
		fmt.Fprintf(h, "%s=%s@%d;", ev.Key, ev.Value, ev.Rev)
		n++
	}
	return "watch closed"
}

// stress writes n times from 4 goroutines: puts on 50 keys and
// compare-and-set increments of 5 counters. It checks that the revisions
// it watches under "s/" only grow, and reports its successful increments.
func stress(ctx context.Context, store *kv.KV, n int) string {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watch := store.Watch(ctx, "s/")
	var last uint64
	disorder := 0
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		synced := false
		for ev := range watch {
			if ev.Op == kv.OpSynced {
				synced, last = true, ev.Rev
				continue
			}
			if synced && ev.Rev <= last {
				disorder++
			}
			last = ev.Rev
		}
	}()
	var mu sync.Mutex
	wins, errs := 0, 0
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 4 {
				if i%2 == 0 {
					if _, err := store.Put(ctx, fmt.Sprintf("s/p%d", i%50), []byte(fmt.Sprintf("%d-%d", cluster.ID(), i))); err != nil {
						mu.Lock()
						errs++
						mu.Unlock()
					}
					continue
				}
				key := fmt.Sprintf("s/c%d", i%5)
				e, _ := store.Get(key)
				cur, _ := strconv.Atoi(string(e.Value))
				_, err := store.Update(ctx, key, []byte(strconv.Itoa(cur+1)), e.Rev)
				mu.Lock()
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, kv.ErrConflict):
					errs++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	cancel()
	<-watched
	return fmt.Sprintf("wins=%d errors=%d disorder=%d", wins, errs, disorder)
}

// stalled tells the primary to hold the reader of this worker's channel
// (the test's Handle blocks on the message "stall"), then runs call with a
// context of ms milliseconds: "took=<ms> deadline=<bool> <error>".
func stalled(ms string, call func(context.Context) error) string {
	d, _ := strconv.Atoi(ms)
	if err := cluster.Send([]byte("stall")); err != nil {
		return "error: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(d)*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := call(ctx)
	fmt.Println("stalled call returned") // the test waits for this line
	return fmt.Sprintf("took=%d deadline=%v %v", time.Since(start).Milliseconds(), errors.Is(err, context.DeadlineExceeded), err)
}

// handleKV serves the echo worker's messages once "handlemode" made it the
// Handle callback: the "inhandler" commands wait for the primary from the
// callback itself, "replyerr" answers with an error that wraps a sentinel,
// and every other request is answered as usual, on its own goroutine.
func handleKV(m *cluster.Message) {
	if !m.IsRequest() {
		return
	}
	cmd, arg, _ := strings.Cut(string(m.Data), ":")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch cmd {
	case "inhandler": // what: a call that waits, from the callback
		start := time.Now()
		var err error
		switch arg {
		case "store":
			_, err = cluster.Store(ctx)
		case "put":
			err = withStore(ctx, func(store *kv.KV) error {
				_, err := store.Put(ctx, "inhandler", []byte("x"))
				return err
			})
		case "mapset":
			err = withStore(ctx, func(store *kv.KV) error {
				_, err := kv.NewMap[int](store, "inhandler/").Set(ctx, "n", 1)
				return err
			})
		case "load":
			err = withStore(ctx, func(store *kv.KV) error {
				_, err := store.Load(ctx, "inhandler/load", 0, func(context.Context) ([]byte, error) {
					return []byte("loaded"), nil
				})
				return err
			})
		case "request":
			_, err = cluster.Request(ctx, []byte("from a handler"))
		}
		m.Reply([]byte(fmt.Sprintf("inhandler=%v took=%d %v", errors.Is(err, cluster.ErrInHandler), time.Since(start).Milliseconds(), err)))
	case "replyerr":
		m.ReplyError(fmt.Errorf("%w: as asked", sentinels[arg]))
	default:
		go answer(m, "")
	}
}

// withStore calls fn with this worker's store, or returns the error of
// getting it.
func withStore(ctx context.Context, fn func(*kv.KV) error) error {
	store, err := cluster.Store(ctx)
	if err != nil {
		return err
	}
	return fn(store)
}

// sentinels are errors the tests expect to keep across the channel.
var sentinels = map[string]error{
	"exists":   kv.ErrExists,
	"conflict": kv.ErrConflict,
	"invalid":  kv.ErrInvalid,
	"noworker": cluster.ErrNoWorker,
	"toolarge": cluster.ErrTooLarge,
	"deadline": context.DeadlineExceeded,
}

// allocsPerPut measures the heap allocations of a worker's Put: n writes
// of a 16-byte value with a cancellable context (what an HTTP handler
// passes), after a warm-up.
func allocsPerPut(ctx context.Context, store *kv.KV, n int) string {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	value := []byte("0123456789abcdef")
	for range 100 {
		store.Put(ctx, "allocs", value)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		if _, err := store.Put(ctx, "allocs", value); err != nil {
			return "error: " + err.Error()
		}
	}
	runtime.ReadMemStats(&after)
	return fmt.Sprintf("%.2f", float64(after.Mallocs-before.Mallocs)/float64(n))
}
