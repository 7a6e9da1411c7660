package redis

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gocluster/cluster/kv"
	"github.com/redis/rueidis"
)

// A load of a key in flight, seen from this machine: led here by a
// requester holding the store's lock (lock set), or led elsewhere (lock
// empty: this machine's requesters wait for the value to come through the
// log, or for the lock to go, then try again).
type load struct {
	leader  uint64
	lock    string
	waiters []func(kv.Entry, error)
}

// BeginLoad starts a load of key; see [kv.Backend.BeginLoad]. One load
// per key runs in the whole store: the first requester of the first
// machine to take the key's lock leads it; the others wait for its value.
func (b *Backend) BeginLoad(ctx context.Context, key string, requester uint64, done func(kv.Entry, error)) (kv.Entry, bool, bool, error) {
	switch {
	case b.isClosed():
		return kv.Entry{}, false, false, kv.ErrClosed
	case key == "" || len(key) > kv.MaxKeySize:
		return kv.Entry{}, false, false, kvErrorf(kv.ErrInvalid, "invalid load: key of %d bytes (1 to %d)", len(key), kv.MaxKeySize)
	}
	if e, ok := b.mirror.Get(key); ok && (e.Expires.IsZero() || e.Expires.After(time.Now())) {
		return e, true, false, nil
	}
	b.mu.Lock()
	if b.closed { // checked with the insert: Close aborts what it finds
		b.mu.Unlock()
		return kv.Entry{}, false, false, kv.ErrClosed
	}
	if l := b.loads[key]; l != nil {
		l.waiters = append(l.waiters, done)
		b.mu.Unlock()
		return kv.Entry{}, false, false, nil
	}
	l := &load{leader: requester}
	b.loads[key] = l
	machine := strconv.FormatUint(b.machine, 10)
	b.mu.Unlock()

	res, err := loadBeginScript.Exec(ctx, b.client, []string{b.k.data(key), b.k.lock(key), b.k.fence},
		[]string{machine, strconv.FormatInt(b.cfg.Lease.Milliseconds(), 10)}).ToArray()
	var what, arg string
	if err == nil && len(res) > 0 {
		what, _ = res[0].ToString()
		if len(res) > 1 {
			arg, _ = res[1].ToString()
		}
	}
	switch {
	case err != nil:
		err = unavailable("load", err)
		b.endLoad(key, l, kv.Entry{}, err)
		return kv.Entry{}, false, false, err
	case what == "h":
		e, err := parseEntry(key, arg)
		e.Owner = localOwner(e.Owner, b.machineNumber())
		b.endLoad(key, l, e, err)
		return e, err == nil, false, err
	case what == "l":
		b.mu.Lock()
		mine := b.loads[key] == l
		if mine {
			l.lock = arg
		}
		b.mu.Unlock()
		if !mine { // aborted while the script ran (Close, DropOwner): give the lock back
			b.releaseLock(key, arg, nil)
			return kv.Entry{}, false, false, kvErrorf(kv.ErrLoadAborted, "load %q: aborted while it started", key)
		}
		return kv.Entry{}, false, true, nil
	default: // another machine leads it
		b.mu.Lock()
		if b.loads[key] != l { // it ended while the script ran: its value landed, or its lock went
			b.mu.Unlock()
			if e, ok := b.mirror.Get(key); ok {
				return e, true, false, nil
			}
			return kv.Entry{}, false, false, kvErrorf(kv.ErrLoadAborted, "load %q: aborted: its leader went away", key)
		}
		l.leader = 0
		l.waiters = append(l.waiters, done)
		b.mu.Unlock()
		return kv.Entry{}, false, false, nil
	}
}

// FinishLoad ends the load of key that requester leads; see
// [kv.Backend.FinishLoad]. The value is stored only if this machine still
// holds the key's lock (a fencing token): a loader that paused past its
// lease, whose load another machine took over, gets [kv.ErrLoadAborted].
func (b *Backend) FinishLoad(ctx context.Context, key string, requester uint64, value []byte, expires time.Time, loadErr error) (uint64, error) {
	b.mu.Lock()
	l, machine, closed, from := b.loads[key], b.machine, b.closed, b.epoch
	b.mu.Unlock()
	switch {
	case closed:
		return 0, kv.ErrClosed
	case l == nil || l.leader != requester || l.lock == "":
		return 0, kvErrorf(kv.ErrLoadAborted, "load %q: aborted: not led by this requester", key)
	}
	if loadErr == nil {
		loadErr = b.limits.Check(key, value)
	}
	if loadErr != nil {
		b.releaseLock(key, l.lock, loadErr)
		b.endLoad(key, l, kv.Entry{}, loadErr)
		return 0, loadErr
	}
	keys := []string{b.k.meta, b.k.log, b.k.data(key)}
	args := append(b.args(7), strconv.FormatInt(grace.Milliseconds(), 10),
		"l", l.lock, pxat(expires), "0", strconv.FormatUint(machine<<40, 10), string(value))
	out, epoch, err := b.runWrite(ctx, keys, args, 1)
	var rev uint64
	if err == nil {
		rev, err = outcome(&kv.Write{Key: key}, out[0])
	}
	if err == nil {
		err = b.waitRev(ctx, rev, epoch, from) // its change gives the waiters the entry
	}
	if err != nil {
		b.releaseLock(key, l.lock, nil)
		b.endLoad(key, l, kv.Entry{}, err)
		return 0, err
	}
	return rev, nil
}

