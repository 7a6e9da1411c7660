package metrics

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gocluster/cluster"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrNotWorker is returned by [Serve] in a process that was not started as a
// worker by a primary: a program running on its own serves its metrics
// itself (promhttp.Handler).
var ErrNotWorker = errors.New("metrics: not running as a worker")

// Timings of the worker side.
const (
	// dialRetryMax caps the wait between two attempts to reach the
	// collector (it starts at dialRetryMin and doubles).
	dialRetryMin = 50 * time.Millisecond
	dialRetryMax = time.Second
	// writeTimeout bounds every write on the socket, both sides.
	writeTimeout = 5 * time.Second
)

// Serve makes g available to the primary's [Collector] until ctx ends: it
// connects to the collector's socket ([SocketPath] of os.Getppid(): the
// worker must be the primary's own child, not started through a shell),
// says which worker it is and answers every gather request with
// g.Gather(). When ctx ends it sends g's families one last time, unasked,
// and returns nil: cancel ctx once the worker's server has drained (after
// [cluster.Serve] returned), so that the last requests are counted even
// though the process then exits.
//
// If the collector is not there yet, or goes away, Serve tries again (every
// second at most) until ctx ends. Serve does not watch [cluster.Shutdown]
// (a program that never asks for it is ended by the notice itself; Serve
// must not change that).
//
// Outside a worker Serve returns [ErrNotWorker] at once.
func Serve(ctx context.Context, g prometheus.Gatherer) error {
	if !cluster.IsWorker() {
		return ErrNotWorker
	}
	path := SocketPath(os.Getppid())
	delay := dialRetryMin
	for {
		conn, err := dial(ctx, path)
		if err == nil {
			serveConn(ctx, conn, g)
			delay = dialRetryMin
		}
		if ctx.Err() != nil {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		delay = min(2*delay, dialRetryMax)
	}
}

// dial connects to the collector at path once its directory checks out.
func dial(ctx context.Context, path string) (net.Conn, error) {
	if err := checkDir(SocketDir()); err != nil {
		return nil, err
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	conn, err := d.DialContext(dctx, "unix", path)
	if err != nil {
		return nil, err
	}
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	err = writeFrame(conn, frameHello, uvarints(uint64(cluster.ID()), uint64(cluster.Generation()), uint64(os.Getpid())))
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// serveConn answers gather requests on conn until it fails or ctx ends;
// then it pushes the families a last time and closes conn. Its reader
// goroutine is joined before it returns.
func serveConn(ctx context.Context, conn net.Conn, g prometheus.Gatherer) {
	var wmu sync.Mutex
	send := func(seq uint64) error {
		wmu.Lock()
		defer wmu.Unlock()
		typ, payload := gather(seq, g)
		conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		return writeFrame(conn, typ, payload)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := bufio.NewReader(conn)
		for {
			typ, b, err := readFrame(r)
			if err != nil {
				return
			}
			if typ != frameGather {
				continue
			}
			ns, _, err := readUvarints(b, 1)
			if err != nil || send(ns[0]) != nil {
				return
			}
		}
	}()
	select {
	case <-done:
		conn.Close()
		return
	case <-ctx.Done():
	}
	// The last counts, unasked: the collector reads them before it sees
	// the connection end, and keeps them.
	send(0)
	conn.Close()
	<-done
}

// gather returns the frame that answers request seq.
func gather(seq uint64, g prometheus.Gatherer) (byte, []byte) {
	mfs, err := g.Gather()
	if err != nil && len(mfs) == 0 {
		return frameFailed, append(uvarints(seq), err.Error()...)
	}
	// A partial result (some collector failed) is still worth keeping:
	// Gather returns what it could.
	b, err := encodeFamilies(seq, mfs)
	if err != nil {
		return frameFailed, append(uvarints(seq), err.Error()...)
	}
	return frameFamilies, b
}
