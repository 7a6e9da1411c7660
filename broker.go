package cluster

import (
	"context"
	"sync"
)

// broker fans events out to subscribers. Publishing never blocks: each
// subscriber has its own unbounded queue drained by its own goroutine, so a
// slow consumer delays only itself and loses nothing.
type broker struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	ch     chan Event
	mu     sync.Mutex
	cond   sync.Cond
	queue  []Event
	closed bool
}

func newBroker() *broker { return &broker{subs: make(map[*subscriber]struct{})} }

// subscribe returns a channel that receives every event published from now
// on, in order, until ctx ends or the broker closes; then it is closed
// (after the queued events were delivered, if the broker closed).
func (b *broker) subscribe(ctx context.Context) <-chan Event {
	s := &subscriber{ch: make(chan Event)}
	s.cond.L = &s.mu
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(s.ch)
		return s.ch
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { s.close() })
	go func() {
		defer stop()
		defer close(s.ch)
		defer func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
		}()
		for {
			s.mu.Lock()
			for len(s.queue) == 0 && !s.closed {
				s.cond.Wait()
			}
			if len(s.queue) == 0 {
				s.mu.Unlock()
				return
			}
			e := s.queue[0]
			s.queue[0] = Event{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			select {
			case s.ch <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return s.ch
}

func (s *subscriber) push(e Event) {
	s.mu.Lock()
	if !s.closed {
		s.queue = append(s.queue, e)
		s.cond.Signal()
	}
	s.mu.Unlock()
}

func (s *subscriber) close() {
	s.mu.Lock()
	s.closed = true
	s.cond.Signal()
	s.mu.Unlock()
}

func (b *broker) publish(e Event) {
	b.mu.Lock()
	for s := range b.subs {
		s.push(e)
	}
	b.mu.Unlock()
}

// close ends every subscription once its queue is delivered.
func (b *broker) close() {
	b.mu.Lock()
	b.closed = true
	for s := range b.subs {
		s.close()
	}
	b.subs = nil
	b.mu.Unlock()
}
