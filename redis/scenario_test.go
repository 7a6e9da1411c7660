//go:build unix

package redis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gocluster/cluster/kv"
	"github.com/gocluster/cluster/redis"
)

// The commands a machine's processes run for the tests (scenario), on
// their handle on the store: the primary's, or a worker's replica. Each
// replies with JSON.

// marked and stopped are set by the "mark" and "stop" commands, for the
// "writes" loop running in the same process.
var marked, stopped atomic.Bool

// putResult is the reply of a single write (or sync): its revision, or
// the class of its error (see errClass) and its text.
type putResult struct {
	Rev   uint64
	Class string
	Err   string
}

// dumpResult is a replica's content: its revision and, in key order,
// "key=value@rev/created" for each entry; Err if it could not be had.
type dumpResult struct {
	Rev     uint64
	Entries []string
	Err     string
}

// incrResult is what an "incr" loop did: the values each of its winning
// compare-and-sets wrote, by key, how many lost (and were retried), and
// every other error.
type incrResult struct {
	Wins      map[string][]int
	Conflicts int
	Errors    []string
}

// writesResult is what a "writes" loop did: the indexes of its writes that
// returned no error, the first index it started after "mark" (-1: none),
// and its errors by class (at most ten texts of the unexpected ones).
type writesResult struct {
	Acked              []int
	After              int
	Unavailable, Ctx   int
	Other              []string
	Total, OtherErrors int
}

// scenario runs cmd ("NAME ARGS") on store as who ("A/3", or "A/p" in the
// primary) and returns its reply.
func scenario(ctx context.Context, store *kv.KV, who, cmd string) string {
	name, arg, _ := strings.Cut(cmd, " ")
	args := strings.Fields(arg)
	switch name {
	case "dump": // REV: the content once the replica is at REV or later
		rev, _ := strconv.ParseUint(arg, 10, 64)
		return jsonReply(dump(ctx, store, rev))
	case "put": // KEY VALUE [owned]
		var opts []kv.WriteOption
		if len(args) > 2 && args[2] == "owned" {
			opts = append(opts, kv.OwnedByWorker())
		}
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		rev, err := store.Put(wctx, args[0], []byte(args[1]), opts...)
		return jsonReply(putResult{Rev: rev, Class: errClass(err), Err: errText(err)})
	case "putretry": // KEY VALUE: a Put tried again until it succeeds (15 s at most)
		return jsonReply(putRetry(ctx, store, args[0], args[1]))
	case "sync":
		sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		err := store.Sync(sctx)
		return jsonReply(putResult{Rev: store.Rev(), Class: errClass(err), Err: errText(err)})
	case "incr": // KEYS N PARTIES
		n := atoiAll(args)
		return jsonReply(incr(ctx, store, who, n[0], n[1], n[2]))
	case "load": // KEY MODE MARKER PARTIES
		parties, _ := strconv.Atoi(args[3])
		return load(ctx, store, who, args[0], args[1], args[2], parties)
	case "writes": // MAX MS
		n := atoiAll(args)
		return jsonReply(writes(ctx, store, who, n[0], time.Duration(n[1])*time.Millisecond))
	case "mark":
		marked.Store(true)
		return "ok"
	case "stop":
		stopped.Store(true)
		return "ok"
	}
	return "unknown command " + name
}

func jsonReply(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func atoiAll(args []string) []int {
	n := make([]int, len(args))
	for i, a := range args {
		n[i], _ = strconv.Atoi(a)
	}
	return n
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// errClass names how a write failed: "" (it did not), "unavailable"
// (errors.Is redis.ErrUnavailable, in a worker too: the sentinel crosses
// the channel), "ctx" (a context error) or "other".
func errClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, redis.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return "ctx"
	}
	return "other"
}

// waitUntil reports whether cond holds within d (checked every 2 ms),
// giving up early if ctx ends.
func waitUntil(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) || pause(ctx, 2*time.Millisecond) != nil {
			return false
		}
	}
	return true
}

// pause waits d, or until ctx ends (its error).
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func count(store *kv.KV, prefix string) int {
	n := 0
	for range store.Range(prefix) {
		n++
	}
	return n
}

// dump returns store's content once its replica is at rev or later (after
// a Sync: a worker's Sync does not reach the store, so rev is waited for).
func dump(ctx context.Context, store *kv.KV, rev uint64) dumpResult {
	var res dumpResult
	if err := store.Sync(ctx); err != nil {
		res.Err = err.Error()
		return res
	}
	if !waitUntil(ctx, 20*time.Second, func() bool { return store.Rev() >= rev }) {
		res.Err = fmt.Sprintf("the replica is at revision %d after 20 s, not %d", store.Rev(), rev)
	}
	res.Rev = store.Rev()
	for k, e := range store.Range("") {
		res.Entries = append(res.Entries, fmt.Sprintf("%s=%s@%d/%d", k, e.Value, e.Rev, e.Created))
	}
	return res
}

