//go:build unix

package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/redistest"
)

// TestTwoMachinesOneOriginCall builds the example and runs two copies of
// it, two machines of 2 workers each, against one redis-server: the four
// workers load the cache at once, the origin is called exactly once in
// total, both primaries report it, and every worker of both machines
// serves the value that one call returned.
func TestTwoMachinesOneOriginCall(t *testing.T) {
	srv := redistest.Start(t)
	bin := filepath.Join(t.TempDir(), "warmup")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var machines [2]*machine
	for i := range machines {
		machines[i] = startMachine(t, bin, "-workers", "2", "-delay", "300ms", "-redis", srv.URL(), "-addr", freeAddr(t))
	}
	for i, m := range machines {
		select {
		case line := <-m.lines:
			if line != "origin loads: 1 (workers: 2)" {
				t.Errorf("machine %d printed %q, want \"origin loads: 1 (workers: 2)\"", i+1, line)
			}
		case <-m.exited:
			t.Fatalf("machine %d exited before its workers were ready:\n%s", i+1, m.stderr.String())
		case <-time.After(time.Minute):
			t.Fatalf("machine %d: workers not ready after a minute:\n%s", i+1, m.stderr.String())
		}
	}
	// Every worker serves the one value; a machine's port is served by
	// both its workers in turn, so 4 requests reach each.
	var want string
	for i, m := range machines {
		for range 4 {
			body := get(t, m.addr)
			if want == "" {
				want = body
			}
			if body != want || !strings.HasPrefix(body, "config loaded by worker ") {
				t.Errorf("machine %d served %q, want %q", i+1, body, want)
			}
		}
	}
	calls := 0
	for _, m := range machines {
		m.stop(t)
		calls += strings.Count(m.stderr.String(), "calling the origin")
	}
	if calls != 1 {
		t.Fatalf("the origin was called %d times, want once:\n%s\n%s", calls, machines[0].stderr.String(), machines[1].stderr.String())
	}
}

// machine is one running copy of the example: its primary's stdout lines,
// its stderr (the workers' too) and its address.
type machine struct {
	cmd    *exec.Cmd
	addr   string
	lines  chan string
	stderr *syncBuffer
	exited chan struct{}
}

func startMachine(t *testing.T, bin string, args ...string) *machine {
	m := &machine{addr: args[len(args)-1], lines: make(chan string, 16), stderr: &syncBuffer{}, exited: make(chan struct{})}
	m.cmd = exec.Command(bin, args...)
	m.cmd.Stdout = &lineWriter{lines: m.lines}
	m.cmd.Stderr = m.stderr
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(m.exited)
		m.cmd.Wait() // once every worker has exited too: they hold the output pipes
	}()
	t.Cleanup(func() { m.stop(t) })
	return m
}

// stop stops the machine (SIGTERM: its primary stops its workers) and
// waits until its processes are gone.
func (m *machine) stop(t *testing.T) {
	select {
	case <-m.exited:
		return
	default:
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(20 * time.Second):
		t.Errorf("machine on %s still running 20 s after SIGTERM", m.addr)
		m.cmd.Process.Kill()
		<-m.exited
	}
}

func get(t *testing.T, addr string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lineWriter sends each complete line written to it.
type lineWriter struct {
	buf   []byte
	lines chan<- string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case w.lines <- string(w.buf[:i]):
		default: // nobody reads this many lines: drop
		}
		w.buf = w.buf[i+1:]
	}
}

// syncBuffer is a bytes.Buffer safe for the copying goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
