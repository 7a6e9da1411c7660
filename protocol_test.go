//go:build unix

package cluster_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/internal/wire"
)

// Frames written by a shell script, in printf's octal escapes, on fd 9:
// the worker's writing end of the channel (the socket in GOCLUSTER_IPC_FD,
// or the second pipe of GOCLUSTER_IPC_PIPES).
const (
	shOpen       = `w=$GOCLUSTER_IPC_FD; case $GOCLUSTER_IPC_PIPES in *,*) w=${GOCLUSTER_IPC_PIPES#*,};; esac; exec 9>&$w; `
	shHello      = `\000\000\000\030\001\000\000\000\000\000\000\000\000\000\000\000\000gocluster\000\004` // wire.Version
	shHelloNext  = `\000\000\000\030\001\000\000\000\000\000\000\000\000\000\000\000\000gocluster\000\005` // a version this side does not speak
	shHugeHeader = `\177\377\377\377\002\000\000\000\000\000\000\000\000\000\000\000\000`
)

// TestBadPeersCloseOnlyTheirChannel runs, beside a healthy worker, programs
// that break the protocol; each gets an error event and loses its channel,
// and the primary and the healthy worker go on.
func TestBadPeersCloseOnlyTheirChannel(t *testing.T) {
	if wire.Version != 4 {
		t.Fatalf("shHello speaks version 4, the wire version is %d: update it", wire.Version)
	}
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	for _, tt := range []struct {
		name, script string
		want         error
	}{
		{"garbage first", `printf 'GET / HTTP/1.1\r\n\r\n' >&9`, wire.ErrHandshake},
		{"not a peer", `printf '\000\000\000\030\001\000\000\000\000\000\000\000\000\000\000\000\000notcluster\001' >&9`, wire.ErrHandshake},
		{"wrong version", `printf '` + shHelloNext + `' >&9`, wire.ErrVersion},
		{"oversized frame", `printf '` + shHello + shHugeHeader + `' >&9`, wire.ErrFrameTooLarge},
		{"unknown type", `printf '` + shHello + `\000\000\000\015\077\000\000\000\000\000\000\000\000\000\000\000\000' >&9`, wire.ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := startCluster(t, cluster.Config{Workers: 1, KillTimeout: 300 * time.Millisecond})
			good := tc.ready(1)[0]
			if err := tc.p.Setup(cluster.Settings{Exec: "/bin/sh", Args: []string{"-c", shOpen + tt.script + "; exec sleep 30"}}); err != nil {
				t.Fatal(err)
			}
			bad, err := tc.p.Fork()
			if err != nil {
				t.Fatal(err)
			}
			e := tc.event(cluster.EventError, bad)
			if !errors.Is(e.Err, tt.want) {
				t.Fatalf("error event %v, want %v", e.Err, tt.want)
			}
			if d := tc.event(cluster.EventDisconnect, bad); !errors.Is(d.Err, tt.want) {
				t.Fatalf("disconnect event error %v, want %v", d.Err, tt.want)
			}
			// The shell ignores its closed channel: the primary kills it.
			if x := tc.event(cluster.EventExit, bad); x.Signal == nil {
				t.Fatalf("bad peer exit %v, want killed by signal", x)
			}
			if got := ask(t, good, "echo:still here"); got != "still here" {
				t.Fatalf("healthy worker answers %q", got)
			}
		})
	}
}

// TestGarbageMidStreamEndsTheWorker: a Go worker that writes garbage after
// its handshake loses its channel, and its runtime ends the process (exit 1)
// on its own, before any signal.
func TestGarbageMidStreamEndsTheWorker(t *testing.T) {
	tc, w := cutOffForGarbage(t, "garbage")
	x := tc.event(cluster.EventExit, w)
	if x.ExitCode != 1 || x.Signal != nil {
		t.Fatalf("worker exit code %d signal %v, want 1 and none (it exits when its channel closes)", x.ExitCode, x.Signal)
	}
}

// TestWritesBeforeGarbageAreKept: the primary reads a worker's shared-state
// writes and the garbage behind them in one read; the writes, gathered as a
// batch when the garbage ends the worker's channel, are still applied.
func TestWritesBeforeGarbageAreKept(t *testing.T) {
	tc, w := cutOffForGarbage(t, "writesgarbage")
	store := tc.p.Store()
	for i := range 40 {
		key := fmt.Sprintf("before-garbage/%d", i)
		if e, ok := store.Get(key); !ok || string(e.Value) != "kept" {
			t.Fatalf("%s: %q, %v after the worker's garbage; want the write it sent before", key, e.Value, ok)
		}
	}
	tc.event(cluster.EventExit, w)
}

// cutOffForGarbage starts one worker in mode, which sends garbage once
// ready, and returns once the primary has reported the protocol error.
func cutOffForGarbage(t *testing.T, mode string) (*testCluster, *cluster.Worker) {
	t.Helper()
	tc := startCluster(t, cluster.Config{Workers: 1, KillTimeout: 5 * time.Second,
		RestartDelay: time.Hour, MaxRestartDelay: time.Hour, Settings: cluster.Settings{Env: env(mode)}})
	w := tc.event(cluster.EventReady, nil).Worker
	if e := tc.event(cluster.EventError, w); !wire.IsProtocolError(e.Err) {
		t.Fatalf("error event %v, want a protocol error", e.Err)
	}
	return tc, w
}

// TestWorkersDieWithPrimary kills the primary with SIGKILL: its workers
// must be gone within a second.
func TestWorkersDieWithPrimary(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envTestPrimary+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var pids []int
	for len(pids) < 2 {
		select {
		case l := <-lines:
			if pid, ok := strings.CutPrefix(l, "online "); ok {
				n, _ := strconv.Atoi(pid)
				pids = append(pids, n)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("primary process did not report 2 workers online")
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	killed := time.Now()
	for _, pid := range pids {
		for alive(pid) {
			if time.Since(killed) > time.Second {
				t.Fatalf("worker %d still alive 1 s after its primary was killed", pid)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// alive reports whether a process exists and is not a zombie, by reading
// /proc (it sends no signal).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