func putRetry(ctx context.Context, store *kv.KV, key, value string) putResult {
	var res putResult
	deadline := time.Now().Add(15 * time.Second)
	for try := 0; try < 1000 && time.Now().Before(deadline); try++ {
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		rev, err := store.Put(wctx, key, []byte(value))
		cancel()
		res = putResult{Rev: rev, Class: errClass(err), Err: errText(err)}
		if err == nil || pause(ctx, 20*time.Millisecond) != nil {
			break
		}
	}
	return res
}

// incr waits until parties processes have joined (each puts barrier/WHO),
// then increments the counters c/0 ... c/KEYS-1 n times in turn with
// compare-and-set (Create for the first), each until it wins.
func incr(ctx context.Context, store *kv.KV, who string, keys, n, parties int) incrResult {
	res := incrResult{Wins: make(map[string][]int)}
	fail := func(err error) {
		if len(res.Errors) < 10 {
			res.Errors = append(res.Errors, err.Error())
		}
	}
	if _, err := store.Put(ctx, "barrier/"+who, []byte("1")); err != nil {
		fail(err)
		return res
	}
	if !waitUntil(ctx, 20*time.Second, func() bool { return count(store, "barrier/") >= parties }) {
		fail(fmt.Errorf("%d of %d parties at the barrier after 20 s", count(store, "barrier/"), parties))
		return res
	}
	for i := range n {
		key := "c/" + strconv.Itoa(i%keys)
		won := false
		for try := 0; try < 5000 && !won; try++ {
			e, ok := store.Get(key)
			next, err := 1, error(nil)
			if ok {
				v, _ := strconv.Atoi(string(e.Value))
				next = v + 1
				_, err = store.Update(ctx, key, []byte(strconv.Itoa(next)), e.Rev)
			} else {
				_, err = store.Create(ctx, key, []byte("1"))
			}
			switch {
			case err == nil:
				res.Wins[key] = append(res.Wins[key], next)
				won = true
			case errors.Is(err, kv.ErrConflict) || errors.Is(err, kv.ErrExists):
				res.Conflicts++
			default:
				fail(err)
				return res
			}
		}
		if !won {
			fail(fmt.Errorf("increment %d of %s lost 5000 times", i, key))
			return res
		}
	}
	return res
}

// load Loads key once every party has asked for it (each puts
// asked/KEY/WHO first). Its loader appends "WHO PID" to the file marker,
// then with mode "gate" waits until every party asked (so that they all
// wait for this one load), and with mode "blockfirst", if it is the first
// loader of the file, blocks until its context ends (the test kills it).
func load(ctx context.Context, store *kv.KV, who, key, mode, marker string, parties int) string {
	if _, err := store.Put(ctx, "asked/"+key+"/"+who, []byte("1")); err != nil {
		return "error: " + err.Error()
	}
	e, err := store.Load(ctx, key, 0, func(ctx context.Context) ([]byte, error) {
		n, err := appendLine(marker, fmt.Sprintf("%s %d", who, os.Getpid()))
		if err != nil {
			return nil, err
		}
		switch {
		case mode == "gate":
			if !waitUntil(ctx, 20*time.Second, func() bool { return count(store, "asked/"+key+"/") >= parties }) {
				return nil, errors.New("not every party asked within 20 s")
			}
		case mode == "blockfirst" && n == 1:
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return []byte("loaded by " + who), nil
	})
	if err != nil {
		return "error: " + err.Error()
	}
	return string(e.Value)
}

// appendLine appends line to the file name and returns how many lines it
// has then.
func appendLine(name, line string) (int, error) {
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(name)
	return strings.Count(string(b), "\n"), err
}

// writes puts w/WHO/I = I for I = 0, 1, ... until "stop", max writes or d,
// each bounded by 3 s, pausing 5 ms after a failure.
func writes(ctx context.Context, store *kv.KV, who string, max int, d time.Duration) writesResult {
	res := writesResult{After: -1}
	deadline := time.Now().Add(d)
	for i := 0; i < max && time.Now().Before(deadline) && !stopped.Load() && ctx.Err() == nil; i++ {
		if res.After < 0 && marked.Load() {
			res.After = i
		}
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := store.Put(wctx, "w/"+who+"/"+strconv.Itoa(i), []byte(strconv.Itoa(i)))
		cancel()
		res.Total++
		switch errClass(err) {
		case "":
			res.Acked = append(res.Acked, i)
			continue
		case "unavailable":
			res.Unavailable++
		case "ctx":
			res.Ctx++
		default:
			if res.OtherErrors++; len(res.Other) < 10 {
				res.Other = append(res.Other, err.Error())
			}
		}
		pause(ctx, 5*time.Millisecond)
	}
	return res
}
