//go:build unix

package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/systemd"
)

// TestSystemdNotify: under a (test) NOTIFY_SOCKET the primary says READY=1
// once its workers are ready, RELOADING=1 with MONOTONIC_USEC during a
// reload, READY=1 after it, WATCHDOG=1 at half the asked interval and
// STOPPING=1 when it stops; every message comes from the primary's own pid
// (the workers' READY=1 go to their own sockets).
func TestSystemdNotify(t *testing.T) {
	needProgram(t, "python3")
	rcv, err := systemd.ListenNotify(filepath.Join(t.TempDir(), "notify.sock"))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan systemd.Notification, 256)
	go func() {
		defer close(got)
		for {
			n, err := rcv.Read()
			if err != nil {
				return
			}
			got <- n
		}
	}()
	t.Cleanup(func() {
		rcv.Close()
		for range got {
		}
	})
	r := startRun(t, []string{"NOTIFY_SOCKET=" + rcv.Path(), "WATCHDOG_USEC=400000"},
		"-n", "2", "-l", "127.0.0.1:0", "--ready", "notify", "--", "python3", "testdata/hello.py")
	pid := r.cmd.Process.Pid

	next := func(what string, match func(systemd.Notification) bool) systemd.Notification {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case n := <-got:
				if n.PID != pid {
					t.Fatalf("a notification from pid %d, not the primary (%d): %q", n.PID, pid, n.Raw)
				}
				if match(n) {
					return n
				}
			case <-deadline:
				t.Fatalf("no %s notification", what)
			}
		}
	}
	// READY=1 once both are ready; the programs' STATUS=serving is relayed
	// under each worker's name, before or after it.
	var ready, relayed []systemd.Notification
	next("READY=1 and both STATUS", func(n systemd.Notification) bool {
		if n.Ready {
			ready = append(ready, n)
		} else if strings.HasPrefix(n.Status, "worker ") {
			relayed = append(relayed, n)
		}
		return len(ready) == 1 && len(relayed) == 2
	})
	if !strings.Contains(ready[0].Status, "2 workers") {
		t.Fatalf("READY=1 came with STATUS=%q", ready[0].Status)
	}
	for _, n := range relayed {
		if !strings.HasSuffix(n.Status, ": serving") {
			t.Fatalf("relayed STATUS=%q", n.Status)
		}
	}
	next("WATCHDOG=1", func(n systemd.Notification) bool { return n.Watchdog })
	r.ctl("reload")
	rel := next("RELOADING=1", func(n systemd.Notification) bool { return n.Reloading })
	if rel.Fields["MONOTONIC_USEC"] == "" {
		t.Fatalf("RELOADING=1 without MONOTONIC_USEC: %q", rel.Raw)
	}
	next("READY=1 after the reload", func(n systemd.Notification) bool { return n.Ready })
	r.ctl("stop")
	next("STOPPING=1", func(n systemd.Notification) bool { return n.Stopping })
}

// TestSocketActivation: started with a socket passed the systemd way
// (LISTEN_FDS, LISTEN_PID = its pid), gocluster run serves on it instead of
// binding, and passes it to every worker; SIGUSR1 reaches every program.
func TestSocketActivation(t *testing.T) {
	needProgram(t, "python3")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	// __exec puts its own pid in LISTEN_PID, then becomes gocluster run.
	cmd := exec.Command(os.Args[0], execCmd, "--", os.Args[0], "run", "--socket", filepath.Join(dir, "ctl.sock"),
		"--log-dir", filepath.Join(dir, "logs"), "-n", "2", "--ready", "notify", "--", "python3", "testdata/hello.py")
	cmd.Env = append(os.Environ(), envAsCLI+"=1", noRaceExitSleep, "LISTEN_FDS=1", "LISTEN_FDNAMES=web")
	cmd.ExtraFiles = []*os.File{f}
	r := startCmd(t, cmd, filepath.Join(dir, "ctl.sock"))
	r.waitLine("listening on web (from systemd)", 5*time.Second)
	if seen := answerers(t, ln.Addr().String(), 2, 2000); len(seen) != 2 {
		t.Fatalf("on the passed socket, answers from %v, want 2 workers", seen)
	}
	r.cmd.Process.Signal(syscall.SIGUSR1)
	for _, w := range r.status().Workers {
		r.waitLine("python worker "+itoa(w.ID)+" got SIGUSR1", 10*time.Second)
	}
}
