package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/rueidis"
)

// redisServer is a redis-server of the bench's own (the Redis and the
// sessions sections start one each): on a free loopback port, in a
// directory of its own, without persistence; stopped by its PID.
type redisServer struct {
	cmd    *exec.Cmd
	dir    string
	port   int
	exited chan struct{}  // closed once the server has exited and been waited for
	client rueidis.Client // the bench's own connection: stats, the plain round trip
}

// startRedis starts a redis-server, its output in its directory's
// redis.log, and waits (at most 10 s) until it answers.
func startRedis() (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found (make bench-deps installs it): %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bench-redis-")
	if err != nil {
		return nil, err
	}
	lf, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &redisServer{dir: dir, port: port, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no")
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = lf, lf
	dieWithBench(s.cmd)
	if err := s.cmd.Start(); err != nil {
		lf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("redis-server: %w", err)
	}
	go func() {
		s.cmd.Wait()
		lf.Close()
		close(s.exited)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// No keep-alive: rueidis would PING an idle connection every
		// second, and those PINGs would count among the commands measured.
		c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{s.addr()}, DisableCache: true,
			ForceSingleClient: true, Dialer: net.Dialer{Timeout: time.Second, KeepAlive: -1}})
		if err == nil {
			s.client = c
			return s, nil
		}
		select {
		case <-s.exited:
			err = fmt.Errorf("redis-server exited; log ends:\n%s", s.logTail())
		default:
			if !time.Now().After(deadline) {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			err = fmt.Errorf("redis-server did not answer on %s within 10 s: %w; log ends:\n%s", s.addr(), err, s.logTail())
		}
		s.stop()
		return nil, err
	}
}

// freePort is a loopback TCP port nothing listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }
func (s *redisServer) url() string  { return "redis://" + s.addr() }

// version is the server's redis_version.
func (s *redisServer) version(ctx context.Context) string {
	info, _ := s.client.Do(ctx, s.client.B().Info().Section("server").Build()).ToString()
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	return "?"
}

// stop closes the bench's connection and stops the server by its PID
// (SIGTERM, then SIGKILL after 5 s).
func (s *redisServer) stop() {
	if s.client != nil {
		s.client.Close()
	}
	if s.cmd.Process.Signal(syscall.SIGTERM) != nil {
		s.cmd.Process.Kill()
	}
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	os.RemoveAll(s.dir)
}

// logTail is the end of the server's output.
func (s *redisServer) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	return string(b[max(0, len(b)-2000):])
}

// flush empties the server between runs.
func (s *redisServer) flush(ctx context.Context) error {
	return s.client.Do(ctx, s.client.B().Flushall().Build()).Error()
}

// cmdStat is one command's line of INFO commandstats: calls, and the
// microseconds Redis spent in them (a script's include the commands it
// calls, which have lines of their own too).
type cmdStat struct{ calls, usec int64 }

// commandStats returns each command's figures so far (INFO
// commandstats), without the bench's own INFO.
func (s *redisServer) commandStats(ctx context.Context) (map[string]cmdStat, error) {
	info, err := s.client.Do(ctx, s.client.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		return nil, err
	}
	stats := make(map[string]cmdStat)
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd || name == "info" {
			continue
		}
		var c cmdStat
		for _, f := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "calls":
				c.calls, _ = strconv.ParseInt(v, 10, 64)
			case "usec":
				c.usec, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		stats[name] = c
	}
	return stats, nil
}

// statsAround runs f between two readings of the command stats.
func (s *redisServer) statsAround(ctx context.Context, f func() error) (before, after map[string]cmdStat, err error) {
	if before, err = s.commandStats(ctx); err != nil {
		return nil, nil, err
	}
	if err = f(); err != nil {
		return nil, nil, err
	}
	after, err = s.commandStats(ctx)
	return before, after, err
}

// callCount is one command's calls between two readings.
type callCount struct {
	name string
	n    int64
}

// callDeltas is after - before: the total calls and each command's, most
// first (equal counts by name).
func callDeltas(before, after map[string]cmdStat) (int64, []callCount) {
	var total int64
	var cs []callCount
	for name, a := range after {
		if d := a.calls - before[name].calls; d > 0 {
			total += d
			cs = append(cs, callCount{name, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].n > cs[j].n || cs[i].n == cs[j].n && cs[i].name < cs[j].name })
	return total, cs
}

// commandDelta is after - before: the total calls and the commands by
// count, most first ("evalsha 12, xread 8, ...").
func commandDelta(before, after map[string]cmdStat) (int64, string) {
	total, cs := callDeltas(before, after)
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s %d", c.name, c.n)
	}
	return total, strings.Join(parts, ", ")
}

// commandsPerRequest is after - before over requests: the calls per
// request, and the commands per request, upper case, most first ("GET 1.00,
// EXPIRE 1.00"; "none" without requests or calls).
func commandsPerRequest(before, after map[string]cmdStat, requests int) (float64, string) {
	total, cs := callDeltas(before, after)
	if requests <= 0 || len(cs) == 0 {
		return 0, "none"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s %.2f", strings.ToUpper(c.name), float64(c.n)/float64(requests))
	}
	return float64(total) / float64(requests), strings.Join(parts, ", ")
}

// usecDelta is the microseconds Redis spent in names between before and
// after.
func usecDelta(before, after map[string]cmdStat, names ...string) int64 {
	var us int64
	for _, n := range names {
		us += after[n].usec - before[n].usec
	}
	return us
}

// setGetRoundTrip times n plain SET then GET pairs on the bench's
// connection, one pair in flight: the p50 and p99 of a pair, in ns.
func (s *redisServer) setGetRoundTrip(ctx context.Context, n int) (p50, p99 float64, err error) {
	d := make([]float64, 0, n)
	set := s.client.B().Set().Key("bench:rtt").Value(string(stateValue)).Build().Pin()
	get := s.client.B().Get().Key("bench:rtt").Build().Pin()
	for range n {
		start := time.Now()
		if err := s.client.Do(ctx, set).Error(); err != nil {
			return 0, 0, err
		}
		if err := s.client.Do(ctx, get).Error(); err != nil {
			return 0, 0, err
		}
		d = append(d, float64(time.Since(start).Nanoseconds()))
	}
	slices.Sort(d)
	return d[len(d)/2], d[len(d)*99/100], nil
}

// redisBenchmark runs redis-benchmark -t set with args (-c, -P) for about
// secs seconds (n scaled from expected, the rate it should reach) and
// returns its requests per second. Its values are 60 bytes over 100k keys,
// as the store's writes, in database 9: the store's database holds only the
// store (a machine's start scans that database).
func (s *redisServer) redisBenchmark(ctx context.Context, secs int, expected int, args ...string) (float64, error) {
	bin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark not found (make bench-deps installs redis-server): %w", err)
	}
	argv := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "-t", "set", "-d", strconv.Itoa(len(stateValue)),
		"-r", "100000", "-n", strconv.Itoa(secs * expected), "--dbnum", "9", "--csv"}, args...)
	out, err := exec.CommandContext(ctx, bin, argv...).Output()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark %s: %w", strings.Join(args, " "), err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark output %q: %w", out, err)
	}
	for _, r := range recs {
		if len(r) >= 2 && r[0] == "SET" {
			return strconv.ParseFloat(r[1], 64)
		}
	}
	return 0, fmt.Errorf("redis-benchmark output without SET: %q", out)
}
