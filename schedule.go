package cluster

import (
	"hash/fnv"
	"net"
	"strconv"
	"sync/atomic"
)

// Scheduler picks the worker that gets each new connection of a
// RoundRobin listener. Pick is called on the listener's accept goroutine in
// the primary, once per connection: it must be fast and must not block.
// workers is never empty and is ordered by id; each worker in it listens on
// that address and can take one more connection. Pick must neither change
// nor keep the slice. Returning nil (or a worker not in the list) means the
// first one.
type Scheduler interface {
	Pick(remote net.Addr, workers []*Worker) *Worker
}

// RoundRobinScheduler hands connections to the workers in turn: Node's
// SCHED_RR, the default.
func RoundRobinScheduler() Scheduler { return &roundRobin{} }

type roundRobin struct{ next atomic.Uint64 }

func (r *roundRobin) Pick(_ net.Addr, ws []*Worker) *Worker {
	return ws[(r.next.Add(1)-1)%uint64(len(ws))]
}

// LeastConnections hands each connection to the worker holding the fewest
// open connections handed off by the primary (workers report each close);
// ties go round-robin, so an idle cluster still spreads evenly.
func LeastConnections() Scheduler { return &leastConns{} }

type leastConns struct{ next atomic.Uint64 }

func (l *leastConns) Pick(_ net.Addr, ws []*Worker) *Worker {
	start := int(l.next.Add(1) % uint64(len(ws)))
	best := ws[start]
	for i := 1; i < len(ws); i++ {
		w := ws[(start+i)%len(ws)]
		if w.Connections() < best.Connections() {
			best = w
		}
	}
	return best
}

// StickyByIP sends every connection from one client IP address to the same
// worker while that worker listens (what socket.io and session-in-memory
// servers need). It uses rendezvous hashing: when a worker comes or goes,
// only the clients of that worker move.
func StickyByIP() Scheduler { return stickyIP{} }

type stickyIP struct{}

func (stickyIP) Pick(remote net.Addr, ws []*Worker) *Worker {
	ip := remoteIP(remote)
	var best *Worker
	var bestScore uint64
	for _, w := range ws {
		h := fnv.New64a()
		h.Write(ip)
		h.Write([]byte(strconv.Itoa(w.slot)))
		if s := h.Sum64(); best == nil || s > bestScore {
			best, bestScore = w, s
		}
	}
	return best
}

func remoteIP(a net.Addr) []byte {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.To16()
	case nil:
		return nil
	}
	return []byte(a.String())
}
