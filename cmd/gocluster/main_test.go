//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster/control"
)

// envAsCLI makes the test binary act as gocluster (the launchers it starts
// are the test binary too).
const envAsCLI = "GOCLUSTER_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(envAsCLI) == "1" {
		os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// noRaceExitSleep spares each process of the race-built test binary the
// race detector's second of sleep at exit.
const noRaceExitSleep = "GORACE=atexit_sleep_ms=0"

// gocluster runs the command to its end and returns its output and exit code.
func gocluster(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return goclusterIn(t, "", args...)
}

// goclusterIn is gocluster run from the working directory wd.
func goclusterIn(t *testing.T, wd string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), envAsCLI+"=1", noRaceExitSleep)
	cmd.Dir = wd
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code == -1 {
		t.Fatalf("gocluster %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// running is a gocluster run started by a test.
type running struct {
	t      *testing.T
	cmd    *exec.Cmd
	socket string
	addr   string // the first address it listens on

	mu    sync.Mutex
	lines []string // its stderr so far
	more  chan struct{}
	done  chan struct{}
}

var listeningRE = regexp.MustCompile(`^gocluster: listening on (\S+)`)

// startRun starts gocluster run with args (after --socket and --log-dir)
// and waits until every worker is ready.
func startRun(t *testing.T, env []string, args ...string) *running {
	t.Helper()
	return startRunIn(t, "", env, args...)
}

// startRunIn is startRun from the working directory wd ("" for the test's).
func startRunIn(t *testing.T, wd string, env []string, args ...string) *running {
	t.Helper()
	dir := t.TempDir()
	socket := filepath.Join(dir, "ctl.sock")
	all := append([]string{"run", "--socket", socket, "--log-dir", filepath.Join(dir, "logs")}, args...)
	cmd := exec.Command(os.Args[0], all...)
	cmd.Env = append(append(os.Environ(), envAsCLI+"=1", noRaceExitSleep), env...)
	cmd.Dir = wd
	return startCmd(t, cmd, socket)
}

// startCmd starts cmd, a gocluster run whose control socket is socket, and
// waits until every worker is ready.
func startCmd(t *testing.T, cmd *exec.Cmd, socket string) *running {
	t.Helper()
	r := &running{t: t, cmd: cmd, socket: socket, more: make(chan struct{}, 1), done: make(chan struct{})}
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			r.mu.Unlock()
			select {
			case r.more <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(r.stop)
	r.waitLine("ready: ", 30*time.Second)
	if m := r.findLine(listeningRE); m != nil {
		r.addr = m[1]
	}
	return r
}

// stop ends the cluster by its pid: SIGTERM, then SIGKILL.
func (r *running) stop() {
	if r.cmd.ProcessState != nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd.Wait()
	if r.t.Failed() {
		r.t.Logf("gocluster run said:\n%s", strings.Join(r.output(), "\n"))
	}
}

func (r *running) output() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func (r *running) findLine(re *regexp.Regexp) []string {
	for _, l := range r.output() {
		if m := re.FindStringSubmatch(l); m != nil {
			return m
		}
	}
	return nil
}

// waitLine waits until a line of its stderr contains s.
func (r *running) waitLine(s string, limit time.Duration) string {
	r.t.Helper()
	return r.waitLines(s, 1, limit)[0]
}

// waitLines waits until n lines of its stderr contain s.
func (r *running) waitLines(s string, n int, limit time.Duration) []string {
	r.t.Helper()
	deadline := time.After(limit)
	for {
		var found []string
		for _, l := range r.output() {
			if strings.Contains(l, s) {
				found = append(found, l)
			}
		}
		if len(found) >= n {
			return found
		}
		select {
		case <-r.more:
		case <-r.done:
			r.t.Fatalf("gocluster run ended before %q:\n%s", s, strings.Join(r.output(), "\n"))
		case <-deadline:
			r.t.Fatalf("no %q from gocluster run within %v:\n%s", s, limit, strings.Join(r.output(), "\n"))
		}
	}
}

// ctl runs a control command against this cluster; it must succeed.
func (r *running) ctl(args ...string) string {
	r.t.Helper()
	out, errOut, code := gocluster(r.t, append([]string{args[0], "--socket", r.socket}, args[1:]...)...)
	if code != 0 {
		r.t.Fatalf("gocluster %v: exit %d: %s", args, code, errOut)
	}
	return out
}

// status is gocluster status --json, parsed.
func (r *running) status() control.Status {
	r.t.Helper()
	var st control.Status
	if err := json.Unmarshal([]byte(r.ctl("status", "--json")), &st); err != nil {
		r.t.Fatalf("status --json: %v", err)
	}
	return st
}

// get makes one request on a new connection and returns the body.
func get(addr string) (string, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), err
}

var workerRE = regexp.MustCompile(`worker (\d+) pid (\d+)`)

// answerers makes up to n requests until every one of want workers has
// answered; it returns the pid of each worker id that answered.
func answerers(t *testing.T, addr string, want, n int) map[string]string {
	t.Helper()
	seen := map[string]string{}
	for i := 0; i < n && len(seen) < want; i++ {
		body, err := get(addr)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		m := workerRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("answer %q names no worker", body)
		}
		seen[m[1]] = m[2]
	}
	return seen
}

func itoa(n int) string { return strconv.Itoa(n) }
