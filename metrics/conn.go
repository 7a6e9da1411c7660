package metrics

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
)

var (
	errGone    = errors.New("metrics: worker's connection closed")
	errTimeout = errors.New("metrics: worker did not answer in time")
)

// workerConn is the primary's end of one worker's connection: requests are
// matched with their answers by sequence number, so that scrapes may run
// at the same time.
type workerConn struct {
	conn net.Conn
	r    *bufio.Reader
	wmu  sync.Mutex // one frame written at a time

	mu      sync.Mutex
	seq     uint64
	pending map[uint64]chan reply
	closed  bool
}

// reply is a worker's answer to one gather request.
type reply struct {
	mfs []*dto.MetricFamily
	err error
}

func newWorkerConn(conn net.Conn, r *bufio.Reader) *workerConn {
	return &workerConn{conn: conn, r: r, pending: make(map[uint64]chan reply)}
}

// gather asks the worker for its families and waits for them at most
// timeout.
func (wc *workerConn) gather(timeout time.Duration) ([]*dto.MetricFamily, error) {
	wc.mu.Lock()
	if wc.closed {
		wc.mu.Unlock()
		return nil, errGone
	}
	wc.seq++
	seq := wc.seq
	ch := make(chan reply, 1)
	wc.pending[seq] = ch
	wc.mu.Unlock()
	defer func() {
		wc.mu.Lock()
		delete(wc.pending, seq)
		wc.mu.Unlock()
	}()

	t := time.NewTimer(timeout)
	defer t.Stop()
	wc.wmu.Lock()
	wc.conn.SetWriteDeadline(time.Now().Add(timeout))
	err := writeFrame(wc.conn, frameGather, uvarints(seq))
	wc.wmu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("metrics: ask worker: %w", err)
	}
	select {
	case r := <-ch:
		return r.mfs, r.err
	case <-t.C:
		return nil, errTimeout
	}
}

// readLoop reads the worker's frames until the connection ends, passing
// every set of families (answers and pushes alike) to keep before it
// answers the request they belong to. Then every waiting request fails.
func (wc *workerConn) readLoop(keep func([]*dto.MetricFamily)) error {
	defer wc.fail()
	for {
		typ, b, err := readFrame(wc.r)
		if err != nil {
			return err
		}
		switch typ {
		case frameFamilies:
			seq, mfs, err := decodeFamilies(b)
			if err != nil {
				return err
			}
			keep(mfs)
			wc.deliver(seq, reply{mfs: mfs})
		case frameFailed:
			ns, rest, err := readUvarints(b, 1)
			if err != nil {
				return err
			}
			wc.deliver(ns[0], reply{err: fmt.Errorf("metrics: worker's Gather failed: %s", rest)})
		}
	}
}

// deliver hands r to the request seq, if it still waits (0: a push).
func (wc *workerConn) deliver(seq uint64, r reply) {
	wc.mu.Lock()
	ch := wc.pending[seq]
	delete(wc.pending, seq) // one answer per request: ch holds it
	wc.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

// fail closes the connection and fails every waiting request.
func (wc *workerConn) fail() {
	wc.conn.Close()
	wc.mu.Lock()
	defer wc.mu.Unlock()
	wc.closed = true
	for seq, ch := range wc.pending {
		ch <- reply{err: errGone}
		delete(wc.pending, seq)
	}
}
