// Package queue holds the first-in first-out queue without bound that the
// cluster uses wherever a producer must never wait for a consumer: event
// subscribers, received messages and state watchers.
package queue

import "sync"

// Unbounded is a first-in first-out queue without bound whose items are
// received from a channel, [Unbounded.C].
//
// Contract:
//
//   - Order: items are received in the order of the Push calls that queued
//     them (calls that do not happen one after the other are ordered as the
//     queue's lock takes them). Nothing is lost or received twice, except
//     what [Unbounded.Stop] drops.
//   - Push never waits for the consumer: it appends under a short lock.
//   - Goroutines: the queue runs at most one goroutine, the feeder, and only
//     while items are queued: it starts on the Push to an empty queue and
//     returns as soon as the queue is empty again, so an idle queue holds no
//     goroutine. It returns too on Stop, which waits for it.
//   - Close: Push refuses from then on; what was queued is still delivered,
//     then the channel is closed. Close does not wait for the consumer.
//   - Stop: Push refuses from then on; what was queued and not yet received
//     is dropped, the feeder returns, the channel is closed, and only then
//     does Stop return. A consumer that stops reading must Stop the queue,
//     or the feeder waits on its send for ever.
//
// The zero value is an empty queue delivering on an unbuffered channel made
// at first use; [New] sets another channel and a hook. An Unbounded must not
// be copied after first use.
type Unbounded[T any] struct {
	mu        sync.Mutex
	out       chan T
	delivered func(T)
	closed    func()
	items     []T // items[head:] are queued; items[head] is on its way while feeding
	head      int
	feeding   bool
	closing   bool          // Close or Stop was called: Push refuses
	stopped   bool          // Stop was called: drop what is queued
	outClosed bool          // out is closed
	abort     chan struct{} // closed by Stop
	feeders   sync.WaitGroup
}

// Config is what [New] sets on a queue beside its zero value.
type Config[T any] struct {
	// Out, if not nil, is the channel the queue delivers on, instead of an
	// unbuffered one of its own. The queue closes it on Close or Stop; its
	// owner may send on it directly only while nothing is queued (see
	// Delivered) and never after Close.
	Out chan T
	// Delivered, if not nil, is called on the feeder with each item right
	// after it was sent on the channel and taken off the queue, without the
	// queue's lock held. An owner that counts its pushes and Delivered calls
	// thus knows when nothing is queued nor on its way.
	Delivered func(T)
	// Closed, if not nil, is called once the channel is closed, without the
	// queue's lock held, on the goroutine that closed it (the feeder, or the
	// caller of Close or Stop).
	Closed func()
}

// New returns an empty queue set up by c.
func New[T any](c Config[T]) *Unbounded[T] {
	return &Unbounded[T]{out: c.Out, delivered: c.Delivered, closed: c.Closed}
}

// init makes the channels of a zero queue. q.mu is held.
func (q *Unbounded[T]) init() {
	if q.out == nil {
		q.out = make(chan T)
	}
	if q.abort == nil {
		q.abort = make(chan struct{})
	}
}

// C returns the channel the items are received from. It is closed after
// Close, once every item was received, or by Stop.
func (q *Unbounded[T]) C() <-chan T {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.init()
	return q.out
}

// Push queues v. It reports false, and queues nothing, after Close or Stop.
func (q *Unbounded[T]) Push(v T) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return false
	}
	q.add(v)
	q.start()
	return true
}

// PushAll queues vs, in order, with no other item between them. It reports
// false, and queues nothing, after Close or Stop.
func (q *Unbounded[T]) PushAll(vs []T) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return false
	}
	if len(vs) > 0 {
		q.add(vs...)
		q.start()
	}
	return true
}

// add appends vs, first moving the queue to the front of its array when
// that array is full and at least half of it is already delivered. q.mu is
// held.
func (q *Unbounded[T]) add(vs ...T) {
	if q.head > 0 && len(q.items)+len(vs) > cap(q.items) && q.head >= len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, vs...)
}

// start starts the feeder unless it runs. q.mu is held.
func (q *Unbounded[T]) start() {
	if q.feeding {
		return
	}
	q.init()
	q.feeding = true
	q.feeders.Add(1)
	go q.feed()
}

// Len returns the number of items queued, counting the one being sent
// until the feeder has taken it off after the send.
func (q *Unbounded[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head
}

// maxSpare bounds the capacity an empty queue keeps for reuse.
const maxSpare = 1024

// feed sends the queued items on q.out until the queue is empty or stopped.
// It takes an item off the queue only once it was sent, so that an empty
// queue means nothing is on its way.
func (q *Unbounded[T]) feed() {
	defer q.feeders.Done()
	q.mu.Lock()
	out, abort := q.out, q.abort
	for q.head < len(q.items) && !q.stopped {
		v := q.items[q.head]
		q.mu.Unlock()
		select {
		case out <- v:
		case <-abort:
			q.mu.Lock()
			continue // stopped
		}
		q.mu.Lock()
		if q.stopped {
			break
		}
		var zero T
		q.items[q.head] = zero
		q.head++
		if q.head == len(q.items) {
			q.head = 0
			q.items = q.items[:0]
			if cap(q.items) > maxSpare {
				q.items = nil
			}
		}
		if q.delivered != nil {
			q.mu.Unlock()
			q.delivered(v)
			q.mu.Lock()
		}
	}
	q.feeding = false
	closed := q.closing && !q.stopped && q.closeOut()
	q.mu.Unlock()
	if closed && q.closed != nil {
		q.closed()
	}
}

// closeOut closes q.out unless it is closed; it reports whether it did.
// q.mu is held.
func (q *Unbounded[T]) closeOut() bool {
	if q.outClosed {
		return false
	}
	q.init()
	q.outClosed = true
	close(q.out)
	return true
}

// Close makes Push refuse from now on and closes the channel once the items
// already queued were received. It does not wait; it may be called more
// than once, and after Stop.
func (q *Unbounded[T]) Close() {
	q.mu.Lock()
	q.closing = true
	closed := !q.feeding && q.closeOut()
	q.mu.Unlock()
	if closed && q.closed != nil {
		q.closed()
	}
}

// Stop makes Push refuse from now on, drops the items not yet received,
// waits for the feeder to return and closes the channel. It may be called
// more than once, from any goroutine but the Delivered and Closed hooks.
func (q *Unbounded[T]) Stop() {
	q.mu.Lock()
	q.init()
	q.closing = true
	if !q.stopped {
		q.stopped = true
		close(q.abort)
	}
	clear(q.items)
	q.items, q.head = nil, 0
	q.mu.Unlock()
	q.feeders.Wait()
	q.mu.Lock()
	closed := q.closeOut()
	q.mu.Unlock()
	if closed && q.closed != nil {
		q.closed()
	}
}
