package cluster

import (
	"context"
	"slices"
	"sync"

	"github.com/gocluster/cluster/internal/wire"
)

// peerView is a worker's list of the live workers, sent by the primary
// (wire.CtlPeers) after every start and exit it sees, in that order; SendTo
// checks it so that a message to a worker that is gone fails at once.
type peerView struct {
	once  sync.Once
	known chan struct{} // closed when the first list has come
	mu    sync.Mutex
	ids   []uint32 // sorted
}

// onPeers takes the list of live workers (a CtlPeers frame).
func (v *peerView) onPeers(f wire.Frame) error {
	closeFiles(f.Files)
	ids, err := wire.ParsePeers(f.Payload)
	if err != nil {
		return err
	}
	slices.Sort(ids)
	v.mu.Lock()
	v.ids = ids
	v.mu.Unlock()
	v.once.Do(func() { close(v.known) })
	return nil
}

// check reports ErrNoWorker unless id is a live worker, waiting for the
// first list until ctx ends or the channel closes.
func (v *peerView) check(ctx context.Context, id int) error {
	if id <= 0 || uint64(id) > 1<<32-1 {
		return ErrNoWorker
	}
	select {
	case <-v.known:
	default:
		if err := self.mail.inHandler(); err != nil {
			return err // the list is read by the goroutine this handler holds
		}
		select {
		case <-v.known:
		case <-self.ep.Done(): // the list can no longer come
			return self.ep.Err()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	v.mu.Lock()
	_, ok := slices.BinarySearch(v.ids, uint32(id))
	v.mu.Unlock()
	if !ok {
		return ErrNoWorker
	}
	return nil
}

// announcePeers tells every live worker which workers are live. It runs on
// the supervisor goroutine after each change of the table, so a worker
// learns of starts and exits in the order the primary saw them.
func (p *Primary) announcePeers() {
	ids := make([]uint32, 0, len(p.table))
	for id := range p.table {
		ids = append(ids, uint32(id))
	}
	msg := wire.AppendPeers(make([]byte, 0, 1+4*len(ids)), ids)
	for _, w := range p.table {
		w.ep.Enqueue(wire.TypeCtl, 0, 0, msg)
	}
}
