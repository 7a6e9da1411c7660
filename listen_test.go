//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

func TestEveryPolicyServesFromAllWorkers(t *testing.T) {
	for _, name := range []string{"shared", "rr", "reuseport"} {
		t.Run(name, func(t *testing.T) {
			_, addr := listenCluster(t, cluster.Config{}, 2, envPolicy+"="+name)
			served := map[int]int{}
			for range 40 {
				id, c := greet(t, "tcp", addr.String())
				c.Close()
				served[id]++
			}
			if len(served) != 2 {
				t.Fatalf("connections per worker: %v, want both workers", served)
			}
			if name == "rr" && (served[1] != 20 || served[2] != 20) {
				t.Fatalf("round-robin spread %v, want 20/20", served)
			}
		})
	}
}

func TestIPv6(t *testing.T) {
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	probe.Close()
	for _, name := range []string{"shared", "rr"} {
		t.Run(name, func(t *testing.T) {
			_, addr := listenCluster(t, cluster.Config{}, 2, envPolicy+"="+name, envNet+"=tcp6", envAddr+"=[::1]:0")
			served := map[int]bool{}
			for range 20 {
				id, c := greet(t, "tcp6", addr.String())
				c.Close()
				served[id] = true
			}
			if len(served) != 2 || !strings.HasPrefix(addr.String(), "[::1]:") {
				t.Fatalf("on %v, workers that served: %v", addr, served)
			}
		})
	}
}

func TestDefaultPolicyIsRoundRobinAndBalancesABurst(t *testing.T) {
	_, addr := listenCluster(t, cluster.Config{}, 2)
	conns := make([]net.Conn, 64)
	for i := range conns { // all open at once, as wrk -c64 does
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	served := map[int]int{}
	for _, c := range conns {
		served[readGreeting(t, c)]++
		c.Close()
	}
	if served[1] != 32 || served[2] != 32 {
		t.Fatalf("64 connections opened at once landed %v, want 32/32", served)
	}
}

func TestUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sock")
	for _, name := range []string{"shared", "rr"} {
		t.Run(name, func(t *testing.T) {
			os.Remove(path)
			_, addr := listenCluster(t, cluster.Config{}, 2, envPolicy+"="+name, envNet+"=unix", envAddr+"="+path)
			if addr.String() != path {
				t.Fatalf("listening on %v, want %s", addr, path)
			}
			// Round-robin alternates; with a shared socket the kernel wakes
			// both workers and the quicker one accepts, which can be the
			// same one many times in a row on a loaded machine.
			served := map[int]bool{}
			for i := 0; i < 500 && len(served) < 2; i++ {
				id, c := greet(t, "unix", path)
				c.Close()
				served[id] = true
			}
			if len(served) != 2 {
				t.Fatalf("workers that served 500 connections: %v", served)
			}
		})
	}
}

// TestSharedBacklogSurvivesAWorkerKill: connections wait in the backlog of
// the shared socket while no worker accepts; one worker is killed; the other
// then serves every one of them.
func TestSharedBacklogSurvivesAWorkerKill(t *testing.T) {
	tc, addr := listenCluster(t, cluster.Config{}, 2, envPolicy+"=shared", envGate+"=1")
	conns := make([]net.Conn, 20)
	for i := range conns {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
		defer c.Close()
	}
	ws := tc.p.Workers()
	ws[0].Kill(syscall.SIGKILL)
	tc.event(cluster.EventExit, ws[0])
	if err := ws[1].Send([]byte("serve")); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		if id := readGreeting(t, c); id != ws[1].ID() {
			t.Fatalf("connection %d served by worker %d", i, id)
		}
	}
}

