package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// Section "sessions": HTTP where every request reads a session. Each
// server (see sessions_servers.go) is started fresh, logged in once, warmed
// up, then wrk sends GET /whoami with the session cookie for
// SESSION_SECONDS (default 10) s. The servers take turns, their order
// reversed every other round, over ROUNDS (default 2) rounds; the table has
// the medians. redis-server's command counts during each measured run give
// the Redis commands per request. Then the MemoryStore check (see
// sessions_memstore.go).
const (
	sessionsWrkConns   = "-t2 -c64"
	sessionsWarmSecs   = 2
	sessionsSecsDef    = 10
	sessionsRoundsDef  = 2
	sessionsUser       = "bench"
	sessionsStartLimit = 2 * time.Minute // start, check and log in, per server and round
)

// sessionsResult gathers one server's rounds.
type sessionsResult struct {
	s        samples
	commands []string // per round: Redis commands per request
	failed   string   // why its later rounds were skipped
}

// benchSessions is section "sessions". It runs the peers even while
// examples/sessions does not build yet, and says so.
func benchSessions(int) error {
	if runtime.GOOS != "linux" {
		return errors.New("needs Linux (/proc)")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("needs wrk (make bench-deps installs it: apt-get install -y wrk)")
	}
	secs := envInt("SESSION_SECONDS", sessionsSecsDef)
	rounds := envInt("ROUNDS", sessionsRoundsDef)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	dir, err := os.MkdirTemp("", "bench-sessions-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var servers []sessionServer
	var skipped []string
	ours, why := oursSessions(ctx, dir)
	if ours != nil {
		servers = append(servers, *ours)
	} else {
		skipped = append(skipped, why)
		fmt.Fprintln(os.Stderr, "sessions: "+why)
	}
	node, why := nodeSessions("redis")
	if node != nil {
		servers = append(servers, *node)
	} else {
		skipped = append(skipped, why)
		fmt.Fprintln(os.Stderr, "sessions: "+why)
	}
	scs, why := scsSessions(ctx, dir)
	if scs != nil {
		servers = append(servers, *scs)
	} else {
		skipped = append(skipped, why)
		fmt.Fprintln(os.Stderr, "sessions: "+why)
	}
	if len(servers) == 0 {
		return errors.New("no server to measure:\n" + strings.Join(skipped, "\n"))
	}

	redis, err := startRedis()
	if err != nil {
		return err
	}
	defer redis.stop()
	redisVersion := redis.version(ctx)
	fmt.Fprintf(os.Stderr, "sessions: redis-server %s on %s\n", redisVersion, redis.addr())

	results := make([]sessionsResult, len(servers))
	for i := range results {
		results[i].s = samples{}
	}
	for round := range rounds {
		order := make([]int, len(servers))
		for i := range order {
			order[i] = i
		}
		if round%2 == 1 { // neither server always runs first or last
			slices.Reverse(order)
		}
		for _, i := range order {
			s := &servers[i]
			if results[i].failed != "" {
				continue
			}
			fmt.Fprintf(os.Stderr, "sessions: round %d/%d, %s\n", round+1, rounds, s.name)
			cmds, err := sessionsRun(ctx, s, dir, redis, secs, results[i].s)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				results[i].failed = fmt.Sprintf("round %d: %v", round+1, err)
				fmt.Fprintf(os.Stderr, "sessions: %s failed, skipped from now on: %v\n", s.name, err)
				continue
			}
			results[i].commands = append(results[i].commands, cmds)
		}
	}
	printSessions(secs, rounds, servers, results, skipped, redisVersion)

	mem, err := memoryStoreCheck(ctx, dir, redis, ours)
	if err != nil {
		return err
	}
	printMemoryStore(mem)
	return nil
}

// sessionsRun measures s once: it starts s, checks the contract, logs in,
// warms up, and runs wrk with the cookie while counting Redis's commands.
// It adds the figures to out and returns the Redis commands per request.
func sessionsRun(ctx context.Context, s *sessionServer, dir string, redis *redisServer, secs int, out samples) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := s.start(dir, addr, redis.url())
	if err != nil {
		return "", err
	}
	defer p.stop()
	sctx, cancel := context.WithTimeout(ctx, sessionsStartLimit)
	defer cancel()
	if err := waitWorkers(sctx, p, addr, s.workers); err != nil {
		return "", err
	}
	if err := checkSessionContract(sctx, addr, s.workers); err != nil {
		return "", err
	}
	cookie, err := sessionLogin(sctx, addr, sessionsUser)
	if err != nil {
		return "", err
	}
	if _, err := sessionsWrk(ctx, addr, cookie, sessionsWarmSecs); err != nil {
		return "", fmt.Errorf("warm-up: %w", err)
	}
	before, err := redis.commandStats(ctx)
	if err != nil {
		return "", fmt.Errorf("redis: %w", err)
	}
	w, err := sessionsWrk(ctx, addr, cookie, secs)
	if err != nil {
		return "", err
	}
	after, err := redis.commandStats(ctx)
	if err != nil {
		return "", fmt.Errorf("redis: %w", err)
	}
	perRequest, byName := commandsPerRequest(before, after, w.Requests)
	if p.exited() {
		return "", fmt.Errorf("the server exited during the run; log ends:\n%s", p.logTail())
	}
	out.add("rps", w.RPS)
	out.add("p50", w.P50)
	out.add("p99", w.P99)
	out.add("errors", float64(w.Errors))
	if w.Requests > 0 {
		out.add("cmds", perRequest)
	}
	return byName, nil
}

