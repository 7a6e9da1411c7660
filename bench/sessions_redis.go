package main

// The Redis server of the sessions section: one redis-server of its own on a
// free loopback port, without persistence, shared by the servers under test
// (each keeps its sessions under its own key prefix), and the few commands
// the bench sends it itself (PING, CONFIG RESETSTAT, INFO commandstats).

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sessionsRedis is the running redis-server.
type sessionsRedis struct {
	addr    string
	p       *proc
	version string
}

// url is the address as the servers take it.
func (r *sessionsRedis) url() string { return "redis://" + r.addr }

// startSessionsRedis starts redis-server on a free loopback port, its log in
// dir, and waits (at most 10 s) until it answers PING.
func startSessionsRedis(ctx context.Context, dir string) (*sessionsRedis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("needs redis-server (make bench-deps installs it: apt-get install -y redis-server)")
	}
	version := "?"
	if out, err := exec.CommandContext(ctx, bin, "--version").Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if v, ok := strings.CutPrefix(f, "v="); ok {
				version = v
			}
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p, err := startProc(filepath.Join(dir, "redis.log"), nil, bin, "--port", strconv.Itoa(port),
		"--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err != nil {
		return nil, fmt.Errorf("redis-server: %w", err)
	}
	r := &sessionsRedis{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), p: p, version: version}
	deadline := time.Now().Add(10 * time.Second)
	for {
		reply, err := redisDo(r.addr, "PING")
		if err == nil && reply == "PONG" {
			return r, nil
		}
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case p.exited():
			err = fmt.Errorf("redis-server exited; log ends:\n%s", p.logTail())
		case time.Now().After(deadline):
			err = fmt.Errorf("redis-server on %s does not answer PING after 10 s (%v); log ends:\n%s", r.addr, err, p.logTail())
		default:
			time.Sleep(20 * time.Millisecond)
			continue
		}
		p.stop()
		return nil, err
	}
}

// stop stops redis-server by its pid.
func (r *sessionsRedis) stop() { r.p.stop() }

// resetStats zeroes the command counts.
func (r *sessionsRedis) resetStats() error {
	_, err := redisDo(r.addr, "CONFIG", "RESETSTAT")
	return err
}

// commands are the calls of each command since the last resetStats, without
// the bench's own (CONFIG, INFO), upper case.
func (r *sessionsRedis) commands() (map[string]int, error) {
	info, err := redisDo(r.addr, "INFO", "commandstats")
	if err != nil {
		return nil, err
	}
	calls := map[string]int{}
	for _, l := range strings.Split(info, "\n") {
		// cmdstat_get:calls=12,usec=34,...; subcommands read cmdstat_config|resetstat
		stat, ok := strings.CutPrefix(strings.TrimSpace(l), "cmdstat_")
		name, rest, found := strings.Cut(stat, ":calls=")
		if !ok || !found {
			continue
		}
		n, _ := strconv.Atoi(strings.SplitN(rest, ",", 2)[0])
		name = strings.ToUpper(name)
		if base, _, _ := strings.Cut(name, "|"); base == "CONFIG" || base == "INFO" {
			continue
		}
		calls[name] += n
	}
	return calls, nil
}

// describeCommands lists the commands per request, most called first:
// "GET 1.00, EXPIRE 1.00".
func describeCommands(calls map[string]int, requests int) string {
	if requests <= 0 || len(calls) == 0 {
		return "none"
	}
	names := make([]string, 0, len(calls))
	for n := range calls {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if calls[names[i]] != calls[names[j]] {
			return calls[names[i]] > calls[names[j]]
		}
		return names[i] < names[j]
	})
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f", n, float64(calls[n])/float64(requests)))
	}
	return strings.Join(parts, ", ")
}

// redisDo sends one command on a new connection (2 s limit) and returns a
// simple, integer or bulk reply as a string; an error reply is an error.
func redisDo(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		return "", err
	}
	rd := bufio.NewReader(c)
	line, err := rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply to %s", args[0])
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("%s: %s", args[0], line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("%s: bulk reply %q", args[0], line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("%s: unexpected reply %q", args[0], line)
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
