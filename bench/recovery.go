package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// Section "recovery": the time from kill -9 of one worker until its
// replacement exists and until it has served a request, for
// examples/hello against gunicorn (sync workers) with the method of
// shared/anchors/peers/restart_bench.py, polled every 1 ms instead
// of 10 ms.
const (
	recoveryKills    = 10               // per run and server
	recoveryWorkers  = 2                // workers of every server
	recoveryBatch    = 3                // concurrent requests per probe batch
	recoveryLimit    = 15 * time.Second // per kill, for each of the two waits
	recoveryBasePort = 18420
)

// Anchors measured with the same method (RESULTS.md, part 3), served p50.
const recoveryAnchors = "gunicorn sync 60 ms, pm2 361 ms, uWSGI 811 ms"

// peerServer is one server under test: start runs it on addr with dir for
// its log and returns the process whose children are the workers.
type peerServer struct {
	name  string
	start func(dir, addr string) (*proc, error)
}

// benchRecovery is section "recovery": examples/hello and gunicorn sync,
// alternately, each freshly started for each of runs runs of
// recoveryKills kills; the percentiles are over all kills.
func benchRecovery(runs int) error {
	if runtime.GOOS != "linux" {
		return errors.New("needs Linux (/proc)")
	}
	ctx, dir, end, err := startSection("recovery")
	if err != nil {
		return err
	}
	defer end()
	hello, err := goBuild(ctx, dir, "./examples/hello")
	if err != nil {
		return err
	}
	servers := []peerServer{{"gocluster (examples/hello)", startHello(hello)}}
	gunicorn, skipped := gunicornPeer("sync", startGunicorn())
	if gunicorn != nil {
		servers = append(servers, *gunicorn)
	}
	spawn := make([][]float64, len(servers))
	served := make([][]float64, len(servers))
	for r := 0; r < runs; r++ {
		for i, s := range servers {
			fmt.Fprintf(os.Stderr, "recovery: %s, run %d/%d\n", s.name, r+1, runs)
			sp, sv, err := recoveryRun(ctx, s, dir, fmt.Sprintf("127.0.0.1:%d", recoveryBasePort+i))
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			spawn[i] = append(spawn[i], sp...)
			served[i] = append(served[i], sv...)
		}
	}
	printRecovery(runs, servers, spawn, served, skipped)
	return nil
}

// recoveryRun starts s, kills one of its workers recoveryKills times (the
// one not replaced last time, so the two alternate) and returns the
// milliseconds from each kill until the replacement process existed and
// until it served a request.
func recoveryRun(ctx context.Context, s peerServer, dir, addr string) (spawn, served []float64, err error) {
	p, err := s.start(dir, addr)
	if err != nil {
		return nil, nil, err
	}
	defer p.stop()
	return killRun(ctx, p.probe(), addr, time.Second) // >= 1 s apart
}