func TestLeastConnectionsScheduler(t *testing.T) {
	tc, addr := listenCluster(t, cluster.Config{Scheduler: cluster.LeastConnections()}, 2)
	byWorker := map[int][]net.Conn{}
	for range 4 {
		id, c := greet(t, "tcp", addr.String())
		byWorker[id] = append(byWorker[id], c)
	}
	if len(byWorker[1]) != 2 || len(byWorker[2]) != 2 {
		t.Fatalf("4 connections spread %d/%d, want 2/2", len(byWorker[1]), len(byWorker[2]))
	}
	for _, c := range byWorker[1] {
		c.Close()
	}
	w1 := tc.p.Worker(1)
	deadline := time.Now().Add(10 * time.Second)
	for w1.Connections() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("worker 1 still counts %d connections", w1.Connections())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := range 2 {
		id, c := greet(t, "tcp", addr.String())
		defer c.Close()
		if id != 1 {
			t.Fatalf("new connection %d went to worker %d, want the idle worker 1", i, id)
		}
	}
	for _, c := range byWorker[2] {
		c.Close()
	}
}

func TestStickyByIPScheduler(t *testing.T) {
	_, addr := listenCluster(t, cluster.Config{Scheduler: cluster.StickyByIP()}, 2)
	dialFrom := func(ip string) int {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return readGreeting(t, c)
	}
	used := map[int]bool{}
	for i := 1; i <= 20; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		first := dialFrom(ip)
		for range 4 {
			if id := dialFrom(ip); id != first {
				t.Fatalf("client %s went to worker %d, then %d", ip, first, id)
			}
		}
		used[first] = true
	}
	if len(used) != 2 {
		t.Fatalf("20 client addresses all went to one worker: %v", used)
	}
}

type lastWorker struct{}

func (lastWorker) Pick(_ net.Addr, ws []*cluster.Worker) *cluster.Worker { return ws[len(ws)-1] }

func TestCustomScheduler(t *testing.T) {
	_, addr := listenCluster(t, cluster.Config{Scheduler: lastWorker{}}, 2)
	for range 10 {
		id, c := greet(t, "tcp", addr.String())
		c.Close()
		if id != 2 {
			t.Fatalf("custom scheduler picked worker 2, connection went to %d", id)
		}
	}
}

// TestClosedListenerGetsNoConnections: a worker that closes its listener
// gets no more connections; the other serves them all.
func TestClosedListenerGetsNoConnections(t *testing.T) {
	tc, addr := listenCluster(t, cluster.Config{}, 2)
	if got := ask(t, tc.p.Worker(1), "close-listener"); got != "ok" {
		t.Fatal(got)
	}
	// The notice came before the reply, on the same channel: no sleep.
	for range 10 {
		id, c := greet(t, "tcp", addr.String())
		c.Close()
		if id != 2 {
			t.Fatalf("connection served by worker %d after it closed its listener", id)
		}
	}
}

func TestSecondRoundRobinListenInOneWorkerIsRefused(t *testing.T) {
	tc, addr := listenCluster(t, cluster.Config{}, 1)
	w := tc.p.Workers()[0]
	if got := ask(t, w, "listen-again"); !strings.Contains(got, "already listens") {
		t.Fatalf("second listen: %q", got)
	}
	id, c := greet(t, "tcp", addr.String()) // the first listener still serves
	c.Close()
	if id != w.ID() {
		t.Fatalf("served by %d", id)
	}
}

func TestPolicyMismatchIsRefused(t *testing.T) {
	tc, addr := listenCluster(t, cluster.Config{}, 1, envPolicy+"=rr")
	tc.p.Setup(cluster.Settings{Env: append(env("tcpid"), envPolicy+"=shared", envAddr+"="+addr.String())})
	w, err := tc.p.Fork()
	if err != nil {
		t.Fatal(err)
	}
	// The worker cannot listen and exits with status 5.
	if e := tc.event(cluster.EventExit, w); e.ExitCode != 5 {
		t.Fatalf("worker asking for another policy exited %d, want 5", e.ExitCode)
	}
}

