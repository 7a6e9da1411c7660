package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Section "cli": the gocluster command against pm2, both running
// cmd/gocluster/testdata/hello.js with 2 Node workers: requests per second
// under wrk (section http's settings), failed requests over 3 reloads under
// wrk -c16 (section reload's), and kill -9 of a Node worker until its
// replacement exists and serves (section recovery's method).
const (
	cliBasePort    = 18440
	cliFloorStarts = 10 // starts of hello.js alone per run
)

// Anchors of shared/anchors/peers/RESULTS.md (pm2 7.0.4, a hello app with
// no SIGINT handler, default pm2 settings).
const cliAnchors = "pm2 failed 65 requests over 3 reloads, served after kill -9 p50 361 ms"

// cliRow is one figure of the table: a median over runs, or a percentile
// over all kills (pct > 0).
type cliRow struct {
	label, metric string
	pct           float64
	higherBetter  bool
	goal          func(ours, ratio float64) string // ratio > 1: gocluster better
}

var cliRows = []cliRow{
	{"req/s, wrk " + wrkArgs, "rps", 0, true, goalAtLeast(1)},
	{"  latency p50 [us]", "p50", 0, false, nil},
	{"  latency p99 [us]", "p99", 0, false, nil},
	{"  wrk errors", "http_errors", 0, false, nil},
	{"  busiest worker's share of the 64 connections [%]", "conn_share", 0, false, nil},
	{"  manager CPU [s/s] (not the Node workers)", "cpu_manager", 0, false, nil},
	{"  Node workers CPU [s/s]", "cpu_workers", 0, true, nil},
	{"reload: failed requests over 3 reloads, wrk " + reloadWrkArgs, "failed", 0, false, goalZero},
	{"  connect errors", "connect", 0, false, nil},
	{"  read errors", "read", 0, false, nil},
	{"  write errors", "write", 0, false, nil},
	{"  timeouts (reply after > 2 s)", "timeout", 0, false, nil},
	{"  non-2xx replies", "status", 0, false, nil},
	{"  requests", "requests", 0, true, nil},
	{"  max latency [ms]", "max_ms", 0, false, nil},
	{"  reload command [s], each", "reload_s", 0, false, nil},
	{"  Node workers after", "workers", 0, true, nil},
	{"  Node workers seen (2 + 2 per reload)", "pids", 0, true, nil},
	{"kill -9: replacement Node process exists p50 [ms]", "spawn", 50, false, nil},
	{"  p95 [ms]", "spawn", 95, false, nil},
	{"kill -9: replacement served a request p50 [ms]", "served", 50, false, goalAtLeast(5)},
	{"  p95 [ms]", "served", 95, false, goalAtLeast(5)},
}

