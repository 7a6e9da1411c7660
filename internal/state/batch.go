package state

// Batches. Changes reach a replica, and writes the store, in bursts: one
// read from a worker's channel carries many frames. Applied one by one, each
// key's cache misses (its slot, then its node) start only once the previous
// key is done, and once the store outgrows the CPU caches these misses are
// most of a write's cost. A batch first warms every key it will touch: the
// loads of one key do not depend on another's, so the CPU has them in flight
// together and the batch waits about as long as for one key.

// warm loads the slot and the node key hashes to and returns the node's
// hash (callers keep it, so that the loads are not optimized away).
func (m *hashMap) warm(key string) uint64 {
	t := m.cur.Load()
	if n := t.slots[t.home(m.hash(key))].Load(); n != nil {
		return n.hash
	}
	return 0
}

// ApplyBatch applies evs in order, as that many calls to Apply would, under
// one acquisition of the lock.
func (r *Replica) ApplyBatch(evs []Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var x uint64
	for i := range evs {
		x += r.m.warm(evs[i].Key)
	}
	r.m.warmed = x
	for i := range evs {
		if evs[i].Rev > r.rev.Load() {
			r.applyLocked(&evs[i])
		}
	}
}

// ApplyBatch performs ws in order, as that many calls to Apply would, and sets
// res[i] and errs[i] to what Apply would have returned for ws[i]. A write
// whose errs[i] is not nil on entry is skipped (the caller refused it) and
// keeps that error. res and errs must be at least as long as ws.
func (s *Store) ApplyBatch(ws []Write, res []Result, errs []error) {
	for i := range ws {
		res[i] = Result{}
		if errs[i] == nil {
			errs[i] = s.check(ws[i])
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var x uint64
	for i := range ws {
		x += s.rep.m.warm(ws[i].Key)
	}
	s.rep.m.warmed = x
	s.hold()
	defer s.release() // before the unlock: defers run last in, first out
	for i := range ws {
		switch {
		case errs[i] != nil:
		case s.closed:
			errs[i] = ErrClosed
		default:
			res[i], errs[i] = s.applyLocked(&ws[i])
		}
	}
}