// endLoad removes l (if it is still key's load) and gives its waiters e
// or err (nil err and a zero e: kv.ErrLoadAborted).
func (b *Backend) endLoad(key string, l *load, e kv.Entry, err error) {
	b.mu.Lock()
	if b.loads[key] != l {
		b.mu.Unlock()
		return
	}
	delete(b.loads, key)
	ws := l.waiters
	b.mu.Unlock()
	if err == nil && e.Rev == 0 {
		err = kv.ErrLoadAborted
	}
	for _, done := range ws {
		done(e, err)
	}
}

// landed gives the waiters of loads whose key arrived their entry (cs: the
// changes just applied; nil: look at every load).
func (b *Backend) landed(cs []kv.Change) {
	type hit struct {
		key string
		l   *load
	}
	var hits []hit
	b.mu.Lock()
	if len(b.loads) > 0 {
		if cs == nil {
			for key, l := range b.loads {
				hits = append(hits, hit{key, l})
			}
		}
		for i := range cs {
			if l := b.loads[cs[i].Key]; l != nil && cs[i].Op == kv.OpPut {
				hits = append(hits, hit{cs[i].Key, l})
			}
		}
	}
	b.mu.Unlock()
	for _, h := range hits {
		if e, ok := b.mirror.Get(h.key); ok {
			b.endLoad(h.key, h.l, e, nil)
		}
	}
}

// abortLoads ends the loads match selects, releasing the locks held here;
// their waiters get err (nil: kv.ErrLoadAborted, and they try again).
func (b *Backend) abortLoads(match func(*load) bool, err error) {
	b.mu.Lock()
	var keys []string
	var ls []*load
	for key, l := range b.loads {
		if match(l) {
			keys, ls = append(keys, key), append(ls, l)
		}
	}
	b.mu.Unlock()
	for i, l := range ls {
		if l.lock != "" {
			b.releaseLock(keys[i], l.lock, nil)
		}
		b.endLoad(keys[i], l, kv.Entry{}, err)
	}
}

// extendLocks extends the locks of the loads led here.
func (b *Backend) extendLocks() {
	b.mu.Lock()
	var keys, locks []string
	for key, l := range b.loads {
		if l.lock != "" {
			keys, locks = append(keys, key), append(locks, l.lock)
		}
	}
	b.mu.Unlock()
	ms := strconv.FormatInt(b.cfg.Lease.Milliseconds(), 10)
	for i, key := range keys {
		_ = lockScript.Exec(b.ctx, b.client, []string{b.k.lock(key)}, []string{locks[i], ms, "", "0"}).Error()
	}
}

// remotePoll is how often the waiters of a load led on another machine
// look at its lock.
const remotePoll = 50 * time.Millisecond

// watchLoads ends, until Close, the waits for loads led elsewhere whose
// lock is gone: with the value if it came, with the leader's error if it
// left one, else with kv.ErrLoadAborted (its machine died: the waiters try
// again, and one of them leads).
func (b *Backend) watchLoads() {
	defer b.wg.Done()
	t := time.NewTicker(remotePoll)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		b.mu.Lock()
		var keys []string
		var ls []*load
		for key, l := range b.loads {
			if l.lock == "" && l.leader == 0 {
				keys, ls = append(keys, key), append(ls, l)
			}
		}
		b.mu.Unlock()
		for i, key := range keys {
			lock, err := b.client.Do(b.ctx, b.client.B().Get().Key(b.k.lock(key)).Build()).ToString()
			switch {
			case err != nil && !rueidis.IsRedisNil(err):
			case err == nil && strings.HasPrefix(lock, "!"):
				b.endLoad(key, ls[i], kv.Entry{}, leftError(lock[1:]))
			case err == nil:
			default:
				e, _ := b.mirror.Get(key) // zero if absent: ErrLoadAborted
				b.endLoad(key, ls[i], e, nil)
			}
		}
	}
}

// errHold is how long a failed load's error stays in its lock for the
// waiters on other machines.
const errHold = time.Second

// releaseLock deletes a load's lock if it is still lock, leaving loadErr
// in it for a moment if not nil.
func (b *Backend) releaseLock(key, lock string, loadErr error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.DialTimeout)
	defer cancel()
	msg := "" // none: the waiters elsewhere try again
	switch {
	case loadErr == nil, errors.Is(loadErr, kv.ErrLoadAborted):
	case errors.Is(loadErr, kv.ErrInvalid):
		msg = "i" + loadErr.Error()
	default:
		msg = "e" + loadErr.Error()
	}
	_ = lockScript.Exec(ctx, b.client, []string{b.k.lock(key)}, []string{lock, "0", msg, strconv.FormatInt(errHold.Milliseconds(), 10)}).Error()
}

func (b *Backend) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func (b *Backend) machineNumber() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.machine
}

// leftError is the error a failed load left in its lock: "i" and the text
// of an error matching kv.ErrInvalid, or "e" and another's.
func leftError(s string) error {
	if text, ok := strings.CutPrefix(s, "i"); ok {
		return &kvError{text: strings.TrimPrefix(text, "kv: "), err: kv.ErrInvalid}
	}
	return errors.New(strings.TrimPrefix(s, "e"))
}
