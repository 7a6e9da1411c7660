package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// Section "reload": requests failed while the server does rolling reloads
// under load. wrk runs for 12 s against examples/hello and against
// gunicorn gthread, and the bench sends SIGHUP to the primary (gunicorn's
// master) at t = 3, 6 and 9 s, as in shared/anchors/peers part 2.
const (
	reloadWrkArgs  = "-t1 -c16 -d12s"
	reloadBasePort = 18430
)

// reloadAt are the times, from the start of wrk, of the SIGHUPs.
var reloadAt = []time.Duration{3 * time.Second, 6 * time.Second, 9 * time.Second}

// Anchors measured with the same method (RESULTS.md, part 2), failed
// requests over the 3 reloads (median of 3 runs).
const reloadAnchors = "pm2 65, gunicorn gthread 37, gunicorn sync 0"

// reloadFigure is one row of the reload table.
type reloadFigure struct {
	label, metric string
	higherBetter  bool
	goal          string
}

// reloadRows are the figures of the table, in order.
var reloadRows = []reloadFigure{
	{"requests", "requests", true, ""},
	{"failed requests (sum of the errors below)", "failed", false, "0"},
	{"  connect errors", "connect", false, ""},
	{"  read errors", "read", false, ""},
	{"  write errors", "write", false, ""},
	{"  timeouts (reply after > 2 s)", "timeout", false, ""},
	{"  non-2xx replies", "status", false, ""},
	{"max latency [ms]", "max_ms", false, ""},
	{"workers after", "workers", true, "2"},
	{"worker processes seen (2 + 2 per reload)", "pids", true, "8"},
}

// reloadResult gathers one server's runs.
type reloadResult struct {
	s     samples
	notes []string
}

// benchReload is section "reload": examples/hello and gunicorn gthread,
// alternately, each freshly started for each of runs runs of wrk with
// three SIGHUPs; it prints medians with their spread.
func benchReload(runs int) error {
	if runtime.GOOS != "linux" {
		return errors.New("needs Linux (/proc)")
	}
	wrkBin := "/usr/bin/wrk"
	if _, err := os.Stat(wrkBin); err != nil {
		if wrkBin, err = exec.LookPath("wrk"); err != nil {
			return fmt.Errorf("needs wrk (apt-get install -y wrk)")
		}
	}
	ctx, dir, script, end, err := startReloadSection("reload")
	if err != nil {
		return err
	}
	defer end()
	hello, err := goBuild(ctx, dir, "./examples/hello")
	if err != nil {
		return err
	}
	servers := []peerServer{{"gocluster (examples/hello)", startHello(hello)}}
	gunicorn, skipped := gunicornPeer("gthread", startGunicorn("-k", "gthread", "--threads", "4"))
	if gunicorn != nil {
		servers = append(servers, *gunicorn)
	}
	results := make([]reloadResult, len(servers))
	for r := 0; r < runs; r++ {
		for i, s := range servers {
			fmt.Fprintf(os.Stderr, "reload: %s, run %d/%d\n", s.name, r+1, runs)
			if results[i].s == nil {
				results[i].s = samples{}
			}
			note, err := reloadRun(ctx, s, dir, fmt.Sprintf("127.0.0.1:%d", reloadBasePort+i), wrkBin, script, results[i].s)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			if note != "" {
				results[i].notes = append(results[i].notes, fmt.Sprintf("run %d: %s", r+1, note))
			}
		}
	}
	printReload(runs, servers, results, skipped)
	return nil
}

