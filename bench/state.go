package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/gocluster/cluster"
)

const (
	stateVisSamples = 2000 // visibility samples per run
	stateSeconds    = 2    // writes/s: both workers this long
	stateWriters    = 32   // goroutines writing in each worker
	// stateDeepWriters: goroutines writing in each worker for the second
	// writes/s figure, enough that no process waits for another.
	stateDeepWriters = 256
)

var stateSizes = []int{10, 1000, 10000, 100000}

// benchState runs the shared-state figures: gocluster's store, the seed's
// globalVal pattern in Node, and uWSGI's cache, each with 2 workers.
func benchState(runs int) error {
	type peer struct {
		name string
		run  func(ctx context.Context, keys int) (stateFigures, error)
	}
	peers := []peer{{"gocluster", goState}, {"Node globalVal", runNodeState}, {"uWSGI cache2", runUWSGIState}}
	if os.Getenv("STATE_ONLY_OURS") != "" { // while working on our side
		peers = peers[:1]
	}
	sizes := stateSizes
	if v, err := strconv.Atoi(os.Getenv("STATE_KEYS")); err == nil && v > 0 {
		sizes = []int{v}
	}
	for _, keys := range sizes {
		results := make([][]stateFigures, len(peers))
		for r := 0; r < runs; r++ {
			for i, p := range peers {
				fmt.Fprintf(os.Stderr, "state: %d keys, %s, run %d/%d\n", keys, p.name, r+1, runs)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				f, err := p.run(ctx, keys)
				cancel()
				if err != nil {
					if i == 0 {
						return err
					}
					fmt.Fprintf(os.Stderr, "state: %s skipped: %v\n", p.name, err)
					continue
				}
				results[i] = append(results[i], f)
			}
		}
		names := make([]string, len(peers))
		for i, p := range peers {
			names[i] = p.name
		}
		printState(keys, runs, names, results)
	}
	fmt.Println("\nGoals: visibility p50 <= 50 us and p99 <= 200 us at every size; >= 500k writes/s from 2 writers at 10k keys; Get <= 50 ns at 100k keys.")
	fmt.Println("Memory: gocluster and Node, heap each worker holds for the data; uWSGI, the one shared cache segment.")
	return nil
}

// goState measures gocluster's shared state at one size.
func goState(ctx context.Context, keys int) (stateFigures, error) {
	fill := func(p *cluster.Primary) error { // before the workers take their copy
		for i := range keys {
			if _, err := p.Store().Put(ctx, stateKey(i), stateValue); err != nil {
				return err
			}
		}
		return nil
	}
	p, _, stop, err := runClusterWith(cluster.Config{Workers: 2, Settings: cluster.Settings{Env: []string{envBenchMode + "=state"}}}, fill)
	if err != nil {
		return stateFigures{}, err
	}
	defer stop()
	ws := p.Workers()
	ask := func(w *cluster.Worker, req string) (string, error) {
		rep, err := w.Request(ctx, []byte(req))
		return string(rep), err
	}
	f := stateFigures{Keys: keys}
	for _, w := range ws {
		m, err := ask(w, "mem")
		if err != nil {
			return f, err
		}
		n, _ := strconv.ParseInt(m, 10, 64)
		f.MemBytes = append(f.MemBytes, n)
	}
	// Visibility: closed loop first (one write in flight, the next once
	// the other worker acknowledged it: how the peers measure), then writes
	// 0.5-1 ms apart, after which every process has gone idle.
	visibility := func(ack, writer string) (p50, p99 time.Duration, n int, err error) {
		if _, err := ask(ws[1], "watch:"+strconv.Itoa(stateVisSamples)+":"+ack); err != nil {
			return 0, 0, 0, err
		}
		if _, err := ask(ws[0], writer+":"+strconv.Itoa(stateVisSamples)); err != nil {
			return 0, 0, 0, err
		}
		vis, err := ask(ws[1], "visresult")
		if err != nil {
			return 0, 0, 0, err
		}
		var a, b int64
		fmt.Sscanf(vis, "%d %d %d", &a, &b, &n)
		return time.Duration(a), time.Duration(b), n, nil
	}
	if f.VisP50, f.VisP99, f.VisSamples, err = visibility("1", "visloop"); err != nil {
		return f, err
	}
	if f.IdleVisP50, f.IdleVisP99, _, err = visibility("0", "viswrite"); err != nil {
		return f, err
	}
	// Get first, as both peers do (after the visibility loop, before the
	// writes); then again once the writes have churned the heap.
	getNs := func() (float64, error) {
		g, err := ask(ws[0], "get:"+strconv.Itoa(keys))
		v, _ := strconv.ParseFloat(g, 64)
		return v, err
	}
	if f.GetNs, err = getNs(); err != nil {
		return f, err
	}
	writers := stateWriters
	if v, err := strconv.Atoi(os.Getenv("STATE_WRITERS")); err == nil && v > 0 {
		writers = v
	}
	writeSecs := stateSeconds
	if v, err := strconv.Atoi(os.Getenv("STATE_WRITE_SECONDS")); err == nil && v > 0 {
		writeSecs = v // longer, to profile the writes
	}
	if f.WritesPerSec, err = writeRate(ctx, ws, keys, writeSecs, writers); err != nil {
		return f, err
	}
	if f.DeepWritesPerSec, err = writeRate(ctx, ws, keys, stateSeconds, stateDeepWriters); err != nil {
		return f, err
	}
	if f.GetAfterNs, err = getNs(); err != nil {
		return f, err
	}
	return f, nil
}

