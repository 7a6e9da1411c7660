package cluster

import (
	"context"
	"encoding/binary"
	"fmt"
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

// set takes a list from the primary: ids as big-endian uint32s.
// onPeers takes the list of live workers (a CtlPeers frame).
func (v *peerView) onPeers(f wire.Frame) error {
	closeFiles(f.Files)
	return v.set(f.Payload[1:])
}

func (v *peerView) set(b []byte) error {
	if len(b)%4 != 0 {
		return fmt.Errorf("%w: worker list of %d bytes", wire.ErrMalformed, len(b))
	}
	ids := make([]uint32, 0, len(b)/4)
	for ; len(b) > 0; b = b[4:] {
		ids = append(ids, binary.BigEndian.Uint32(b))
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
	msg := make([]byte, 1, 1+4*len(p.table))
	msg[0] = wire.CtlPeers
	for id := range p.table {
		msg = binary.BigEndian.AppendUint32(msg, uint32(id))
	}
	for _, w := range p.table {
		w.ep.Enqueue(wire.TypeCtl, 0, 0, msg)
	}
}
