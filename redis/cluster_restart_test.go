//go:build unix

package redis_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/redistest"
)

// TestClusterRedisRestart: while the primaries and workers of two machines
// write without a pause, the redis-server is killed and restarted with its
// data (saved first), killed and restarted with the data of a save older
// than writes every machine has seen, killed and left down for a while,
// and killed and restarted empty. No process of the machines dies; while
// the server is down, writes and syncs fail at once with
// redis.ErrUnavailable (in a worker too), and the writes of the
// loops with it or a context error; afterwards every replica of both
// machines holds what Redis holds, at its revision, and every write
// acknowledged after the last restart is there.
func TestClusterRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	r := newRaw(t, srv, "restart")
	ms := startMachines(t, srv, "restart", 2*time.Second, "A", "B")
	vs := views(ms...)
	pids := make(map[*machine][]int)
	for _, m := range ms {
		for _, id := range m.ids() {
			pids[m] = append(pids[m], m.pid(id))
		}
	}

	type result struct {
		out string
		err error
	}
	results := make([]chan result, len(vs))
	for i, v := range vs {
		results[i] = make(chan result, 1)
		go func() {
			out, err := v.m.ask(v.target, "writes 1000000 25000")
			results[i] <- result{out, err}
		}()
	}
	probes := 0
	progress := func(what string) {
		t.Helper()
		base := int64(-1)
		deadline := time.Now().Add(20 * time.Second)
		for probes++; time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			n, err := r.logLength()
			if err == nil && base < 0 {
				base = n
			}
			if err == nil && n >= base+50 {
				break
			}
		}
		for _, v := range vs { // every process writes again
			var res putResult
			v.m.askJSON(v.target, fmt.Sprintf("putretry probe/%v/%d x", v, probes), &res)
			if res.Err != "" {
				t.Fatalf("%s: %v cannot write: %s", what, v, res.Err)
			}
		}
		if n, err := r.logLength(); err != nil || n < base+50 {
			t.Fatalf("%s: the log grew from %d to %d (%v) in 20 s", what, base, n, err)
		}
	}

	progress("before the restarts")
	srv.Restart(true)
	progress("after a restart with the data")
	srv.Command("SAVE")
	progress("after a save")
	srv.Stop() // the writes since the save are lost: every machine has seen some
	srv.Up()
	progress("after a restart with the data of the save")
	srv.Down(false)
	for _, v := range vs { // they fail at once (within their 3 s), as ErrUnavailable says
		var put, sync putResult
		v.m.askJSON(v.target, fmt.Sprintf("put down/%v x", v), &put)
		want := "unavailable" // in a worker too: the sentinel crosses the channel
		if put.Class != want {
			t.Errorf("%v: a write while the server is down: %q (class %q, want %q)", v, put.Err, put.Class, want)
		}
		v.m.askJSON(v.target, "sync", &sync) // a worker's reaches the store through its primary
		if sync.Class != want {
			t.Errorf("%v: a sync while the server is down: %q (class %q, want %q)", v, sync.Err, sync.Class, want)
		}
	}
	srv.Up()
	progress("after the server came back")
	srv.Restart(false)
	askAll(t, vs, "mark")
	progress("after a restart without the data")
	askAll(t, vs, "stop")

	ws := make([]writesResult, len(vs))
	for i, v := range vs {
		res := <-results[i]
		if res.err != nil {
			t.Fatalf("%v: writes: %v", v, res.err)
		}
		decode(t, v, res.out, &ws[i])
		w := ws[i]
		t.Logf("%v: %d writes, %d acknowledged; unavailable %d, context %d",
			v, w.Total, len(w.Acked), w.Unavailable, w.Ctx)
		if w.OtherErrors > 0 {
			t.Errorf("%v: %d writes failed with another error than unavailable: %q", v, w.OtherErrors, w.Other)
		}
		if w.After < 0 {
			t.Errorf("%v: the writes stopped before the last restart", v)
		}
	}
	for _, m := range ms {
		select {
		case <-m.gone:
			t.Fatalf("machine %s exited", m.name)
		default:
		}
		if ex := m.exited(); len(ex) > 0 {
			t.Errorf("machine %s: workers exited (id pid status): %q", m.name, ex)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	for _, m := range ms { // the primaries follow the store as it is now
		var sync putResult
		m.askJSON("p", "sync", &sync)
		if sync.Err != "" {
			t.Fatalf("machine %s: sync: %s", m.name, sync.Err)
		}
	}
	rev := r.mustRev()
	ds := dumps(t, vs, rev)
	sameDumps(t, vs, ds, rev)
	content := r.content()
	if got := slices.Sorted(slices.Values(ds[0].Entries)); !slices.Equal(got, entries(content)) {
		t.Errorf("%v and Redis differ:\n%s", vs[0], diff(entries(content), got))
	}
	for i, v := range vs {
		missing := 0
		for _, n := range ws[i].Acked {
			key := "w/" + v.String() + "/" + strconv.Itoa(n)
			if e, ok := content[key]; n >= ws[i].After && (!ok || e.value != strconv.Itoa(n)) {
				if missing++; missing <= 5 {
					t.Errorf("%v: write %s, acknowledged after the last restart, is not in Redis (%q)", v, key, e.value)
				}
			}
		}
	}
	for _, m := range ms {
		var now []int
		for _, id := range m.ids() {
			now = append(now, m.pid(id))
		}
		if !slices.Equal(now, pids[m]) {
			t.Errorf("machine %s: workers %v, started with %v", m.name, now, pids[m])
		}
	}
}
