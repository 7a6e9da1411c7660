//go:build unix

package cluster_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

// Settings of the "tcpid" worker, from its environment.
const (
	envPolicy  = "TEST_POLICY"  // shared, rr, reuseport; empty: the cluster's
	envNet     = "TEST_NET"     // default tcp
	envAddr    = "TEST_ADDR"    // default 127.0.0.1:0
	envGate    = "TEST_GATE"    // "1": accept only after the message "serve"
	envNoReady = "TEST_NOREADY" // "1": never call Ready
	// "1": listen only after the message "listen"
	envListenGate = "TEST_LISTEN_GATE"
	// "exit": serve one connection, then exit with status 1 (Node's seed
	// 004); "close": the same, closing the listener first
	envOneShot = "TEST_ONESHOT"
)

var policies = map[string]cluster.Policy{"shared": cluster.Shared, "rr": cluster.RoundRobin, "reuseport": cluster.ReusePort}

// tcpIDWorker listens on the shared address and greets each connection
// with "worker ID", then reads until the client closes. It also answers
// requests: "handle" sends the primary a handle to a fresh pipe.
func tcpIDWorker() int {
	network, addr := os.Getenv(envNet), os.Getenv(envAddr)
	if network == "" {
		network = "tcp"
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if os.Getenv(envListenGate) == "1" {
		for m := range cluster.Messages() {
			if string(m.Data) == "listen" {
				break
			}
		}
	}
	ln, err := cluster.ListenConfig{Policy: policies[os.Getenv(envPolicy)]}.Listen(context.Background(), network, addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "listen: %v (EADDRINUSE: %t)\n", err, errors.Is(err, syscall.EADDRINUSE))
		return 5
	}
	if mode := os.Getenv(envOneShot); mode != "" {
		cluster.Ready()
		c, err := ln.Accept()
		if err != nil {
			return 6
		}
		fmt.Fprintf(c, "worker %d\n", cluster.ID())
		c.Close()
		if mode == "close" {
			ln.Close()
		}
		return 1
	}
	serve := make(chan struct{})
	if os.Getenv(envGate) != "1" {
		close(serve)
	}
	go func() {
		for m := range cluster.Messages() {
			switch {
			case string(m.Data) == "serve":
				close(serve)
			case m.File != nil: // a handle: write our id into it
				if c, err := m.Conn(); err == nil {
					fmt.Fprintf(c, "worker %d got the handle\n", cluster.ID())
					c.Close()
				}
			case m.IsRequest() && string(m.Data) == "addr":
				m.Reply([]byte(ln.Addr().String()))
			case m.IsRequest() && string(m.Data) == "close-listener":
				m.Reply([]byte(errText(ln.Close())))
			case m.IsRequest() && string(m.Data) == "listen-again":
				again, err := cluster.ListenConfig{Policy: policies[os.Getenv(envPolicy)]}.Listen(context.Background(), network, ln.Addr().String())
				if err == nil {
					again.Close()
				}
				m.Reply([]byte(errText(err)))
			}
		}
	}()
	if os.Getenv(envNoReady) != "1" {
		cluster.Ready()
	}
	go func() {
		<-serve
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				fmt.Fprintf(c, "worker %d\n", cluster.ID())
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	<-cluster.Shutdown()
	ln.Close()
	return 0
}

// greet connects to addr and returns the id of the worker that greeted,
// with the connection (still open).
func greet(t *testing.T, network, addr string) (int, net.Conn) {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return readGreeting(t, c), c
}

func readGreeting(t *testing.T, c net.Conn) int {
	t.Helper()
	id, err := greeting(c)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// greeting reads the greeting on c (waiting up to 10 s) and returns the id
// of the worker that sent it.
func greeting(c net.Conn) (int, error) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("no greeting: %w", err)
	}
	id, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "worker "))
	if err != nil {
		return 0, fmt.Errorf("greeting %q", line)
	}
	return id, nil
}

// listenCluster starts n tcpid workers with the extra env and returns the
// cluster and the address they share (from the listening events).
func listenCluster(t *testing.T, cfg cluster.Config, n int, extra ...string) (*testCluster, net.Addr) {
	t.Helper()
	cfg.Workers = n
	cfg.Settings.Env = append(append(cfg.Settings.Env, env("tcpid")...), extra...)
	tc := startCluster(t, cfg)
	ws := tc.ready(n)
	var addr net.Addr
	for _, w := range ws {
		e := tc.event(cluster.EventListening, w)
		if addr != nil && e.Addr.String() != addr.String() {
			t.Fatalf("workers listen on %v and %v: port 0 must be picked once", addr, e.Addr)
		}
		addr = e.Addr
	}
	return tc, addr
}
