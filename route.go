package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gocluster/cluster/internal/link"
	"github.com/gocluster/cluster/internal/wire"
)

// route forwards a message or request from worker src to the worker f.Peer.
func (p *Primary) route(src *Worker, f wire.Frame) {
	dst := p.Worker(int(f.Peer))
	if f.Type == wire.TypeMsg {
		if dst == nil {
			closeFiles(f.Files)
			p.log.Warn("cluster: dropping message to unknown worker", "from", src.id, "to", f.Peer)
			return
		}
		// Never wait for dst here: this is src's reader, which must keep
		// reading src's replies and notices. A destination that does not
		// read gets nothing more once its queue is full.
		var err error
		if queued, _ := dst.ep.Conn().Backlog(); queued > wire.DefaultHighWater {
			err = errors.New("its queue is full (it does not read)")
		} else if len(f.Files) > 0 {
			err = dst.ep.Conn().EnqueueFiles(wire.TypeMsg, uint32(src.id), 0, f.Payload, f.Files)
		} else {
			err = dst.ep.Enqueue(wire.TypeMsg, uint32(src.id), 0, f.Payload)
		}
		if err != nil {
			closeFiles(f.Files)
			p.log.Warn("cluster: dropping message to worker", "from", src.id, "to", f.Peer, "err", err)
		}
		return
	}
	id := f.ID
	closeFiles(f.Files) // requests carry no handles
	if dst == nil {
		src.ep.Enqueue(wire.TypeRepErr, 0, id, encodeErr(fmt.Errorf("%w: %d", ErrNoWorker, f.Peer)))
		return
	}
	data := link.Clone(f.Payload)
	// One goroutine per request, which Run waits for; it gives up when
	// src's channel ends (srcGone), with no goroutine to watch it.
	if !p.goRun(func() {
		rep, err := dst.ep.Request(srcGone{src.ep.Done()}, uint32(src.id), data)
		if err != nil {
			src.ep.Send(wire.TypeRepErr, 0, id, encodeErr(err))
			return
		}
		src.ep.Send(wire.TypeRep, 0, id, rep)
	}) {
		src.ep.Enqueue(wire.TypeRepErr, 0, id, encodeErr(ErrNotRunning))
	}
}

// srcGone is a [context.Context] that ends, canceled, when its channel is
// closed: the routed request's wait selects on the source's channel itself.
type srcGone struct{ done <-chan struct{} }

func (srcGone) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c srcGone) Done() <-chan struct{}     { return c.done }
func (srcGone) Value(any) any               { return nil }
func (c srcGone) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}