// sessionsWrkOut is what bench/wrk_report.lua prints.
type sessionsWrkOut struct {
	wrkOut
	Requests int
}

// sessionsWrk runs wrk for secs seconds against GET /whoami on addr with
// the cookie (bench/wrk_report.lua prints the figures).
func sessionsWrk(ctx context.Context, addr, cookie string, secs int) (sessionsWrkOut, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
	defer cancel()
	args := append(strings.Fields(sessionsWrkConns), "-d"+strconv.Itoa(secs)+"s", "--latency",
		"-H", "Cookie: "+cookie, "-s", filepath.Join(benchDir(), "wrk_report.lua"), "http://"+addr+"/whoami")
	out, err := exec.CommandContext(ctx, "wrk", args...).Output()
	if err != nil {
		return sessionsWrkOut{}, fmt.Errorf("wrk: %w", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		var w sessionsWrkOut
		if strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &w) == nil {
			return w, nil
		}
	}
	return sessionsWrkOut{}, fmt.Errorf("wrk printed no report: %s", out)
}

// printSessions prints the table: one column per server, the medians with
// their spread, then gocluster against each peer.
func printSessions(secs, rounds int, servers []sessionServer, rs []sessionsResult, skipped []string, redisVersion string) {
	fmt.Printf("\nSessions: GET /whoami with a logged-in session cookie, wrk %s -d%ds, sessions in one redis-server (median of %d rounds, min - max)\n\n",
		sessionsWrkConns, secs, rounds)
	oursAt := slices.IndexFunc(servers, func(s sessionServer) bool { return s.short == "gocluster" })
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprint(tw, "figure")
	if oursAt < 0 { // the column compare reads is gocluster's
		fmt.Fprint(tw, "\tgocluster (examples/sessions)")
	}
	for _, s := range servers {
		fmt.Fprintf(tw, "\t%s", s.name)
	}
	for _, s := range servers {
		if s.short != "gocluster" {
			fmt.Fprintf(tw, "\tgocluster vs %s", s.short)
		}
	}
	fmt.Fprintln(tw)
	rows := []struct {
		label, metric string
		higherBetter  bool
	}{
		{"GET /whoami [req/s]", "rps", true},
		{"latency p50 [us]", "p50", false},
		{"latency p99 [us]", "p99", false},
		{"errors (non-2xx or socket)", "errors", false},
		{"Redis commands per request", "cmds", false},
	}
	for _, r := range rows {
		fmt.Fprint(tw, r.label)
		if oursAt < 0 {
			fmt.Fprint(tw, "\t-")
		}
		for _, res := range rs {
			v := res.s[r.metric]
			if len(v) == 0 {
				fmt.Fprint(tw, "\t-")
			} else if r.metric == "errors" {
				fmt.Fprintf(tw, "\t%s", countSpread(v))
			} else {
				fmt.Fprintf(tw, "\t%s%s", num(median(v)), spread(v))
			}
		}
		for i, s := range servers {
			if s.short == "gocluster" {
				continue
			}
			ratio := "-"
			if oursAt >= 0 && len(rs[oursAt].s[r.metric]) > 0 && len(rs[i].s[r.metric]) > 0 && r.metric != "cmds" {
				ratio = countRatio(median(rs[oursAt].s[r.metric]), median(rs[i].s[r.metric]), r.higherBetter)
			}
			fmt.Fprintf(tw, "\t%s", ratio)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Println("\nRatios: >1 means gocluster is better (req/s: gocluster / peer; latencies and errors: peer / gocluster).")
	fmt.Println("Redis commands per request, each round:")
	for i, s := range servers {
		fmt.Printf("  %s: %s\n", s.name, strings.Join(rs[i].commands, "; "))
		if rs[i].failed != "" {
			fmt.Printf("  %s failed, later rounds skipped:\n%s\n", s.name, indent(rs[i].failed))
		}
	}
	for _, s := range skipped {
		fmt.Println(s)
	}
	fmt.Printf("Peers: %s; redis-server %s.\n", sessionsVersions(), redisVersion)
}

// envInt is the positive integer in the environment variable, or def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
