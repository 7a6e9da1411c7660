package state

import "slices"

// DropOwner deletes every key owned by owner, each with its own OpDelete
// event, and aborts the loads that owner leads (their waiters get
// ErrLoadAborted). It returns the number of keys deleted. Its cost is in
// the number of keys of owner, not the size of the store.
func (s *Store) DropOwner(owner uint64) (n int) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0
	}
	if keys := s.owners[owner]; len(keys) > 0 && owner != 0 {
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		slices.Sort(sorted)
		for _, k := range sorted {
			if old := s.rep.m.get(k); old != nil && old.ownerID() == owner {
				s.removeLocked(old, OpDelete, nil)
				n++
			}
		}
		delete(s.owners, owner)
	}
	calls := s.abortLoadsLocked(owner)
	s.mu.Unlock()
	calls.run(Entry{}, ErrLoadAborted)
	return n
}

// disown removes key from the keys of owner.
func (s *Store) disown(owner uint64, key string) {
	if owner == 0 {
		return
	}
	if keys := s.owners[owner]; keys != nil {
		delete(keys, key)
		if len(keys) == 0 {
			delete(s.owners, owner)
		}
	}
}
