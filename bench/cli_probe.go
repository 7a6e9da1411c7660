package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// alive says why waiting on s since t0 should stop, if it should.
func (s *cliServer) alive(ctx context.Context, t0 time.Time) error {
	return stopReason(ctx, t0, s.exited, s.log, "the manager", "")
}

// probe is s for the wait and kill loops: its workers are the Node
// programs of its tree, and every probe batch is paced (back to back, the
// batches and the survivor answering them take the 2 cores from the
// starting Node program: Node's start is CPU-bound, about 60 ms of CPU
// here).
func (s *cliServer) probe() probeTarget {
	return probeTarget{workers: s.workers, alive: s.alive, marker: nodeMarker, paced: true}
}

// cliKills kills a Node worker of s with SIGKILL recoveryKills times (the
// one not replaced last time, so the two alternate: 5 kills per worker
// slot, within gocluster's default restart budget of 5 a minute) and adds
// the milliseconds until the replacement Node process existed ("spawn")
// and until it served ("served") to out.
func cliKills(ctx context.Context, s *cliServer, addr string, out samples) error {
	// >= 2 s apart: pm2's min_uptime is 1 s
	spawn, served, err := killRun(ctx, s.probe(), addr, 2*time.Second)
	for i := range spawn {
		out.add("spawn", spawn[i])
		out.add("served", served[i])
	}
	return err
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
	run, err := startReloadWrk(wctx, wrkBin, script, addr)
	if err != nil {
		return nil, err
	}
	t0 := run.t0
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
		case werr = <-run.done:
			waiting = false
		}
	}
	notes = <-reloadsDone
	if werr != nil {
		return notes, fmt.Errorf("wrk: %v:\n%s%s", werr, run.stdout.String(), run.stderr.String())
	}
	w, err := run.report()
	if err != nil {
		return notes, err
	}
	if err := sleepCtx(ctx, time.Second); err != nil {
		return notes, err
	}
	for _, w := range s.workers() {
		pids[w] = true
	}
	w.add(out, len(s.workers()), len(pids))
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
			if pid, _ := replyPid(addr, nodeMarker); pid == p.pid {
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