// printRecovery prints the percentiles of each server, the ratio of the
// peer to gocluster, the first run kill by kill and the goal.
func printRecovery(runs int, servers []peerServer, spawn, served [][]float64, skipped string) {
	fmt.Printf("\nRecovery after kill -9 of one worker: %d workers, %d kills per run, %d run(s); ms from the kill, over all kills\n\n",
		recoveryWorkers, recoveryKills, runs)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "server\tkills\tprocess exists p50\tp99\tmin - max\tserved a request p50\tp99\tmin - max")
	for i, s := range servers {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.name, len(served[i]),
			num(percentile(spawn[i], 50)), num(percentile(spawn[i], 99)), minMax(spawn[i]),
			num(percentile(served[i], 50)), num(percentile(served[i], 99)), minMax(served[i]))
	}
	if len(servers) > 1 {
		r := func(v [][]float64, p float64) string { return ratio(percentile(v[1], p), percentile(v[0], p)) }
		fmt.Fprintf(tw, "ratio %s / gocluster (>1: gocluster faster)\t\t%s\t%s\t\t%s\t%s\t\n",
			servers[1].name, r(spawn, 50), r(spawn, 99), r(served, 50), r(served, 99))
	}
	tw.Flush()
	fmt.Println()
	for i, s := range servers {
		fmt.Printf("%s, served a request, kill by kill in run 1: %s ms\n", s.name, joinNums(served[i][:min(len(served[i]), recoveryKills)]))
	}
	if skipped != "" {
		fmt.Println("\n" + skipped)
	}
	verdict := "met"
	if p50 := percentile(served[0], 50); p50 >= 50 || len(served[0]) == 0 {
		verdict = "NOT met"
	}
	fmt.Printf("\nGoal: gocluster served a request p50 < 50 ms: %s. Anchors with the same method (RESULTS.md part 3, 10 ms polling): %s.\n",
		verdict, recoveryAnchors)
	fmt.Printf("Method: the server's children polled every 1 ms until a new pid exists; then batches of %d concurrent fresh-connection requests until a reply names it.\n",
		recoveryBatch)
}

// proc is a server the bench started in its own process group. It keeps
// every worker pid it has seen (with its start time) so that stop can
// also end workers that outlived it.
type proc struct {
	pid  int
	log  string
	done chan struct{} // closed when the process has exited and been waited for
	seen map[int]string
}

// startProc starts argv with env added, stdout and stderr to logPath.
func startProc(logPath string, env []string, argv ...string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = ownGroup()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	p := &proc{pid: cmd.Process.Pid, log: logPath, done: make(chan struct{}), seen: map[int]string{}}
	go func() {
		cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether p has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// alive says why waiting on p since t0 should stop, if it should.
func (p *proc) alive(ctx context.Context, t0 time.Time) error {
	return stopReason(ctx, t0, p.exited, p.logTail, "server", "server ")
}

// children lists p's live (not zombie) child processes. It reads the
// children file of every thread of p: a child belongs to the thread that
// forked it, and a Go primary forks from any of its threads.
func (p *proc) children() []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", p.pid))
	var out []int
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(field)
			if err != nil || slices.Contains(out, pid) {
				continue
			}
			if state, start := procStat(pid); state != "" && state != "Z" {
				p.seen[pid] = start
				out = append(out, pid)
			}
		}
	}
	return out
}

// procStat returns the state and start time of pid, or "" if it is gone.
func procStat(pid int) (state, start string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", ""
	}
	// after "pid (comm)": field 3 is the state, field 22 the start time
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 20 {
		return "", ""
	}
	return f[0], f[19]
}

// stop sends SIGTERM to p, SIGKILL after 10 s, waits for it, then kills
// by pid any worker it left behind (same pid and start time as seen).
func (p *proc) stop() {
	p.children()
	if !p.exited() {
		signalPid(p.pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			signalPid(p.pid, syscall.SIGKILL)
			<-p.done
		}
	}
	for i := 0; i < 100; i++ { // <= 2 s
		left := 0
		for pid, start := range p.seen {
			if state, s := procStat(pid); s == start && state != "Z" {
				signalPid(pid, syscall.SIGKILL)
				left++
			}
		}
		if left == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "bench: workers of pid %d still running after SIGKILL\n", p.pid)
}

// probe is p for the wait and kill loops: its children are the workers.
func (p *proc) probe() probeTarget {
	return probeTarget{workers: p.children, alive: p.alive, marker: helloMarker}
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile is the nearest-rank p-th percentile of v.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := slices.Sorted(slices.Values(v))
	return c[min(len(c)-1, max(0, int(math.Ceil(p/100*float64(len(c))))-1))]
}

// minMax prints the range of v.
func minMax(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	return num(slices.Min(v)) + " - " + num(slices.Max(v))
}

// ratio is peer/ours for figures where lower is better.
func ratio(peer, ours float64) string {
	if ours <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", peer/ours)
}
