package cluster

import (
	"context"

	"github.com/gocluster/cluster/kv"
)

// Store returns this worker's handle on the cluster's shared state (package
// [kv]) once its replica holds the data: the first call subscribes to the
// primary and waits until the replica holds the primary's content (a round
// trip, plus the time to copy the data), or until ctx ends: then it returns
// ctx's error, the subscription goes on, and a later call waits for the
// same content. From then on [kv.KV.Get] reads everything written before,
// and the stream of changes keeps it current; later calls return at once. A
// worker started by a restart or a reload receives a fresh copy the same
// way.
//
// In the primary, the store is [Primary.Store]'s (the primary owns it: it
// outlives every worker). Outside a worker Store returns [ErrNotWorker]; a
// program running on its own makes its store with
// kv.New(kv.NewEngine(kv.Limits{})). In a worker whose channel to the
// primary is gone it fails with [ErrDisconnected]; called first from a
// [Handle] callback, with [ErrInHandler].
func Store(ctx context.Context) (*kv.KV, error) {
	if self == nil {
		return nil, opErr("store", ErrNotWorker)
	}
	h := self.store
	if err := h.Ready(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// Store returns the shared state (package [kv]) the primary owns: the store
// every worker's [Store] reads a replica of. It is created by [New] from
// the Config (its limits: [Config.MaxValueSize], [Config.MaxMessageSize]),
// lives as long as the Primary, and keeps its data across worker crashes,
// restarts and reloads. Reads and writes in the primary never wait for a
// worker.
func (p *Primary) Store() *kv.KV { return p.store }

// kvPeer is a worker as the shared state's server sees it.
type kvPeer struct {
	p *Primary
	w *Worker
}

func (k kvPeer) ID() int { return k.w.id }

// CutOff closes the worker's channel because of err and, on a goroutine Run
// waits for, reports it and kills the worker if it has not exited after
// KillTimeout (a worker that stopped reading may not notice the channel
// closing).
func (k kvPeer) CutOff(err error) {
	p, w := k.p, k.w
	w.ep.Close(err)
	p.goRun(func() {
		p.do(func() { p.emit(Event{Type: EventError, Worker: w, Err: err}) })
		w.killUnlessExited(p.cfg.KillTimeout)
	})
}

// forgetStateOf drops what the shared state holds for a worker that exited:
// its stream, the keys it owns, the loads it leads (their waiters retry).
// It runs once w's channel is closed and its reader has ended.
func (p *Primary) forgetStateOf(w *Worker) {
	if w.kv != nil {
		w.kv.Detach()
	}
}
