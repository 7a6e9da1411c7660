package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cliServer is one process manager running cmd/gocluster/testdata/hello.js
// with cliWorkers workers: the gocluster command or pm2.
type cliServer struct {
	root   int // the manager's pid: its descendants are the Node workers
	node   string
	reload func(ctx context.Context) error
	stop   func()
	log    func() string  // the end of the manager's log, for errors
	seen   map[int]string // every pid of the tree seen -> start time, for stop
	exited func() bool
}

// cliManager starts a cliServer on addr with its files in dir.
type cliManager struct {
	name  string
	start func(ctx context.Context, dir, addr string) (*cliServer, error)
}

// pm2Flags are the pm2 start settings: wait for process.send('ready')
// (like gocluster's --ready notify), 3 s for it, 1.6 s (pm2's default)
// between SIGINT and SIGKILL of an old worker, which hello.js's 1 s drain
// fits in.
var pm2Flags = []string{"-i", strconv.Itoa(recoveryWorkers), "--name", "hello", "--wait-ready", "--listen-timeout", "3000", "--kill-timeout", "1600"}

// helloJS is the Node program both managers run.
func helloJS() (string, error) {
	return filepath.Abs(filepath.Join(benchDir(), "..", "cmd", "gocluster", "testdata", "hello.js"))
}

// goclusterManager runs bin (the gocluster command) with hello.js.
func goclusterManager(bin string) cliManager {
	return cliManager{name: "gocluster run", start: func(ctx context.Context, dir, addr string) (*cliServer, error) {
		js, err := helloJS()
		if err != nil {
			return nil, err
		}
		sock := filepath.Join(dir, "gocluster.sock")
		p, err := startProc(filepath.Join(dir, "gocluster.log"), nil, bin, "run", "-n", strconv.Itoa(recoveryWorkers),
			"-l", addr, "--socket", sock, "--log-dir", filepath.Join(dir, "logs"), "--ready", "notify", "--", nodeBin(), js)
		if err != nil {
			return nil, err
		}
		s := newCLIServer(p.pid)
		s.log, s.exited = p.logTail, p.exited
		s.reload = func(ctx context.Context) error {
			return runBounded(ctx, 30*time.Second, filepath.Join(dir, "reload.log"), nil, bin, "reload", "--socket", sock)
		}
		s.stop = func() {
			s.workers()
			if !p.exited() {
				runBounded(context.Background(), 15*time.Second, filepath.Join(dir, "stop.log"), nil, bin, "stop", "--socket", sock)
				select {
				case <-p.done:
				case <-time.After(15 * time.Second):
				}
			}
			for pid, start := range s.seen {
				p.seen[pid] = start
			}
			p.stop() // SIGTERM, then SIGKILL, if it still runs; then what it left, by pid
		}
		return s, nil
	}}
}

// pm2Manager runs hello.js under the pm2 of bench/pm2 in cluster mode,
// with a PM2_HOME of its own in dir.
func pm2Manager(pm2 string) cliManager {
	return cliManager{name: "pm2", start: func(ctx context.Context, dir, addr string) (*cliServer, error) {
		js, err := helloJS()
		if err != nil {
			return nil, err
		}
		home := filepath.Join(dir, "pm2home")
		_, port, _ := strings.Cut(addr, ":")
		env := []string{"PM2_HOME=" + home, "PORT=" + port}
		logPath := filepath.Join(dir, "pm2.log")
		kill := func() {
			runBounded(context.Background(), 30*time.Second, logPath, env, pm2, "kill")
		}
		err = runBounded(ctx, 60*time.Second, logPath, env, append([]string{pm2, "start", js}, pm2Flags...)...)
		root := 0
		if b, rerr := os.ReadFile(filepath.Join(home, "pm2.pid")); rerr == nil {
			root, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if err != nil || root == 0 {
			kill()
			return nil, fmt.Errorf("pm2 start (daemon pid %d): %v; log ends:\n%s", root, err, tail(logPath))
		}
		s := newCLIServer(root)
		_, godStart := procStat(root)
		s.seen[root] = godStart
		s.log = func() string { return tail(logPath) + tail(filepath.Join(home, "pm2.log")) }
		s.exited = func() bool { state, st := procStat(root); return st != godStart || state == "Z" || state == "" }
		s.reload = func(ctx context.Context) error {
			return runBounded(ctx, 30*time.Second, logPath, env, pm2, "reload", "hello")
		}
		s.stop = func() {
			s.workers()
			kill()
			killSeen(s.seen)
		}
		return s, nil
	}}
}

func newCLIServer(root int) *cliServer {
	node := nodeBin()
	if p, err := filepath.EvalSymlinks(node); err == nil {
		node = p
	}
	return &cliServer{root: root, node: node, seen: map[int]string{}}
}

// tree lists root's live descendants (3 levels: gocluster run's are
// launcher, then program) and notes each in seen.
func (s *cliServer) tree() []int {
	var out []int
	level := []int{s.root}
	for range 3 {
		var next []int
		for _, parent := range level {
			files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", parent))
			for _, f := range files {
				b, _ := os.ReadFile(f)
				for _, field := range strings.Fields(string(b)) {
					pid, err := strconv.Atoi(field)
					if err != nil {
						continue
					}
					if state, start := procStat(pid); state != "" && state != "Z" {
						s.seen[pid] = start
						next = append(next, pid)
					}
				}
			}
		}
		out = append(out, next...)
		level = next
	}
	return out
}

// workers are the Node programs among root's descendants: processes whose
// executable is node (under gocluster run, once the helper has exec'd it).
func (s *cliServer) workers() []int {
	var out []int
	for _, pid := range s.tree() {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == s.node {
			out = append(out, pid)
		}
	}
	return out
}

// cpu returns the CPU seconds used so far by the manager's own processes
// (root and every descendant that is not a Node worker) and by the
// workers; only processes alive at both calls count in a difference.
func (s *cliServer) cpu() (manager, workers float64) {
	nodes := map[int]bool{}
	for _, pid := range s.workers() {
		nodes[pid] = true
	}
	for _, pid := range append([]int{s.root}, s.tree()...) {
		t := cpuTicks(pid)
		if nodes[pid] {
			workers += t
		} else {
			manager += t
		}
	}
	return manager, workers
}

// cpuTicks is utime + stime of pid in seconds (USER_HZ is 100 on Linux).
func cpuTicks(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}

// runBounded runs argv with env added and its output appended to logPath,
// ended (by its pid) after limit.
func runBounded(ctx context.Context, limit time.Duration, logPath string, env []string, argv ...string) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	fmt.Fprintf(lf, "$ %s\n", strings.Join(argv, " "))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lf, lf // files, not pipes: a daemon it forks does not hold Wait up
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", filepath.Base(argv[0]), argv[1], err)
	}
	return nil
}

// killSeen sends SIGKILL to every pid of seen still running with the same
// start time, until none is left (<= 2 s).
func killSeen(seen map[int]string) {
	for range 100 {
		left := 0
		for pid, start := range seen {
			if state, st := procStat(pid); st == start && state != "Z" && state != "" {
				signalPid(pid, syscall.SIGKILL)
				left++
			}
		}
		if left == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "bench cli: processes still running after SIGKILL")
}

// tail is the end of the file at path.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	return string(b[max(0, len(b)-1500):])
}
