//go:build unix

package cluster_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/cluster"
)

// answerKV runs the shared-state commands of the echo worker; it reports
// false for a command that is not one of them.
func answerKV(cmd, arg string) (string, bool) {
	kv := cluster.Store()
	switch cmd {
	case "kvput": // key=value
		k, v, _ := strings.Cut(arg, "=")
		rev, err := kv.Put(k, []byte(v))
		return result(strconv.FormatUint(rev, 10), err), true
	case "kvown": // key=value, owned by this worker
		k, v, _ := strings.Cut(arg, "=")
		rev, err := kv.Put(k, []byte(v), cluster.OwnedByWorker())
		return result(strconv.FormatUint(rev, 10), err), true
	case "kvttl": // ms:key=value
		ms, kvs, _ := strings.Cut(arg, ":")
		d, _ := strconv.Atoi(ms)
		k, v, _ := strings.Cut(kvs, "=")
		rev, err := kv.Put(k, []byte(v), cluster.WithTTL(time.Duration(d)*time.Millisecond))
		return result(strconv.FormatUint(rev, 10), err), true
	case "kvget":
		if e, ok := kv.Get(arg); ok {
			return fmt.Sprintf("%s@%d", e.Value, e.Rev), true
		}
		return "<none>", true
	case "kvbig": // a value one byte over the limit
		_, err := kv.Put(arg, make([]byte, cluster.MaxValueSize+1))
		return result("ok", err), true
	case "kvdigest": // prefix: revision, count and hash of the replica under it
		return digest(kv, arg), true
	case "kvryw": // n writes, each read back at once by the writer
		n, _ := strconv.Atoi(arg)
		misses := 0
		for i := range n {
			v := strconv.Itoa(i)
			rev, err := kv.Put("ryw/"+strconv.Itoa(cluster.ID()), []byte(v))
			if e, ok := kv.Get("ryw/" + strconv.Itoa(cluster.ID())); err != nil || !ok || string(e.Value) != v || e.Rev != rev || kv.Rev() < rev {
				misses++
			}
		}
		return strconv.Itoa(misses), true
	case "kvstress":
		n, _ := strconv.Atoi(arg)
		return stress(kv, n), true
	case "kvload": // key: Load with a loader that tells the primary and takes 300 ms
		e, err := kv.Load(context.Background(), arg, 0, func(context.Context) ([]byte, error) {
			cluster.Send([]byte("loader ran in " + strconv.Itoa(cluster.ID())))
			time.Sleep(300 * time.Millisecond)
			return []byte("loaded by " + strconv.Itoa(cluster.ID())), nil
		})
		return result(string(e.Value), err), true
	case "kvloadfail": // key: a loader that fails
		_, err := kv.Load(context.Background(), arg, 0, func(context.Context) ([]byte, error) {
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
func digest(kv *cluster.KV, prefix string) string {
	h := sha256.New()
	n := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for ev := range kv.Watch(ctx, prefix) {
		if ev.Op == cluster.OpSynced {
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
func stress(kv *cluster.KV, n int) string {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := kv.Watch(ctx, "s/")
	var last uint64
	disorder := 0
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		synced := false
		for ev := range watch {
			if ev.Op == cluster.OpSynced {
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
					if _, err := kv.Put(fmt.Sprintf("s/p%d", i%50), []byte(fmt.Sprintf("%d-%d", cluster.ID(), i))); err != nil {
						mu.Lock()
						errs++
						mu.Unlock()
					}
					continue
				}
				key := fmt.Sprintf("s/c%d", i%5)
				e, _ := kv.Get(key)
				cur, _ := strconv.Atoi(string(e.Value))
				_, err := kv.Update(key, []byte(strconv.Itoa(cur+1)), e.Rev)
				mu.Lock()
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, cluster.ErrConflict):
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
