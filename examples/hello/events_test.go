//go:build linux

package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEveryEventIsPrinted runs the example with two workers until both are
// ready, stops it with SIGINT as Ctrl-C would, and checks that it printed
// every event from setup to the last worker's exit.
func TestEveryEventIsPrinted(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-n", "2", "-addr", freeAddr(t))
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var printed []string
	count := func(event string) int {
		n := 0
		for _, l := range printed {
			if strings.Contains(l, "primary: "+event+" ") || strings.HasSuffix(l, "primary: "+event) {
				n++
			}
		}
		return n
	}
	timeout := time.After(30 * time.Second)
	for count("ready") < 2 {
		select {
		case l := <-lines:
			printed = append(printed, l)
		case <-timeout:
			t.Fatalf("two workers not ready in 30 s; printed:\n%s", strings.Join(printed, "\n"))
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for l := range lines { // until the program closes its stderr
		printed = append(printed, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGINT: %v; printed:\n%s", err, strings.Join(printed, "\n"))
	}
	want := map[string]int{"setup": 1, "fork": 2, "online": 2, "listening": 2, "ready": 2, "disconnect": 2, "exit": 2}
	for event, n := range want {
		if got := count(event); got != n {
			t.Errorf("%d %q lines, want %d", got, event, n)
		}
	}
	if t.Failed() {
		t.Logf("printed:\n%s", strings.Join(printed, "\n"))
	}
}
