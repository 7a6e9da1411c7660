package state

import (
	"fmt"
	"time"
)

// Load coordination: when many processes want a missing key at once, one of
// them (the leader) computes the value and the others wait for it. The
// transport calls BeginLoad for every request and FinishLoad for the
// leader's result. Requester ids are worker ids, the same ids as owners, so
// that DropOwner aborts the loads of a worker that is gone.

type load struct {
	leader  uint64
	waiters doneList
}

// doneList is a set of BeginLoad callbacks, called outside the lock.
type doneList []func(Entry, error)

func (l doneList) run(e Entry, err error) {
	for _, done := range l {
		done(e, err)
	}
}

// BeginLoad starts or joins the load of key on behalf of requester:
//
//   - if the key exists, it returns (entry, true, false) and done is not
//     called;
//   - if no load of key is in flight, requester becomes its leader: it
//     returns (_, false, true), done is not called, and the requester must
//     compute the value and call FinishLoad;
//   - else it returns (_, false, false) and done will be called once, with
//     the stored entry or the load's error, when the leader finishes, or
//     with ErrLoadAborted if the leader is dropped, or ErrClosed on Close.
//
// For an invalid key or a closed store it returns (_, false, false) and
// calls done with the error before returning. done is never called with a
// lock held: it may call the Store and do I/O.
func (s *Store) BeginLoad(key string, requester uint64, done func(Entry, error)) (e Entry, have bool, lead bool) {
	if err := s.checkKey(key); err != nil {
		done(Entry{}, err)
		return Entry{}, false, false
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		done(Entry{}, ErrClosed)
		return Entry{}, false, false
	}
	if n := s.rep.m.get(key); n != nil {
		s.mu.Unlock()
		return n.entry(), true, false
	}
	if l := s.loads[key]; l != nil {
		l.waiters = append(l.waiters, done)
		s.mu.Unlock()
		return Entry{}, false, false
	}
	s.loads[key] = &load{leader: requester}
	s.mu.Unlock()
	return Entry{}, false, true
}

// FinishLoad ends the load of key that requester leads. With loadErr == nil
// it stores value like a KindPut write with ttl and no owner (an event is
// emitted), gives the stored entry to every waiter and returns the result.
// With loadErr != nil it stores nothing, gives loadErr as is to every waiter
// and returns (Result{}, nil). If the value cannot be stored (too large),
// the waiters get that error, which is also returned.
//
// It fails with ErrNotLeader, and changes nothing, if requester does not
// lead a load of key (the load may have been aborted by DropOwner), and
// with ErrClosed after Close (which already released the waiters).
func (s *Store) FinishLoad(key string, requester uint64, value []byte, ttl time.Duration, loadErr error) (Result, error) {
	w := Write{Kind: KindPut, Key: key, Value: value, TTL: ttl}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Result{}, ErrClosed
	}
	l := s.loads[key]
	if l == nil || l.leader != requester {
		s.mu.Unlock()
		return Result{}, fmt.Errorf("%w (requester %d)", ErrNotLeader, requester)
	}
	delete(s.loads, key)
	var res Result
	err := loadErr
	if err == nil {
		if err = s.check(w); err == nil {
			res, err = s.applyLocked(&w)
		}
	}
	var e Entry
	if err == nil {
		e, _ = s.rep.Get(key)
	}
	s.mu.Unlock()
	l.waiters.run(e, err)
	if loadErr != nil {
		return Result{}, nil
	}
	return res, err
}

// abortLoadsLocked ends the loads led by owner and returns their waiters.
func (s *Store) abortLoadsLocked(owner uint64) doneList {
	var calls doneList
	for key, l := range s.loads {
		if l.leader == owner {
			calls = append(calls, l.waiters...)
			delete(s.loads, key)
		}
	}
	return calls
}