// benchCLI is section "cli": gocluster run and pm2, alternating which goes
// first, each started afresh for each run, measured in the order req/s,
// reloads, kills, and stopped.
func benchCLI(runs int) error {
	if runtime.GOOS != "linux" {
		return errors.New("needs Linux (/proc)")
	}
	wrkBin, err := exec.LookPath("wrk")
	if err != nil {
		return fmt.Errorf("needs wrk (apt-get install -y wrk)")
	}
	pm2, err := filepath.Abs(filepath.Join(benchDir(), "pm2", "node_modules", ".bin", "pm2"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(pm2); err != nil {
		return fmt.Errorf("needs pm2: make bench-deps (cd bench/pm2 && npm ci): %w", err)
	}
	ctx, dir, script, end, err := startReloadSection("cli")
	if err != nil {
		return err
	}
	defer end()
	bin, err := goBuild(ctx, dir, "./cmd/gocluster")
	if err != nil {
		return err
	}
	managers := []cliManager{goclusterManager(bin), pm2Manager(pm2)}
	results := make([]samples, len(managers))
	notes := make([][]string, len(managers))
	var floor []float64
	for r := 0; r < runs; r++ {
		f, err := cliNodeFloor(ctx, dir, fmt.Sprintf("127.0.0.1:%d", cliBasePort+len(managers)))
		if err != nil {
			return err
		}
		floor = append(floor, f...)
		for j := range managers {
			i := (j + r) % len(managers) // run 1: gocluster first, run 2: pm2 first, ...
			m := managers[i]
			fmt.Fprintf(os.Stderr, "cli: %s, run %d/%d\n", m.name, r+1, runs)
			if results[i] == nil {
				results[i] = samples{}
			}
			sub := filepath.Join(dir, fmt.Sprintf("%d-%d", r+1, i))
			if err := os.Mkdir(sub, 0o755); err != nil {
				return err
			}
			n, err := cliRun(ctx, m, sub, fmt.Sprintf("127.0.0.1:%d", cliBasePort+i), wrkBin, script, results[i])
			for _, s := range n {
				notes[i] = append(notes[i], fmt.Sprintf("run %d: %s", r+1, s))
			}
			if err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
	}
	printCLI(runs, managers, results, notes, floor, pm2Version(pm2, dir))
	return nil
}

// cliRun starts m on addr, measures it and stops it (also on error).
func cliRun(ctx context.Context, m cliManager, dir, addr, wrkBin, script string, out samples) ([]string, error) {
	s, err := m.start(ctx, dir, addr)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	if err := waitServing(ctx, s.probe(), addr, recoveryWorkers); err != nil {
		return nil, err
	}
	split, err := cliThroughput(s, addr, out)
	if err != nil {
		return nil, err
	}
	notes, err := cliReloadRun(ctx, s, addr, wrkBin, script, out)
	notes = append([]string{"wrk " + wrkArgs + ", connections per worker halfway: " + split}, notes...)
	if err != nil {
		return notes, err
	}
	return notes, cliKills(ctx, s, addr, out)
}

// pm2Version asks pm2 for its version with a PM2_HOME of its own (the
// call starts a daemon, killed at once).
func pm2Version(pm2, dir string) string {
	home := filepath.Join(dir, "pm2version")
	env := []string{"PM2_HOME=" + home}
	log := filepath.Join(dir, "pm2version.log")
	defer func() {
		runBounded(context.Background(), 30*time.Second, log, env, pm2, "kill")
		if b, err := os.ReadFile(filepath.Join(home, "pm2.pid")); err == nil {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if _, start := procStat(pid); pid > 0 && start != "" {
				killSeen(map[int]string{pid: start})
			}
		}
	}()
	if runBounded(context.Background(), 30*time.Second, log, env, pm2, "--version") != nil {
		return "?"
	}
	b, _ := os.ReadFile(log)
	lines := strings.Fields(string(b))
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Count(lines[i], ".") == 2 && lines[i][0] >= '0' && lines[i][0] <= '9' {
			return lines[i]
		}
	}
	return "?"
}

// printCLI prints the table with the ratio and the goals, then the notes.
func printCLI(runs int, ms []cliManager, rs []samples, notes [][]string, floor []float64, pm2v string) {
	fmt.Printf("\nThe gocluster command vs pm2 %s (cluster mode, %s), cmd/gocluster/testdata/hello.js on Node %s, %d workers each\n",
		pm2v, strings.Join(pm2Flags[2:], " "), nodeVersion(), recoveryWorkers)
	fmt.Printf("(%d run(s), each server started afresh per run; median (min - max) over runs; kill figures over all %d kills per server)\n\n",
		runs, runs*recoveryKills)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\t%s\t%s\tratio (>1: gocluster better)\tgoal\n", ms[0].name, ms[1].name)
	for _, r := range cliRows {
		var o, p float64
		var ot, pt string
		if r.pct > 0 {
			o, p = percentile(rs[0][r.metric], r.pct), percentile(rs[1][r.metric], r.pct)
			ot, pt = num(o), num(p)
		} else {
			o, p = median(rs[0][r.metric]), median(rs[1][r.metric])
			ot, pt = countSpread(rs[0][r.metric]), countSpread(rs[1][r.metric])
		}
		ratio := ""
		if r.metric != "workers" && r.metric != "pids" {
			ratio = countRatio(o, p, r.higherBetter)
		}
		goal := ""
		if r.goal != nil {
			x := 0.0
			switch {
			case r.higherBetter && p > 0:
				x = o / p
			case !r.higherBetter && o > 0:
				x = p / o
			}
			goal = r.goal(o, x)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.label, ot, pt, ratio, goal)
	}
	tw.Flush()
	fmt.Println()
	for i, m := range ms {
		fmt.Printf("%s, served a request after kill -9, kill by kill: %s ms\n", m.name, joinNums(rs[i]["served"]))
		for _, n := range notes[i] {
			fmt.Printf("  %s: %s\n", m.name, n)
		}
	}
	fmt.Printf("\nNode's floor: hello.js started alone (no manager) until it served, %d starts: p50 %s ms, p95 %s ms; "+
		"5x pm2's served p50 would be %s ms.\n", len(floor), num(percentile(floor, 50)), num(percentile(floor, 95)),
		num(percentile(rs[1]["served"], 50)/5))
	fmt.Printf("Anchors (RESULTS.md parts 2 and 3): %s.\n", cliAnchors)
	fmt.Println("CPU [s/s]: CPU seconds per second of the measured wrk run (from /proc); wrk shares the same 2 cores.")
}

// goalAtLeast is met when gocluster is at least x times better.
func goalAtLeast(x float64) func(ours, ratio float64) string {
	return func(_, ratio float64) string { return fmt.Sprintf(">= %.0fx pm2: %s", x, met(ratio >= x)) }
}

func goalZero(ours, _ float64) string { return "0 (pm2 anchor 65): " + met(ours == 0) }

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