func TestHandlePassing(t *testing.T) {
	tc, _ := listenCluster(t, cluster.Config{}, 1)
	w := tc.p.Workers()[0]
	a, b := net.Pipe()
	defer a.Close()
	// net.Pipe has no descriptor: a clear error.
	if err := w.SendHandle([]byte("x"), b); err == nil || !strings.Contains(err.Error(), "descriptor") {
		t.Fatalf("SendHandle of a net.Pipe: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SendHandle([]byte("take this"), server); err != nil {
		t.Fatal(err)
	}
	server.Close() // the worker has its own duplicate
	buf := make([]byte, 64)
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := client.Read(buf)
	if err != nil || string(buf[:n]) != fmt.Sprintf("worker %d got the handle\n", w.ID()) {
		t.Fatalf("through the passed connection: %q %v", buf[:n], err)
	}
}

func TestListenOutsideAClusterIsPlainListen(t *testing.T) {
	ln, err := cluster.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Write([]byte("worker 0\n"))
			c.Close()
		}
	}()
	if id, c := greet(t, "tcp", ln.Addr().String()); id != 0 {
		t.Fatalf("got %d", id)
	} else {
		c.Close()
	}
}

func TestReusePortReportsAStranger(t *testing.T) {
	tc, addr := listenCluster(t, cluster.Config{}, 1, envPolicy+"=reuseport")
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf, 1) })
	}}
	stranger, err := lc.Listen(context.Background(), "tcp", addr.String())
	if err != nil {
		t.Fatalf("the stranger could not join: %v", err)
	}
	defer stranger.Close()
	// Noticed without any new listen, by the periodic check.
	e := tc.waitFor(10*time.Second, "stranger error", func(e cluster.Event) bool {
		return e.Type == cluster.EventError && e.Err != nil && strings.Contains(e.Err.Error(), "outside the cluster")
	})
	if e.Addr == nil || e.Addr.String() != addr.String() {
		t.Fatalf("error event for %v, want %v", e.Addr, addr)
	}
}

// A RoundRobin listener asked for port 0 reports the port the primary bound.
func TestRoundRobinAddrIsTheBoundAddress(t *testing.T) {
	tc, addr := listenCluster(t, cluster.Config{}, 1, envPolicy+"=rr")
	if got := ask(t, tc.p.Workers()[0], "addr"); got != addr.String() {
		t.Fatalf("the worker's listener says %s, the primary bound %v", got, addr)
	}
}

// Listen on an address in use fails, in the worker, with an error that is
// syscall.EADDRINUSE; the primary reports it as an EventError.
func TestListenOnAnAddressInUse(t *testing.T) {
	for _, name := range []string{"shared", "rr", "reuseport"} {
		t.Run(name, func(t *testing.T) {
			taken, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer taken.Close()
			var stderr safeBuffer
			cfg := cluster.Config{Workers: 1, MaxRestarts: 100, Stderr: &stderr}
			cfg.Settings = cluster.Settings{Silent: true, Env: append(env("tcpid"), envPolicy+"="+name, envAddr+"="+taken.Addr().String())}
			tc := startCluster(t, cfg)
			e := tc.waitFor(10*time.Second, "listen error", func(e cluster.Event) bool {
				return e.Type == cluster.EventError && e.Worker != nil
			})
			if !errors.Is(e.Err, syscall.EADDRINUSE) || strings.Count(e.Err.Error(), "cluster:") != 1 || !strings.Contains(e.Err.Error(), taken.Addr().String()) {
				t.Fatalf("error event: %v", e.Err)
			}
			if x := tc.event(cluster.EventExit, e.Worker); x.ExitCode != 5 {
				t.Fatalf("the worker exited %d, want 5", x.ExitCode)
			}
			want := fmt.Sprintf("listen: cluster: listen tcp %s: bind: address already in use (EADDRINUSE: true)", taken.Addr())
			if !strings.Contains(stderr.String(), want) {
				t.Fatalf("the worker's error: %q, want %q", stderr.String(), want)
			}
		})
	}
}
