package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
)

// vsRow is one line of a table of the Redis section: our figure against
// a peer's from the same runs (none: theirs is empty), with its goal.
type vsRow struct {
	label, unit  string
	ours         []float64
	peer         string
	theirs       []float64
	higherBetter bool
	goal         string
	met          func(ours, theirs float64) bool // the goal, on the medians
}

// printVs prints rows as printComparison does (medians, spreads, the
// ratio in our favour), with a peer per row and whether each goal is met.
func printVs(title string, rows []vsRow) {
	fmt.Printf("\n%s\n\n", title)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\tgocluster\tpeer\tpeer's figure\tratio (>1: gocluster better)\tgoal\n")
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(6), dash(9), dash(4), dash(13), dash(27), dash(4))
	for _, r := range rows {
		o, p := median(r.ours), median(r.theirs)
		peer, theirs, ratio := "-", "-", "-"
		if len(r.theirs) > 0 {
			peer, theirs = r.peer, num(p)+spread(r.theirs)
			switch {
			case r.higherBetter && p > 0:
				ratio = fmt.Sprintf("%.2fx", o/p)
			case !r.higherBetter && o > 0:
				ratio = fmt.Sprintf("%.2fx", p/o)
			}
		}
		goal := r.goal
		if r.met != nil && len(r.ours) > 0 {
			if r.met(o, p) {
				goal += ": met"
			} else {
				goal += ": MISSED"
			}
		}
		fmt.Fprintf(tw, "%s [%s]\t%s%s\t%s\t%s\t%s\t%s\n", r.label, r.unit, num(o), spread(r.ours), peer, theirs, ratio, goal)
	}
	tw.Flush()
}

// printRedis prints the section's tables.
func printRedis(version string, runs int, k redisKnobs, ours, peer samples, commands []string) {
	fmt.Printf("\nRedis backend: redis-server %s on loopback, machines are primaries of their own on this box (median of %d runs, min - max)\n", version, runs)
	seed := float64(redisColdMachines * redisColdWorkers)
	printVs(fmt.Sprintf("a. write on machine A -> seen by a worker on machine B (%d writes, one in flight)", k.samples), []vsRow{
		{label: "p50", unit: "us", ours: ours["vis50"], peer: "plain SET then GET, one connection", theirs: peer["vis50"],
			goal: "p50 <= 3x the round trip", met: func(o, p float64) bool { return o <= 3*p }},
		{label: "p99", unit: "us", ours: ours["vis99"], peer: "plain SET then GET, one connection", theirs: peer["vis99"]},
		{label: "Redis's time per write (command stats)", unit: "us", ours: ours["visusec"], peer: "plain SET then GET", theirs: peer["visusec"]},
	})
	pair := fmt.Sprintf("2 machines x 2 workers, %d goroutines each", k.writers)
	printVs(fmt.Sprintf("b. writes/s through Redis (%d s each, %d keys, 60-byte values)", k.secs, k.keys), []vsRow{
		{label: pair, unit: "writes/s", ours: ours["writes"], peer: "redis-benchmark -t set -c 1", theirs: peer["rb1"], higherBetter: true,
			goal: ">= 100k writes/s", met: func(o, _ float64) bool { return o >= 100000 }},
		{label: pair, unit: "writes/s", ours: ours["writes"], peer: "redis-benchmark -t set -c 50", theirs: peer["rb50"], higherBetter: true},
		{label: pair, unit: "writes/s", ours: ours["writes"], peer: "redis-benchmark -t set -c 50 -P 16", theirs: peer["rb50p16"], higherBetter: true,
			goal: ">= 1/3 of -P 16", met: func(o, p float64) bool { return 3*o >= p }},
		{label: "Redis's time per write (command stats)", unit: "us", ours: ours["usec"], peer: "redis-benchmark's SET", theirs: peer["usec"]},
		{label: "writes per script call (the primaries' batches)", unit: "writes", ours: ours["batch"]},
	})
	printVs(fmt.Sprintf("c. a worker's Get at %d keys (random existing keys, best of 3 loops of 200k)", k.keys), []vsRow{
		{label: "Get, Redis backend", unit: "ns", ours: ours["get"], peer: "embedded store", theirs: peer["get"],
			goal: "<= 50 ns", met: func(o, _ float64) bool { return o <= 50 }},
	})
	printVs(fmt.Sprintf("d. cold start of seed 001: %d machines x %d workers start at once, each worker loads one key (origin: %v)",
		redisColdMachines, redisColdWorkers, redisOriginDelay), []vsRow{
		{label: "origin loads", unit: "calls", ours: ours["coldloads"], peer: "seed 001, one load per process", theirs: []float64{seed},
			goal: "1", met: func(o, _ float64) bool { return o == 1 }},
		{label: "Redis commands, start to every worker ready (a script's own included)", unit: "commands", ours: ours["coldcmds"]},
		{label: "start to every worker ready", unit: "ms", ours: ours["coldms"]},
	})
	for i, c := range commands {
		fmt.Printf("run %d, commands: %s\n", i+1, c)
	}
	fmt.Println(strings.TrimSpace(`
Goals: a. p50 within 3x of a plain SET + GET; b. >= 100k writes/s and >= 1/3 of redis-benchmark -P 16;
c. Get <= 50 ns at 100k keys; d. one origin load for the whole cluster.`))
}