// reloadRun starts s, runs wrk against it while sending SIGHUP at
// reloadAt, and adds the figures to out. The note says what went wrong
// with the server (say, it exited on SIGHUP); that is a result, not an
// error of the bench.
func reloadRun(ctx context.Context, s peerServer, dir, addr, wrkBin, script string, out samples) (note string, err error) {
	p, err := s.start(dir, addr)
	if err != nil {
		return "", err
	}
	defer p.stop()
	if err := waitServing(ctx, p.probe(), addr, recoveryWorkers); err != nil {
		return "", err
	}
	wctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()
	run, err := startReloadWrk(wctx, wrkBin, script, addr)
	if err != nil {
		return "", err
	}
	t0 := run.t0
	var werr error
	waited := false
	defer func() {
		if !waited { // error path: end wrk (by its pid, through wctx) and wait
			cancel()
			<-run.done
		}
	}()
	// Every 50 ms note the workers (each reload should bring 2 new ones);
	// SIGHUP at each of reloadAt while the server is up.
	var notes []string
	pids := map[int]bool{}
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	sent := 0
	for !waited {
		next := time.Hour
		if sent < len(reloadAt) {
			next = time.Until(t0.Add(reloadAt[sent]))
		}
		select {
		case <-poll.C:
			for _, c := range p.children() {
				pids[c] = true
			}
		case <-time.After(next):
			if p.exited() {
				notes = append(notes, fmt.Sprintf("the server had exited before reload %d", sent+1))
				sent = len(reloadAt)
				break
			}
			if err := signalPid(p.pid, syscall.SIGHUP); err != nil {
				return "", fmt.Errorf("SIGHUP %d: %w", sent+1, err)
			}
			sent++
		case werr = <-run.done:
			waited = true
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if werr != nil || sent < len(reloadAt) {
		return "", fmt.Errorf("wrk ended (%v) after %d of %d reloads:\n%s%s", werr, sent, len(reloadAt), run.stdout.String(), run.stderr.String())
	}
	w, err := run.report()
	if err != nil {
		return "", err
	}
	if err := sleepCtx(ctx, time.Second); err != nil {
		return "", err
	}
	workers := len(p.children())
	if p.exited() {
		workers = 0
		notes = append(notes, "the server exited during the run; log ends:\n"+indent(p.logTail()))
	}
	w.add(out, workers, len(pids))
	return strings.Join(notes, "; "), nil
}

// printReload prints the medians of each server side by side with the
// ratio, then the per-run details, notes and the goal.
func printReload(runs int, servers []peerServer, rs []reloadResult, skipped string) {
	fmt.Printf("\nRolling reload under load: wrk %s, SIGHUP to the primary (gunicorn: master) at t = 3, 6, 9 s, %d workers (median of %d runs, min - max)\n\n",
		reloadWrkArgs, recoveryWorkers, runs)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprint(tw, "figure")
	for _, s := range servers {
		fmt.Fprintf(tw, "\t%s", s.name)
	}
	if len(servers) > 1 {
		fmt.Fprint(tw, "\tratio (>1: gocluster better)")
	}
	fmt.Fprintln(tw, "\tgoal")
	for _, r := range reloadRows {
		fmt.Fprint(tw, r.label)
		for _, res := range rs {
			fmt.Fprintf(tw, "\t%s", countSpread(res.s[r.metric]))
		}
		if len(rs) > 1 && (r.metric == "workers" || r.metric == "pids") {
			fmt.Fprint(tw, "\t")
		} else if len(rs) > 1 {
			fmt.Fprintf(tw, "\t%s", countRatio(median(rs[0].s[r.metric]), median(rs[1].s[r.metric]), r.higherBetter))
		}
		fmt.Fprintf(tw, "\t%s\n", r.goal)
	}
	tw.Flush()
	fmt.Println()
	for i, s := range servers {
		fmt.Printf("%s per run: max latency %s ms; workers after %s\n", s.name,
			joinNums(rs[i].s["max_ms"]), joinNums(rs[i].s["workers"]))
		for _, n := range rs[i].notes {
			fmt.Printf("  %s: %s\n", s.name, n)
		}
	}
	if skipped != "" {
		fmt.Println("\n" + skipped)
	}
	fmt.Printf("\nGoal: 0 failed requests and 2 workers after every run. Anchors with the same method (RESULTS.md part 2), failed requests: %s.\n",
		reloadAnchors)
	fmt.Println("wrk counts no error for a connection that never gets a reply, and leaves replies after > 2 s (its timeouts) out of the latency.")
}

// countSpread is a median with its spread, whole numbers as such.
func countSpread(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	if len(v) < 2 {
		return count(v[0])
	}
	return fmt.Sprintf("%s (%s - %s)", count(median(v)), count(slices.Min(v)), count(slices.Max(v)))
}

// count prints whole numbers as such.
func count(x float64) string {
	if x == float64(int64(x)) {
		return fmt.Sprintf("%d", int64(x))
	}
	return num(x)
}

// countRatio is the ratio in gocluster's favour; counts may be 0.
func countRatio(ours, peer float64, higherBetter bool) string {
	if higherBetter {
		ours, peer = peer, ours
	}
	switch {
	case ours == peer:
		return "1.00x"
	case ours == 0:
		return "inf"
	}
	return fmt.Sprintf("%.2fx", peer/ours)
}

// joinNums lists v with count.
func joinNums(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, count(x))
	}
	return strings.Join(s, ", ")
}

// indent indents every line of s by four spaces.
func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}

// startHello runs examples/hello with recoveryWorkers workers.
func startHello(bin string) func(dir, addr string) (*proc, error) {
	return func(dir, addr string) (*proc, error) {
		return startProc(filepath.Join(dir, "hello.log"), nil, bin, "-n", strconv.Itoa(recoveryWorkers), "-addr", addr)
	}
}

// startGunicorn runs bench/peers/hello_wsgi.py under gunicorn with
// recoveryWorkers workers and the extra arguments.
func startGunicorn(extra ...string) func(dir, addr string) (*proc, error) {
	return func(dir, addr string) (*proc, error) {
		peers, err := filepath.Abs(filepath.Join(benchDir(), "peers"))
		if err != nil {
			return nil, err
		}
		args := append([]string{"gunicorn", "-w", strconv.Itoa(recoveryWorkers)}, extra...)
		args = append(args, "-b", addr, "--chdir", peers, "hello_wsgi:app")
		return startProc(filepath.Join(dir, "gunicorn.log"), []string{"PYTHONDONTWRITEBYTECODE=1"}, args...)
	}
}

// gunicornPeer names the gunicorn peer with its version and worker class,
// or says why it is skipped.
func gunicornPeer(class string, start func(dir, addr string) (*proc, error)) (*peerServer, string) {
	out, err := exec.Command("gunicorn", "--version").Output()
	if err != nil {
		return nil, "gunicorn peer skipped: gunicorn is not installed (apt-get install -y gunicorn)."
	}
	version := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(string(out)), "gunicorn (version "), ")")
	return &peerServer{fmt.Sprintf("gunicorn %s %s", version, class), start}, ""
}

// sleepCtx sleeps for d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ownGroup asks for a new process group (SysProcAttr.Setpgid exists on
// Unix only; the fields differ by OS, so it is set by name).
func ownGroup() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{}
	if f := reflect.ValueOf(a).Elem().FieldByName("Setpgid"); f.IsValid() && f.Kind() == reflect.Bool {
		f.SetBool(true)
	}
	return a
}

// logTail is the end of p's output.
func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.log)
	return string(b[max(0, len(b)-2000):])
}

// signalPid sends sig to pid.
func signalPid(pid int, sig os.Signal) error {
	pr, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	defer pr.Release()
	return pr.Signal(sig)
}
