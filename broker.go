package cluster

import (
	"context"
	"sync"

	"github.com/gocluster/cluster/internal/queue"
)

// broker fans events out to subscribers. Publishing never blocks: each
// subscriber has its own unbounded queue (see [queue.Unbounded]), so a slow
// consumer delays only itself and loses nothing.
type broker struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	q    *queue.Unbounded[Event]
	stop func() bool // unregisters the context's AfterFunc; set under broker.mu
}

func newBroker() *broker { return &broker{subs: make(map[*subscriber]struct{})} }

// subscribe returns a channel that receives every event published from now
// on, in order, until ctx ends or the broker closes; then it is closed
// (after the queued events were delivered, if the broker closed).
func (b *broker) subscribe(ctx context.Context) <-chan Event {
	s := &subscriber{}
	s.q = queue.New(queue.Config[Event]{Closed: func() { b.remove(s) }})
	stop := context.AfterFunc(ctx, s.q.Stop)
	b.mu.Lock()
	if b.closed || ctx.Err() != nil {
		b.mu.Unlock()
		stop()
		s.q.Stop()
		return s.q.C()
	}
	s.stop = stop
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s.q.C()
}

// remove forgets s once its channel is closed.
func (b *broker) remove(s *subscriber) {
	b.mu.Lock()
	delete(b.subs, s)
	stop := s.stop
	b.mu.Unlock()
	if stop != nil {
		stop()
	}
}

func (b *broker) publish(e Event) {
	b.mu.Lock()
	for s := range b.subs {
		s.q.Push(e)
	}
	b.mu.Unlock()
}

// close ends every subscription once its queue is delivered (or at once
// when its context ends).
func (b *broker) close() {
	b.mu.Lock()
	b.closed = true
	subs := b.subs
	b.subs = make(map[*subscriber]struct{})
	b.mu.Unlock()
	for s := range subs {
		s.q.Close()
	}
}
