package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
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
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	dir, err := os.MkdirTemp("", "bench-recovery-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	hello, err := buildHello(ctx, dir)
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
	last := 0
	for k := 0; k < recoveryKills; k++ {
		if err := waitServing(ctx, p, addr, recoveryWorkers); err != nil {
			return nil, nil, err
		}
		// >= 1 s apart, jittered so kills do not lock onto a periodic master loop
		if err := sleepCtx(ctx, time.Second+rand.N(time.Second)); err != nil {
			return nil, nil, err
		}
		before := p.children()
		if len(before) != recoveryWorkers {
			return nil, nil, fmt.Errorf("%d workers before kill %d, want %d", len(before), k+1, recoveryWorkers)
		}
		slices.Sort(before)
		victim := before[0]
		if victim == last {
			victim = before[1]
		}
		sp, sv, fresh, err := killOne(ctx, p, addr, before, victim)
		if err != nil {
			return nil, nil, fmt.Errorf("kill %d: %w", k+1, err)
		}
		spawn, served, last = append(spawn, sp), append(served, sv), fresh
	}
	return spawn, served, nil
}

// killOne sends SIGKILL to victim, polls p's children every millisecond
// until one not in before exists, then sends batches of concurrent
// fresh-connection requests until a reply names it. It returns both times
// in milliseconds from the kill and the new worker's pid.
func killOne(ctx context.Context, p *proc, addr string, before []int, victim int) (spawn, served float64, fresh int, err error) {
	t0 := time.Now()
	if err := signalPid(victim, syscall.SIGKILL); err != nil {
		return 0, 0, 0, err
	}
	for fresh == 0 {
		for _, c := range p.children() {
			if !slices.Contains(before, c) {
				fresh = c
			}
		}
		if fresh != 0 {
			break
		}
		if err := p.alive(ctx, t0); err != nil {
			return 0, 0, 0, fmt.Errorf("no replacement process: %w", err)
		}
		time.Sleep(time.Millisecond)
	}
	spawn = ms(time.Since(t0))
	for {
		pids := batch(addr, recoveryBatch)
		if slices.Contains(pids, fresh) {
			return spawn, ms(time.Since(t0)), fresh, nil
		}
		if err := p.alive(ctx, t0); err != nil {
			return 0, 0, 0, fmt.Errorf("replacement %d never served: %w", fresh, err)
		}
		if len(pids) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
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
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case p.exited():
		return fmt.Errorf("server exited; log ends:\n%s", p.logTail())
	case time.Since(t0) > recoveryLimit:
		return fmt.Errorf("gave up after %v; server log ends:\n%s", recoveryLimit, p.logTail())
	}
	return nil
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

// waitServing waits (<= 15 s) until p has n workers and each has answered
// a request.
func waitServing(ctx context.Context, p *proc, addr string, n int) error {
	t0 := time.Now()
	answered := map[int]bool{}
	for {
		if kids := p.children(); len(kids) == n {
			for _, pid := range batch(addr, 2*n) {
				answered[pid] = true
			}
			if !slices.ContainsFunc(kids, func(k int) bool { return !answered[k] }) {
				return nil
			}
		}
		if err := p.alive(ctx, t0); err != nil {
			return fmt.Errorf("waiting for %d serving workers on %s: %w", n, addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// batch sends n concurrent requests, each on a fresh connection, and
// returns the pids named by the replies that arrived.
func batch(addr string, n int) []int {
	got := make(chan int, n)
	for range n {
		go func() {
			pid, _ := helloPid(addr) // 0 on error
			got <- pid
		}()
	}
	var pids []int
	for range n {
		if pid := <-got; pid != 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// helloPid sends GET / with Connection: close (1 s timeout) and returns
// the pid of "hello from ... (pid N" in a 200 reply.
func helloPid(addr string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"); err != nil {
		return 0, err
	}
	b, _ := io.ReadAll(io.LimitReader(c, 4096))
	i := bytes.Index(b, []byte("(pid "))
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 200 ")) || i < 0 {
		return 0, fmt.Errorf("unexpected reply %q", b)
	}
	digits := b[i+len("(pid "):]
	n := 0
	for n < len(digits) && digits[n] >= '0' && digits[n] <= '9' {
		n++
	}
	return strconv.Atoi(string(digits[:n]))
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
