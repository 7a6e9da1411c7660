package redis

import (
	"container/heap"
	"strconv"
	"time"

	"github.com/gocluster/cluster/kv"
)

// expiries are the deadlines of the keys this machine holds, earliest
// first. At a deadline the machine asks the store to expire the key (the
// write script's "x"): the first machine to ask logs the change, the
// others find it done.
type expiries []expiry

type expiry struct {
	at  time.Time
	key string
	rev uint64
}

func (h expiries) Len() int           { return len(h) }
func (h expiries) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiries) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiries) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiries) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (h *expiries) add(key string, rev uint64, at time.Time) {
	heap.Push(h, expiry{at: at, key: key, rev: rev})
}

// due pops the deadlines passed at now whose key is still at that
// revision here, and returns when the next one is due (zero: none).
func (h *expiries) due(now time.Time, m *kv.Mirror) (keys []expiry, next time.Time) {
	for h.Len() > 0 && !(*h)[0].at.After(now) {
		x := heap.Pop(h).(expiry)
		if e, ok := m.Get(x.key); ok && e.Rev == x.rev {
			keys = append(keys, x)
		}
	}
	if h.Len() > 0 {
		next = (*h)[0].at
	}
	return keys, next
}

// sweep expires keys at their deadlines until Close.
func (b *Backend) sweep() {
	defer b.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		b.mu.Lock()
		keys, next := b.exp.due(time.Now(), b.mirror)
		b.mu.Unlock()
		if len(keys) > 0 {
			b.expire(keys)
			continue
		}
		wait := 100 * time.Millisecond // new deadlines come with changes: look again soon
		if !next.IsZero() {
			wait = min(wait, max(time.Until(next), time.Millisecond))
		}
		t.Reset(wait)
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// expire asks the store to expire keys, 64 at a time; after a failure
// those left are tried again a second later.
func (b *Backend) expire(xs []expiry) {
	for len(xs) > 0 {
		n := min(len(xs), 64)
		keys := []string{b.k.meta, b.k.log}
		args := append(b.args(1+6*n), strconv.FormatInt(grace.Milliseconds(), 10))
		b.mu.Lock()
		last := strconv.FormatUint(b.last, 10)
		b.mu.Unlock()
		for _, x := range xs[:n] {
			keys = append(keys, b.k.data(x.key))
			args = append(args, "x", strconv.FormatUint(x.rev, 10), "0", last, "0", "")
		}
		if _, _, err := b.runWrite(b.ctx, keys, args, n); err != nil {
			b.log.Debug("redis: expiring keys; trying again in a second", "err", err)
			retry := time.Now().Add(time.Second)
			b.mu.Lock()
			for _, x := range xs {
				b.exp.add(x.key, x.rev, retry)
			}
			b.mu.Unlock()
			return
		}
		xs = xs[n:]
	}
}
