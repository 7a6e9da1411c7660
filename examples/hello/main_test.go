//go:build linux

package main

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/clustertest"
)

// TestSIGHUPUnderLoad builds the example, runs it with two workers, and
// sends its primary SIGHUP three times while 16 keep-alive clients that
// never retry keep requests going: not one request fails, and after each
// reload has finished every answer comes from the new generation.
func TestSIGHUPUnderLoad(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "-n", "2", "-addr", addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	done := make(chan string, 16) // "reload-done" lines
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "reload-done") {
				done <- sc.Text()
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	waitServing(t, addr)

	var gen, stale atomic.Int64
	gen.Store(1)
	load := clustertest.StartHTTPLoad(t, addr, 16, 60*time.Second, gen.Load, func(want int64, body string) {
		var id, pid, got int64
		if _, err := fmt.Sscanf(body, "hello from worker %d (pid %d, generation %d)", &id, &pid, &got); err != nil || got < want {
			stale.Add(1)
			t.Logf("sent after generation %d was in, answered %q", want, body)
		}
	})
	for g := 2; g <= 4; g++ {
		time.Sleep(500 * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		select {
		case line := <-done:
			if !strings.Contains(line, fmt.Sprintf("generation=%d", g)) || strings.Contains(line, "err=") {
				t.Fatalf("reload %d: %s", g-1, line)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("reload %d did not finish in 30 s", g-1)
		}
		gen.Store(int64(g))
	}
	time.Sleep(300 * time.Millisecond)
	n := load.Finish("during the reloads")
	if stale.Load() != 0 {
		t.Fatalf("%d answers came from an older generation than the reload that had finished", stale.Load())
	}
	t.Logf("%d requests over 3 SIGHUP reloads, none failed", n)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitServing(t *testing.T, addr string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not serving after 30 s", addr)
}
