package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/cluster"
)

const (
	ipcSeconds    = 3
	ipcPings      = 10000
	ipcLargeIters = 30
)

var ipcRows = []row{
	{"p2w one-way ~100 B", "p2w", "msg/s", true, ">= 10x"},
	{"ping-pong RTT p50", "rtt_p50", "us", false, ">= 1x"},
	{"ping-pong RTT p99", "rtt_p99", "us", false, ">= 1x"},
	{"1 MiB round trip p50", "large_rtt_p50", "ms", false, ">= 10x"},
	{"1 MiB round trip p99", "large_rtt_p99", "ms", false, ""},
}

func benchIPC(runs int) error {
	for _, n := range []int{1, 2} {
		ours, node := samples{}, samples{}
		for r := 0; r < runs; r++ {
			fmt.Fprintf(os.Stderr, "ipc: %d worker(s), run %d/%d\n", n, r+1, runs)
			if err := goIPC(n, ours); err != nil {
				return fmt.Errorf("gocluster: %w", err)
			}
			if err := nodePeer("ipc.js", node, "--workers", strconv.Itoa(n), "--seconds", strconv.Itoa(ipcSeconds),
				"--pings", strconv.Itoa(ipcPings), "--large-iters", strconv.Itoa(ipcLargeIters)); err != nil {
				return fmt.Errorf("node: %w", err)
			}
		}
		printComparison(fmt.Sprintf("IPC, %d worker(s): gocluster vs Node %s cluster (JSON)", n, nodeVersion()),
			runs, ours, node, "node", ipcRows)
	}
	fmt.Println("\ngocluster sends the ~100-byte message bytes and a 1 MiB []byte; Node sends the same message as an object (JSON on its wire) and a 1 MiB object of ~17k keys.")
	return nil
}

// goIPC runs one round of the IPC figures on a fresh cluster of n workers.
func goIPC(n int, s samples) error {
	p, ctx, stop, err := runCluster(cluster.Config{Workers: n})
	if err != nil {
		return err
	}
	defer stop()
	ws := p.Workers()

	// p2w: every worker fed by its own goroutine for ipcSeconds; the figure is
	// all messages over the time until every worker confirmed the last one.
	counts := make([]int, len(ws))
	t0 := time.Now()
	errs := parallel(ws, func(i int, w *cluster.Worker) error {
		buf := make([]byte, 0, 128)
		for j := 0; ; j++ {
			if j&1023 == 0 && time.Since(t0) > ipcSeconds*time.Second {
				break
			}
			buf = smallMessage(buf[:0], j)
			if err := w.Send(buf); err != nil {
				return err
			}
		}
		rep, err := w.Request(ctx, []byte("end"))
		if err != nil {
			return err
		}
		counts[i], err = strconv.Atoi(string(rep))
		return err
	})
	if errs != nil {
		return errs
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	s.add("p2w", float64(total)/time.Since(t0).Seconds())

	small := smallMessage(nil, 123)
	lat, err := roundTrips(ctx, ws, small, 1000, ipcPings)
	if err != nil {
		return err
	}
	s.add("rtt_p50", pct(lat, 50)/1e3)
	s.add("rtt_p99", pct(lat, 99)/1e3)

	large := bytes.Repeat([]byte("x"), 1<<20)
	lat, err = roundTrips(ctx, ws, large, 3, ipcLargeIters)
	if err != nil {
		return err
	}
	s.add("large_rtt_p50", pct(lat, 50)/1e6)
	s.add("large_rtt_p99", pct(lat, 99)/1e6)
	return nil
}

// smallMessage appends the ~100-byte message the Node peer sends, as JSON text.
func smallMessage(b []byte, i int) []byte {
	b = append(b, `{"cmd":"val:edit","key":"k`...)
	b = strconv.AppendInt(b, int64(i%1000), 10)
	b = append(b, `","value":"`...)
	b = append(b, strings.Repeat("v", 60)...)
	return append(b, `"}`...)
}

// roundTrips runs warm+iters requests of msg on every worker at once and
// returns all latencies after the warm-up, in nanoseconds.
func roundTrips(ctx context.Context, ws []*cluster.Worker, msg []byte, warm, iters int) ([]float64, error) {
	lats := make([][]float64, len(ws))
	err := parallel(ws, func(i int, w *cluster.Worker) error {
		for j := 0; j < warm+iters; j++ {
			t := time.Now()
			rep, err := w.Request(ctx, msg)
			if err != nil {
				return err
			}
			if len(rep) != len(msg) {
				return fmt.Errorf("echo of %d bytes came back with %d", len(msg), len(rep))
			}
			if j >= warm {
				lats[i] = append(lats[i], float64(time.Since(t)))
			}
		}
		return nil
	})
	return slices.Concat(lats...), err
}

func parallel(ws []*cluster.Worker, f func(int, *cluster.Worker) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ws))
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i, w)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := slices.Clone(v)
	slices.Sort(c)
	return c[min(len(c)-1, int(p/100*float64(len(c))))]
}

// nodePeer runs a Node peer script from bench/node and adds the JSON lines
// it prints ({"metric","value","unit"}) to s.
func nodePeer(script string, s samples, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin(), append([]string{filepath.Join(benchDir(), "node", script)}, args...)...)
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var l struct {
			Metric string
			Value  float64
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Metric != "" {
			s.add(l.Metric, l.Value)
		}
	}
	return cmd.Wait()
}

func nodeBin() string {
	if n := os.Getenv("NODE"); n != "" {
		return n
	}
	if p, err := exec.LookPath("node"); err == nil {
		return p
	}
	return "/usr/bin/node"
}

func nodeVersion() string {
	out, err := exec.Command(nodeBin(), "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

// benchDir is the bench directory of the source tree.
func benchDir() string {
	if _, err := os.Stat("bench/node"); err == nil {
		return "bench"
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}
