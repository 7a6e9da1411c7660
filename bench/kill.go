package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// The text before the pid in a 200 reply of the programs under test.
const (
	helloMarker = "(pid " // examples/hello and bench/peers: "hello from ... (pid N"
	nodeMarker  = " pid " // cmd/gocluster/testdata/hello.js: "node worker ID pid N"
)

// probeTarget is what the wait and kill loops of sections recovery and
// cli need of a server under test.
type probeTarget struct {
	workers func() []int                                  // the live worker pids
	alive   func(ctx context.Context, t0 time.Time) error // why waiting since t0 should stop, if it should
	marker  string                                        // what stands before the pid in a reply
	paced   bool                                          // sleep 1 ms after every probe batch, not only after an empty one
}

// stopReason says why waiting on a server since t0 should stop, if it
// should: ctx ended, the server exited ("<who> exited") or recoveryLimit
// passed ("gave up after ...; <logWho>log ends"), the last two with the
// end of its log.
func stopReason(ctx context.Context, t0 time.Time, exited func() bool, log func() string, who, logWho string) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case exited():
		return fmt.Errorf("%s exited; log ends:\n%s", who, log())
	case time.Since(t0) > recoveryLimit:
		return fmt.Errorf("gave up after %v; %slog ends:\n%s", recoveryLimit, logWho, log())
	}
	return nil
}

// waitServing waits (<= 15 s) until t has n workers and each has answered
// a request.
func waitServing(ctx context.Context, t probeTarget, addr string, n int) error {
	t0 := time.Now()
	answered := map[int]bool{}
	for {
		if ws := t.workers(); len(ws) == n {
			for _, pid := range batch(addr, t.marker, 2*n) {
				answered[pid] = true
			}
			if !slices.ContainsFunc(ws, func(w int) bool { return !answered[w] }) {
				return nil
			}
		}
		if err := t.alive(ctx, t0); err != nil {
			return fmt.Errorf("waiting for %d serving workers on %s: %w", n, addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killRun kills a worker of t with SIGKILL recoveryKills times (the one
// not replaced last time, so the two alternate), each kill at least gap
// (plus up to 1 s of jitter) after t served with all its workers, and
// returns the milliseconds from each kill until the replacement process
// existed and until it served a request.
func killRun(ctx context.Context, t probeTarget, addr string, gap time.Duration) (spawn, served []float64, err error) {
	last := 0
	for k := 0; k < recoveryKills; k++ {
		if err := waitServing(ctx, t, addr, recoveryWorkers); err != nil {
			return nil, nil, err
		}
		// jittered so kills do not lock onto a periodic loop of the server
		if err := sleepCtx(ctx, gap+rand.N(time.Second)); err != nil {
			return nil, nil, err
		}
		before := t.workers()
		if len(before) != recoveryWorkers {
			return nil, nil, fmt.Errorf("%d workers before kill %d, want %d", len(before), k+1, recoveryWorkers)
		}
		slices.Sort(before)
		victim := before[0]
		if victim == last {
			victim = before[1]
		}
		sp, sv, fresh, err := killOne(ctx, t, addr, before, victim)
		if err != nil {
			return nil, nil, fmt.Errorf("kill %d: %w", k+1, err)
		}
		spawn, served, last = append(spawn, sp), append(served, sv), fresh
	}
	return spawn, served, nil
}

// killOne sends SIGKILL to victim, polls t's workers every millisecond
// until one not in before exists, then sends batches of concurrent
// fresh-connection requests until a reply names it. It returns both times
// in milliseconds from the kill and the new worker's pid.
func killOne(ctx context.Context, t probeTarget, addr string, before []int, victim int) (spawn, served float64, fresh int, err error) {
	t0 := time.Now()
	if err := signalPid(victim, syscall.SIGKILL); err != nil {
		return 0, 0, 0, err
	}
	for fresh == 0 {
		for _, w := range t.workers() {
			if !slices.Contains(before, w) {
				fresh = w
			}
		}
		if fresh != 0 {
			break
		}
		if err := t.alive(ctx, t0); err != nil {
			return 0, 0, 0, fmt.Errorf("no replacement process: %w", err)
		}
		time.Sleep(time.Millisecond)
	}
	spawn = ms(time.Since(t0))
	for {
		pids := batch(addr, t.marker, recoveryBatch)
		if slices.Contains(pids, fresh) {
			return spawn, ms(time.Since(t0)), fresh, nil
		}
		if err := t.alive(ctx, t0); err != nil {
			return 0, 0, 0, fmt.Errorf("replacement %d never served: %w", fresh, err)
		}
		if t.paced || len(pids) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// batch sends n concurrent requests, each on a fresh connection, and
// returns the pids named by the replies that arrived.
func batch(addr, marker string, n int) []int {
	got := make(chan int, n)
	for range n {
		go func() {
			pid, _ := replyPid(addr, marker) // 0 on error
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

// replyPid sends GET / with Connection: close (1 s timeout) and returns
// the pid after marker in a 200 reply.
func replyPid(addr, marker string) (int, error) {
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
	i := bytes.Index(b, []byte(marker))
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 200 ")) || i < 0 {
		return 0, fmt.Errorf("unexpected reply %q", b)
	}
	digits := b[i+len(marker):]
	n := 0
	for n < len(digits) && digits[n] >= '0' && digits[n] <= '9' {
		n++
	}
	return strconv.Atoi(string(digits[:n]))
}