// writeRate has every worker Put random keys among keys from g goroutines
// for secs seconds, all at once, and returns the sum of their rates. The
// process is profiled meanwhile when BENCH_CPUPROFILE says so.
func writeRate(ctx context.Context, ws []*cluster.Worker, keys, secs, g int) (float64, error) {
	stopProfile := cpuProfile("primary")
	defer stopProfile()
	var wg sync.WaitGroup
	outs := make([]string, len(ws))
	errs := make([]error, len(ws))
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rep []byte
			rep, errs[i] = w.Request(ctx, []byte(fmt.Sprintf("writes:%d:%d:%d", keys, secs, g)))
			outs[i] = string(rep)
		}()
	}
	wg.Wait()
	rate := 0.0
	for i := range ws {
		if errs[i] != nil {
			return 0, errs[i]
		}
		var count, ns int64
		fmt.Sscanf(outs[i], "%d %d", &count, &ns)
		if ns > 0 {
			rate += float64(count) / (float64(ns) / 1e9)
		}
	}
	return rate, nil
}

// printState prints one size's table: medians over the runs of each peer.
func printState(keys, runs int, names []string, results [][]stateFigures) {
	fmt.Printf("\nShared state, %d keys, 2 workers (median of %d runs)\n\n", keys, runs)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\t%s\n", strings.Join(names, "\t"))
	med := func(i int, get func(stateFigures) float64) float64 {
		var v []float64
		for _, f := range results[i] {
			v = append(v, get(f))
		}
		return median(v)
	}
	line := func(label string, get func(stateFigures) float64, unit func(float64) string) {
		cells := []string{label}
		for i := range names {
			if v := med(i, get); len(results[i]) > 0 && v != 0 {
				cells = append(cells, unit(v))
			} else {
				cells = append(cells, "-") // not run, or not measured for this peer
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	us := func(v float64) string { return num(v/1e3) + " us" }
	ns := func(v float64) string { return num(v) + " ns" }
	line("set -> other worker sees, p50 (closed loop)", func(f stateFigures) float64 { return float64(f.VisP50) }, us)
	line("set -> other worker sees, p99 (closed loop)", func(f stateFigures) float64 { return float64(f.VisP99) }, us)
	line("same, writes 0.5-1 ms apart, p50", func(f stateFigures) float64 { return float64(f.IdleVisP50) }, us)
	line("same, writes 0.5-1 ms apart, p99", func(f stateFigures) float64 { return float64(f.IdleVisP99) }, us)
	line(fmt.Sprintf("writes/s, 2 workers at once (gocluster: %d in flight each)", stateWriters), func(f stateFigures) float64 { return f.WritesPerSec }, num)
	line(fmt.Sprintf("same, %d in flight each", stateDeepWriters), func(f stateFigures) float64 { return f.DeepWritesPerSec }, num)
	line("Get (random existing keys)", func(f stateFigures) float64 { return f.GetNs }, ns)
	line("same, after the writes", func(f stateFigures) float64 { return f.GetAfterNs }, ns)
	line("memory per process for the data", func(f stateFigures) float64 {
		if len(f.MemBytes) == 0 {
			return 0
		}
		return float64(f.MemBytes[0])
	}, func(v float64) string { return num(v/1024) + " KiB" })
	tw.Flush()
	fmt.Printf("ratios, gocluster vs %s: ", strings.Join(names[1:], ", "))
	for i := 1; i < len(names); i++ {
		if len(results[i]) == 0 || len(results[0]) == 0 {
			continue
		}
		vis := med(i, func(f stateFigures) float64 { return float64(f.VisP50) }) / med(0, func(f stateFigures) float64 { return float64(f.VisP50) })
		wps := med(0, func(f stateFigures) float64 { return f.WritesPerSec }) / med(i, func(f stateFigures) float64 { return f.WritesPerSec })
		get := med(i, func(f stateFigures) float64 { return f.GetNs }) / med(0, func(f stateFigures) float64 { return f.GetNs })
		fmt.Printf("[%s: visibility p50 %.1fx, writes/s %.2fx, Get %.1fx] ", names[i], vis, wps, get)
	}
	fmt.Println("(>1: gocluster better)")
}
