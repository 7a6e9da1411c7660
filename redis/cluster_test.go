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

// TestClusterCompareAndSet: two machines of two workers each increment the
// same counters at once with compare-and-set. Every replica of both
// machines ends with the same content and revision as Redis, and the
// winning compare-and-sets are exactly the increments the counters show:
// the values written to a counter are 1, 2, ... its final value, each
// once (none lost, none counted twice, none out of nowhere).
func TestClusterCompareAndSet(t *testing.T) {
	srv := redistest.Start(t)
	r := newRaw(t, srv, "cas")
	ms := startMachines(t, srv, "cas", 5*time.Second, "A", "B")
	const keys, n = 3, 150
	ws := workerViews(ms...)
	outs := askAll(t, ws, fmt.Sprintf("incr %d %d %d", keys, n, len(ws)))
	wins := make(map[string][]int)
	conflicts := 0
	for i, out := range outs {
		var res incrResult
		decode(t, ws[i], out, &res)
		if len(res.Errors) > 0 {
			t.Errorf("%v: %q", ws[i], res.Errors)
		}
		won := 0
		for k, vs := range res.Wins {
			wins[k] = append(wins[k], vs...)
			won += len(vs)
		}
		if won != n {
			t.Errorf("%v won %d compare-and-sets, not %d", ws[i], won, n)
		}
		conflicts += res.Conflicts
	}
	if t.Failed() {
		t.FailNow()
	}
	if conflicts == 0 {
		t.Fatalf("no compare-and-set of the %d workers lost: they did not contend", len(ws))
	}
	t.Logf("%d increments, %d lost compare-and-sets retried", len(ws)*n, conflicts)

	rev := r.mustRev()
	vs := views(ms...)
	ds := dumps(t, vs, rev)
	sameDumps(t, vs, ds, rev)
	content := r.content()
	if got := slices.Sorted(slices.Values(ds[0].Entries)); !slices.Equal(got, entries(content)) {
		t.Errorf("%v and Redis differ:\n%s", vs[0], diff(entries(content), got))
	}
	for k := range keys {
		key := "c/" + strconv.Itoa(k)
		final, err := strconv.Atoi(content[key].value)
		if err != nil {
			t.Fatalf("counter %s in Redis: %q", key, content[key].value)
		}
		got := slices.Sorted(slices.Values(wins[key]))
		want := make([]int, final)
		for i := range want {
			want[i] = i + 1
		}
		if !slices.Equal(got, want) {
			t.Errorf("counter %s is %d, but the winning compare-and-sets wrote %d values: %s",
				key, final, len(got), valuesDiff(want, got))
		}
	}
}

// valuesDiff says which values of want are missing from got (lost
// increments) and which of got are extra (written twice, or beyond).
func valuesDiff(want, got []int) string {
	count := make(map[int]int)
	for _, v := range got {
		count[v]++
	}
	var lost, extra []int
	for _, v := range want {
		if count[v] == 0 {
			lost = append(lost, v)
		} else {
			count[v]--
		}
	}
	for v, c := range count {
		for range c {
			extra = append(extra, v)
		}
	}
	slices.Sort(extra)
	return fmt.Sprintf("missing %v, extra %v", head(lost), head(extra))
}

func head(vs []int) []int { return vs[:min(len(vs), 20)] }
