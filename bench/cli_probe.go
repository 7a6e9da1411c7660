package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// nodePid sends GET / on a fresh connection (Connection: close, 1 s
// timeout) and returns the pid named by hello.js's 200 reply
// ("node worker ID pid N").
func nodePid(addr string) (int, error) {
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
	i := bytes.Index(b, []byte(" pid "))
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 200 ")) || i < 0 {
		return 0, fmt.Errorf("unexpected reply %q", b)
	}
	digits := b[i+len(" pid "):]
	n := 0
	for n < len(digits) && digits[n] >= '0' && digits[n] <= '9' {
		n++
	}
	return strconv.Atoi(string(digits[:n]))
}

// nodeBatch sends n concurrent requests, each on a fresh connection, and
// returns the pids named by the replies that arrived.
func nodeBatch(addr string, n int) []int {
	got := make(chan int, n)
	for range n {
		go func() {
			pid, _ := nodePid(addr) // 0 on error
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

// cliAlive says why waiting on s since t0 should stop, if it should.
func cliAlive(ctx context.Context, s *cliServer, t0 time.Time) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case s.exited():
		return fmt.Errorf("the manager exited; log ends:\n%s", s.log())
	case time.Since(t0) > recoveryLimit:
		return fmt.Errorf("gave up after %v; log ends:\n%s", recoveryLimit, s.log())
	}
	return nil
}

// cliWaitServing waits (<= 15 s) until s has n Node workers and each has
// answered a request.
func cliWaitServing(ctx context.Context, s *cliServer, addr string, n int) error {
	t0 := time.Now()
	answered := map[int]bool{}
	for {
		if ws := s.workers(); len(ws) == n {
			for _, pid := range nodeBatch(addr, 2*n) {
				answered[pid] = true
			}
			if !slices.ContainsFunc(ws, func(w int) bool { return !answered[w] }) {
				return nil
			}
		}
		if err := cliAlive(ctx, s, t0); err != nil {
			return fmt.Errorf("waiting for %d serving workers on %s: %w", n, addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cliKills kills a Node worker of s with SIGKILL recoveryKills times (the
// one not replaced last time, so the two alternate: 5 kills per worker
// slot, within gocluster's default restart budget of 5 a minute) and adds
// the milliseconds until the replacement Node process existed ("spawn")
// and until it served ("served") to out.
func cliKills(ctx context.Context, s *cliServer, addr string, out samples) error {
	last := 0
	for k := 0; k < recoveryKills; k++ {
		if err := cliWaitServing(ctx, s, addr, recoveryWorkers); err != nil {
			return err
		}
		// >= 2 s apart (pm2's min_uptime is 1 s), jittered so kills do not
		// lock onto a periodic loop, as in shared/anchors/peers
		if err := sleepCtx(ctx, 2*time.Second+rand.N(time.Second)); err != nil {
			return err
		}
		before := s.workers()
		if len(before) != recoveryWorkers {
			return fmt.Errorf("%d workers before kill %d, want %d", len(before), k+1, recoveryWorkers)
		}
		slices.Sort(before)
		victim := before[0]
		if victim == last {
			victim = before[1]
		}
		spawn, served, fresh, err := cliKillOne(ctx, s, addr, before, victim)
		if err != nil {
			return fmt.Errorf("kill %d: %w", k+1, err)
		}
		out.add("spawn", spawn)
		out.add("served", served)
		last = fresh
	}
	return nil
}

// cliKillOne is killOne of section recovery for a tree of processes: it
// polls every millisecond for a new Node worker, then sends batches of
// fresh-connection requests, one batch a millisecond, until a reply names
// it.
func cliKillOne(ctx context.Context, s *cliServer, addr string, before []int, victim int) (spawn, served float64, fresh int, err error) {
	t0 := time.Now()
	if err := signalPid(victim, syscall.SIGKILL); err != nil {
		return 0, 0, 0, err
	}
	for fresh == 0 {
		for _, w := range s.workers() {
			if !slices.Contains(before, w) {
				fresh = w
			}
		}
		if fresh != 0 {
			break
		}
		if err := cliAlive(ctx, s, t0); err != nil {
			return 0, 0, 0, fmt.Errorf("no replacement process: %w", err)
		}
		time.Sleep(time.Millisecond)
	}
	spawn = ms(time.Since(t0))
	for {
		pids := nodeBatch(addr, recoveryBatch)
		if slices.Contains(pids, fresh) {
			return spawn, ms(time.Since(t0)), fresh, nil
		}
		if err := cliAlive(ctx, s, t0); err != nil {
			return 0, 0, 0, fmt.Errorf("replacement %d never served: %w", fresh, err)
		}
		// paced: back to back, the batches and the survivor answering them
		// take the 2 cores from the starting Node program (Node's start is
		// CPU-bound, about 60 ms of CPU here)
		time.Sleep(time.Millisecond)
	}
}

// cliThroughput warms s up, then runs wrk as section http does and adds
// req/s, latency and errors, the CPU the manager and the workers used per
// second of the run, and the busiest worker's share of wrk's connections
// halfway through, to out. It returns the split of the connections.
func cliThroughput(s *cliServer, addr string, out samples) (string, error) {
	if _, err := wrk(addr, "-t1 -c64 -d"+wrkWarmSecs); err != nil {
		return "", err
	}
	_, portText, _ := strings.Cut(addr, ":")
	port, _ := strconv.Atoi(portText)
	m0, w0 := s.cpu()
	t0 := time.Now()
	type result struct {
		w   wrkOut
		err error
	}
	done := make(chan result, 1)
	go func() {
		w, err := wrk(addr, wrkArgs)
		done <- result{w, err}
	}()
	time.Sleep(wrkDuration(wrkArgs) / 2)
	share, split := busiestShare(connsPerWorker(port, s.workers()))
	res := <-done // wrk is bounded (60 s)
	w, err := res.w, res.err
	if err != nil {
		return "", err
	}
	m1, w1 := s.cpu()
	secs := time.Since(t0).Seconds()
	out.add("rps", w.RPS)
	out.add("p50", w.P50)
	out.add("p99", w.P99)
	out.add("http_errors", float64(w.Errors))
	out.add("cpu_manager", (m1-m0)/secs)
	out.add("cpu_workers", (w1-w0)/secs)
	out.add("conn_share", share)
	return split, nil
}

// cliReloadRun runs wrk (section reload's settings and report) against s
// and reloads s through its command at reloadAt, each reload after the
// previous one returned. It adds the figures to out and returns notes on
// late or failed reloads.
func cliReloadRun(ctx context.Context, s *cliServer, addr, wrkBin, script string, out samples) (notes []string, err error) {
	wctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()
	args := append(strings.Fields(reloadWrkArgs), "-s", script, "http://"+addr+"/")
	cmd := exec.CommandContext(wctx, wrkBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("wrk: %w", err)
	}
	wrkDone := make(chan error, 1)
	go func() { wrkDone <- cmd.Wait() }()
	wrkFor := wrkDuration(reloadWrkArgs)
	reloadsDone := make(chan []string, 1)
	go func() { // joined below: every reload is bounded (30 s) and wctx ends the sleeps
		var notes []string
		for k, at := range reloadAt {
			if sleepCtx(wctx, time.Until(t0.Add(at))) != nil {
				notes = append(notes, fmt.Sprintf("reload %d not sent", k+1))
				continue
			}
			start := time.Now()
			err := s.reload(ctx)
			d := time.Since(start)
			out.add("reload_s", d.Seconds())
			note := fmt.Sprintf("reload %d at %.1f s took %.2f s", k+1, start.Sub(t0).Seconds(), d.Seconds())
			if wrkFor > 0 && start.Sub(t0) >= wrkFor {
				note += " (after wrk ended: not under load)"
			}
			if err != nil {
				note += fmt.Sprintf(" and failed: %v", err)
			}
			notes = append(notes, note)
		}
		reloadsDone <- notes
	}()
	pids := map[int]bool{}
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	var werr error
	for waiting := true; waiting; {
		select {
		case <-poll.C:
			for _, w := range s.workers() {
				pids[w] = true
			}
		case werr = <-wrkDone:
			waiting = false
		}
	}
	notes = <-reloadsDone
	if werr != nil {
		return notes, fmt.Errorf("wrk: %v:\n%s%s", werr, stdout.String(), stderr.String())
	}
	var w reloadOut
	found := false
	for _, l := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &w) == nil {
			found = true
		}
	}
	if !found {
		return notes, fmt.Errorf("wrk printed no report: %s", stdout.String())
	}
	if err := sleepCtx(ctx, time.Second); err != nil {
		return notes, err
	}
	for _, w := range s.workers() {
		pids[w] = true
	}
	for k, v := range map[string]float64{"requests": float64(w.Requests), "connect": float64(w.Connect),
		"read": float64(w.Read), "write": float64(w.Write), "timeout": float64(w.Timeout),
		"status": float64(w.Status), "max_ms": w.MaxMs, "workers": float64(len(s.workers())), "pids": float64(len(pids)),
		"failed": float64(w.Connect + w.Read + w.Write + w.Timeout + w.Status)} {
		out.add(k, v)
	}
	return notes, nil
}

// cliNodeFloor starts hello.js alone (no manager) cliFloorStarts times on
// addr and returns the milliseconds from the start until it served: what
// no replacement of a Node worker can beat.
func cliNodeFloor(ctx context.Context, dir, addr string) ([]float64, error) {
	js, err := helloJS()
	if err != nil {
		return nil, err
	}
	_, port, _ := strings.Cut(addr, ":")
	var out []float64
	for range cliFloorStarts {
		t0 := time.Now()
		p, err := startProc(filepath.Join(dir, "node-floor.log"), []string{"PORT=" + port}, nodeBin(), js)
		if err != nil {
			return nil, err
		}
		for {
			if pid, _ := nodePid(addr); pid == p.pid {
				out = append(out, ms(time.Since(t0)))
				break
			}
			if ctx.Err() != nil || p.exited() || time.Since(t0) > recoveryLimit {
				signalPid(p.pid, syscall.SIGKILL)
				<-p.done
				return nil, fmt.Errorf("node %s alone did not serve on %s: %v; log ends:\n%s", js, addr, ctx.Err(), p.logTail())
			}
			time.Sleep(time.Millisecond)
		}
		signalPid(p.pid, syscall.SIGKILL) // hello.js would drain for a second on SIGTERM
		<-p.done
	}
	return out, nil
}
