//go:build unix

package redis_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// view is one process of a machine, to ask: its primary ("p") or a worker.
type view struct {
	m      *machine
	target string
}

func (v view) String() string { return v.m.name + "/" + v.target }

// views returns the primary and the ready workers of each machine.
func views(ms ...*machine) []view {
	var vs []view
	for _, m := range ms {
		vs = append(vs, view{m, "p"})
		for _, id := range m.ids() {
			vs = append(vs, view{m, strconv.Itoa(id)})
		}
	}
	return vs
}

// workerViews returns the ready workers of each machine.
func workerViews(ms ...*machine) []view {
	var vs []view
	for _, v := range views(ms...) {
		if v.target != "p" {
			vs = append(vs, v)
		}
	}
	return vs
}

// askAll sends cmd to every view at once and returns their replies, in
// the order of vs; a request that fails fails the test.
func askAll(t *testing.T, vs []view, cmd string) []string {
	t.Helper()
	outs, errs := make([]string, len(vs)), make([]error, len(vs))
	var wg sync.WaitGroup
	for i, v := range vs {
		wg.Go(func() { outs[i], errs[i] = v.m.ask(v.target, cmd) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%v: %q: %v", vs[i], cmd, err)
		}
	}
	return outs
}

// decode decodes the JSON reply of v into x, failing the test if it does not.
func decode(t *testing.T, v view, text string, x any) {
	t.Helper()
	if err := json.Unmarshal([]byte(text), x); err != nil {
		t.Fatalf("%v: reply %q: %v", v, text, err)
	}
}

// dumps returns the content of every view once its replica is at rev or
// later, failing the test if one cannot say it.
func dumps(t *testing.T, vs []view, rev uint64) []dumpResult {
	t.Helper()
	outs := askAll(t, vs, "dump "+strconv.FormatUint(rev, 10))
	ds := make([]dumpResult, len(vs))
	for i, out := range outs {
		decode(t, vs[i], out, &ds[i])
		if ds[i].Err != "" {
			t.Fatalf("%v: dump: %s", vs[i], ds[i].Err)
		}
	}
	return ds
}

// sameDumps fails the test unless every dump equals the first, at rev.
func sameDumps(t *testing.T, vs []view, ds []dumpResult, rev uint64) {
	t.Helper()
	for i, d := range ds {
		if d.Rev != rev {
			t.Errorf("%v: replica at revision %d, the store at %d", vs[i], d.Rev, rev)
		}
		if !slices.Equal(d.Entries, ds[0].Entries) {
			t.Errorf("%v and %v differ:\n%s", vs[0], vs[i], diff(ds[0].Entries, d.Entries))
		}
	}
}

// diff lists, at most 20 of each, the entries of a missing from b and of b
// missing from a.
func diff(a, b []string) string {
	var s strings.Builder
	for _, x := range [2]struct {
		sign     string
		from, in []string
	}{{"-", a, b}, {"+", b, a}} {
		n := 0
		for _, e := range x.from {
			if !slices.Contains(x.in, e) {
				if n++; n <= 20 {
					fmt.Fprintf(&s, "%s %s\n", x.sign, e)
				}
			}
		}
		if n > 20 {
			fmt.Fprintf(&s, "%s ... %d in all\n", x.sign, n)
		}
	}
	return s.String()
}
