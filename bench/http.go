package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gocluster/cluster"
)

const (
	httpWorkers  = 2
	wrkArgs      = "-t1 -c64 -d5s"
	wrkWarmSecs  = "2s"
	httpBasePort = 18400
)

// server is one HTTP server under test: started, then asked after each run
// how many connections and requests each of its workers got.
type server struct {
	addr  string
	stats func() ([][2]int, error) // per worker: connections, requests
	stop  func()
}

type httpResult struct {
	rps, p50, p99 []float64
	errors        int
	shares        [][][2]int // per run, per worker
}

func benchHTTP(runs int) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("needs wrk (make bench installs it: apt-get install -y wrk)")
	}
	starts := []struct {
		name  string
		start func(addr string) (*server, error)
	}{
		{"gocluster round-robin (default)", func(a string) (*server, error) { return startCluster(a, cluster.RoundRobin) }},
		{"gocluster shared", func(a string) (*server, error) { return startCluster(a, cluster.Shared) }},
		{"gocluster reuseport", func(a string) (*server, error) { return startCluster(a, cluster.ReusePort) }},
		{"single Go net/http", startSingleGo},
		{"Node cluster rr", startNode},
	}
	results := make([]httpResult, len(starts))
	names := make([]string, len(starts))
	for i, s := range starts {
		names[i] = s.name
		addr := fmt.Sprintf("127.0.0.1:%d", httpBasePort+i)
		fmt.Fprintf(os.Stderr, "http: %s on %s\n", s.name, addr)
		srv, err := s.start(addr)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		err = loadServer(srv, runs, &results[i])
		srv.stop()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	printHTTP(runs, names, results)
	return nil
}

func loadServer(s *server, runs int, r *httpResult) error {
	if err := waitPort(s.addr); err != nil {
		return err
	}
	if _, err := wrk(s.addr, "-t1 -c64 -d"+wrkWarmSecs); err != nil {
		return err
	}
	if _, err := s.stats(); err != nil { // reset after the warm-up
		return err
	}
	for run := 0; run < runs; run++ {
		out, err := wrk(s.addr, wrkArgs)
		if err != nil {
			return err
		}
		r.rps = append(r.rps, out.RPS)
		r.p50 = append(r.p50, out.P50)
		r.p99 = append(r.p99, out.P99)
		r.errors += out.Errors
		share, err := s.stats()
		if err != nil {
			return err
		}
		r.shares = append(r.shares, share)
	}
	return nil
}

type wrkOut struct {
	RPS, P50, P99 float64
	Errors        int
}

func wrk(addr, args string) (wrkOut, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := append(strings.Fields(args), "--latency", "-s", filepath.Join(benchDir(), "wrk_report.lua"), "http://"+addr+"/")
	out, err := exec.CommandContext(ctx, "wrk", a...).Output()
	if err != nil {
		return wrkOut{}, fmt.Errorf("wrk: %w", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		var w wrkOut
		if strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &w) == nil {
			return w, nil
		}
	}
	return wrkOut{}, fmt.Errorf("wrk printed no report: %s", out)
}

// startCluster runs a gocluster primary in this process with httpWorkers
// workers serving addr with the given policy.
func startCluster(addr string, policy cluster.Policy) (*server, error) {
	p, ctx, stop, err := runCluster(cluster.Config{Workers: httpWorkers, Policy: policy,
		Settings: cluster.Settings{Env: []string{envBenchMode + "=http", envBenchAddr + "=" + addr}}})
	if err != nil {
		return nil, err
	}
	stats := func() ([][2]int, error) {
		var out [][2]int
		for _, w := range p.Workers() {
			rep, err := w.Request(ctx, []byte("stats"))
			if err != nil {
				return nil, err
			}
			var c, r int
			fmt.Sscan(string(rep), &c, &r)
			out = append(out, [2]int{c, r})
		}
		return out, nil
	}
	return &server{addr: addr, stats: stats, stop: stop}, nil
}

// startSingleGo runs this binary as one plain net/http process.
func startSingleGo(addr string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envSingle+"=1", envBenchAddr+"="+addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &server{addr: addr, stats: func() ([][2]int, error) { return nil, nil },
		stop: func() { cmd.Process.Kill(); cmd.Wait() }}, nil
}

// startNode runs the Node cluster peer (bench/node/http.js).
func startNode(addr string) (*server, error) {
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(nodeBin(), filepath.Join(benchDir(), "node", "http.js"), "--port", port, "--workers", strconv.Itoa(httpWorkers))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := bufio.NewScanner(stdout)
	stop := func() {
		stdin.Close()
		t := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
		cmd.Wait()
		t.Stop()
	}
	if !lines.Scan() || !strings.Contains(lines.Text(), "ready") {
		stop()
		return nil, fmt.Errorf("node peer did not get ready")
	}
	stats := func() ([][2]int, error) {
		if _, err := io.WriteString(stdin, "stats\n"); err != nil {
			return nil, err
		}
		if !lines.Scan() {
			return nil, fmt.Errorf("node peer: no stats")
		}
		var st struct {
			Workers []struct{ Conns, Reqs int }
		}
		if err := json.Unmarshal(lines.Bytes(), &st); err != nil {
			return nil, err
		}
		var out [][2]int
		for _, w := range st.Workers {
			out = append(out, [2]int{w.Conns, w.Reqs})
		}
		return out, nil
	}
	return &server{addr: addr, stats: stats, stop: stop}, nil
}

func waitPort(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func printHTTP(runs int, names []string, rs []httpResult) {
	fmt.Printf("\nHTTP hello world, wrk %s, %d workers (median of %d runs, min - max)\n\n", wrkArgs, httpWorkers, runs)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "server\treq/s\tvs single Go\tvs Node rr\tp50 [us]\tp99 [us]\terrors\tconnections per worker, each run\tmax busiest/least")
	single, node := median(rs[len(rs)-2].rps), median(rs[len(rs)-1].rps)
	for i, r := range rs {
		shares, worst := describeShares(r.shares)
		fmt.Fprintf(tw, "%s\t%s%s\t%.2fx\t%.2fx\t%s\t%s\t%d\t%s\t%s\n", names[i], num(median(r.rps)), spread(r.rps),
			median(r.rps)/single, median(r.rps)/node, num(median(r.p50)), num(median(r.p99)), r.errors, shares, worst)
	}
	tw.Flush()
	fmt.Println("\nGoal: the default policy >= 1.0x both single Go and Node rr, busiest/least <= 1.20 in every run.")
}

// describeShares lists the connections per worker of each run and the
// worst busiest/least ratio.
func describeShares(runs [][][2]int) (string, string) {
	if len(runs) == 0 || len(runs[0]) == 0 {
		return "-", "-"
	}
	var parts []string
	worst := 1.0
	for _, run := range runs {
		var cs []string
		lo, hi := -1, 0
		for _, w := range run {
			cs = append(cs, strconv.Itoa(w[0]))
			if lo < 0 || w[0] < lo {
				lo = w[0]
			}
			hi = max(hi, w[0])
		}
		parts = append(parts, strings.Join(cs, "/"))
		if lo == 0 {
			worst = 999
		} else {
			worst = max(worst, float64(hi)/float64(lo))
		}
	}
	w := fmt.Sprintf("%.2f", worst)
	if worst == 999 {
		w = "inf (a worker got none)"
	}
	return strings.Join(parts, ", "), w
}
