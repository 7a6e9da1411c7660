//go:build unix

package cluster_test

import (
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

// tellEachNewWorker sends msg once to every worker the cluster forks from
// now on, until the test ends.
func tellEachNewWorker(t *testing.T, tc *testCluster, msg string, skip map[int]bool) {
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		told := map[int]bool{}
		for id := range skip {
			told[id] = true
		}
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, w := range tc.p.Workers() {
				if !told[w.ID()] {
					told[w.ID()] = true
					w.Send([]byte(msg))
				}
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
}

// readGreetings reads the greeting of every connection at once and returns
// the id of the worker that greeted each (0: none, the error in errs).
func readGreetings(conns []net.Conn) (ids []int, errs []error) {
	ids, errs = make([]int, len(conns)), make([]error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = greeting(c)
		}()
	}
	wg.Wait()
	return ids, errs
}

// TestConnectionsInTheGapAreServed: seed 004's worker serves one request and
// exits. Connections that come while no worker listens are held and served
// by the next workers, one each: none is reset, whether the worker exits
// with its listener open or closes it first.
func TestConnectionsInTheGapAreServed(t *testing.T) {
	for _, mode := range []string{"exit", "close"} {
		t.Run(mode, func(t *testing.T) {
			cfg := cluster.Config{Workers: 1, MaxRestarts: 100}
			cfg.Settings.Env = append(env("tcpid"), envOneShot+"="+mode, envListenGate+"=1")
			tc := startCluster(t, cfg)
			first := tc.event(cluster.EventFork, nil).Worker
			first.Send([]byte("listen"))
			addr := tc.event(cluster.EventListening, first).Addr
			if id, c := greet(t, "tcp", addr.String()); id != first.ID() {
				t.Fatalf("served by worker %d", id)
			} else {
				c.Close()
			}
			tc.event(cluster.EventExit, first)
			// The gap: the replacement listens only when told.
			conns := make([]net.Conn, 4)
			for i := range conns {
				c, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				conns[i] = c
			}
			tellEachNewWorker(t, tc, "listen", map[int]bool{first.ID(): true})
			ids, errs := readGreetings(conns)
			for i := range conns {
				if errs[i] != nil || ids[i] == first.ID() {
					t.Errorf("connection %d made while no worker listened: worker %d, %v", i, ids[i], errs[i])
				}
			}
		})
	}
}

// TestUnacceptedConnectionsOutliveAKilledWorker: a worker that listens but
// never calls Accept is handed half of the connections and killed with
// SIGKILL; the other worker serves every one of them.
func TestUnacceptedConnectionsOutliveAKilledWorker(t *testing.T) {
	tc, addr := listenCluster(t, cluster.Config{}, 1)
	serving := tc.p.Workers()[0]
	stuck, err := tc.p.Fork(envGate + "=1") // listens, never accepts
	if err != nil {
		t.Fatal(err)
	}
	tc.ready(2) // Ready comes after its listener is open
	conns := make([]net.Conn, 20)
	for i := range conns {
		c, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	// Wait until the primary has handed every connection to a worker.
	deadline := time.Now().Add(10 * time.Second)
	for serving.Connections()+stuck.Connections() < len(conns) {
		if time.Now().After(deadline) {
			t.Fatalf("handed off: %d and %d of %d", serving.Connections(), stuck.Connections(), len(conns))
		}
		time.Sleep(time.Millisecond)
	}
	if stuck.Connections() == 0 {
		t.Fatal("the worker that does not accept was handed no connection")
	}
	stuck.Kill(syscall.SIGKILL)
	ids, errs := readGreetings(conns)
	for i := range conns {
		if ids[i] != serving.ID() {
			t.Errorf("connection %d: worker %d, %v (want worker %d)", i, ids[i], errs[i], serving.ID())
		}
	}
}
