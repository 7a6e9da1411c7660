//go:build unix

package redis_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/redistest"
)

// TestClusterLoadOnce: a cold key that every worker of three machines
// Loads at once is loaded once (its loader, which counts its runs in a
// file, waits until every worker asked). Then a load whose loader blocks:
// the machine leading it is killed (SIGKILL, primary and workers); once
// the load's lock ends with its lease, another machine loads it, once, and
// every remaining worker gets that value.
func TestClusterLoadOnce(t *testing.T) {
	srv := redistest.Start(t)
	r := newRaw(t, srv, "load")
	ms := startMachines(t, srv, "load", time.Second, "A", "B", "C")
	dir := t.TempDir()
	ws := workerViews(ms...)

	cold := filepath.Join(dir, "cold")
	outs := askAll(t, ws, fmt.Sprintf("load cold gate %s %d", cold, len(ws)))
	runs := lines(t, cold)
	if len(runs) != 1 {
		t.Fatalf("the loader of a cold key ran %d times: %q", len(runs), runs)
	}
	want := "loaded by " + strings.Fields(runs[0])[0]
	for i, out := range outs {
		if out != want {
			t.Errorf("%v: Load returned %q, want %q", ws[i], out, want)
		}
	}

	hot := filepath.Join(dir, "hot")
	type result struct {
		v   view
		out string
		err error
	}
	results := make(chan result, len(ws))
	for _, v := range ws {
		go func() {
			out, err := v.m.ask(v.target, fmt.Sprintf("load hot blockfirst %s %d", hot, len(ws)))
			results <- result{v, out, err}
		}()
	}
	var first []string
	deadline := time.Now().Add(20 * time.Second)
	for len(first) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no loader ran within 20 s")
		}
		select {
		case res := <-results:
			t.Fatalf("%v: Load returned %q, %v while its loader blocks", res.v, res.out, res.err)
		case <-time.After(5 * time.Millisecond):
		}
		first = lines(t, hot)
	}
	leader, _, _ := strings.Cut(first[0], "/")
	var dead *machine
	for _, m := range ms {
		if m.name == leader {
			dead = m
		}
	}
	if dead == nil {
		t.Fatalf("the loader ran in an unknown machine: %q", first)
	}
	dead.kill()

	for range ws {
		res := <-results
		switch {
		case res.v.m == dead:
			if res.err == nil {
				t.Errorf("%v, killed: Load returned %q", res.v, res.out)
			}
		case res.err != nil:
			t.Errorf("%v: %v", res.v, res.err)
		default:
			outs = append(outs, res.out)
			if runs := lines(t, hot); len(runs) != 2 || res.out != "loaded by "+strings.Fields(runs[1])[0] {
				t.Errorf("%v: Load returned %q; the loader ran: %q", res.v, res.out, runs)
			}
		}
	}
	runs = lines(t, hot)
	if len(runs) != 2 {
		t.Fatalf("the loader ran %d times (its first run killed with machine %s): %q", len(runs), leader, runs)
	}
	if strings.HasPrefix(runs[1], leader+"/") {
		t.Errorf("the load was taken over in the machine that was killed: %q", runs)
	}
	if e := r.content()["hot"]; e.value != "loaded by "+strings.Fields(runs[1])[0] {
		t.Errorf("Redis holds %q for the key, not the value of the second loader (%q)", e.value, runs[1])
	}
}

// lines returns the complete lines of the file name (none if it does not
// exist).
func lines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	s := string(b)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}
