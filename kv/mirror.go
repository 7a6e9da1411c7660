package kv

import (
	"sync"

	"github.com/gocluster/cluster/internal/state"
)

// Mirror is the copy of a remote store that a remote [Backend] keeps in
// the one process of a machine that talks to the store (a cluster's
// primary). The Backend feeds it the store's changes in revision order
// ([Mirror.Replicate]), or a whole fresh content when it cannot have them
// one by one ([Mirror.Reset]); the Mirror hands them to every [Sink]
// subscribed (its Subscribe and Unsubscribe are the Backend's, with the
// [Engine]'s pacing and guarantees). A [KV] on a Backend whose Mirror method
// returns one reads it directly, as it reads an Engine. Create it with
// [NewMirror]; its methods may be called from any goroutine, Replicate and
// Reset from one at a time.
type Mirror struct {
	hub
	evs []state.Event // Replicate's batch; used under mu
	ens []state.Entry // Reset's content
	mu  sync.Mutex    // orders Replicate and Reset
}

// NewMirror returns an empty Mirror at revision 0.
func NewMirror() *Mirror {
	return &Mirror{hub: newHub(state.NewStore(state.StoreOptions{}))}
}

// Replicate applies changes the store made, in revision order, and hands
// them to the subscribed Sinks together. A change at or below [Mirror.Rev]
// was applied already and is skipped; the caller makes sure no revision is
// missing (or calls Reset). Each change keeps its Created, Expires, Owner,
// Origin and Tag. Values are copied.
func (m *Mirror) Replicate(cs []Change) {
	m.mu.Lock()
	defer m.mu.Unlock()
	evs := m.evs[:0]
	for i := range cs {
		evs = append(evs, stateEvent(&cs[i]))
		evs[i].Origin, evs[i].Tag = cs[i].Origin, cs[i].Tag
	}
	m.s.Replicate(evs)
	clear(evs)
	m.evs = evs[:0]
}

// Reset replaces the content with entries, the store's whole content at
// revision rev (which may be below Rev, after the store lost data). Every
// subscribed Sink gets it as a fresh content (see [Sink.Reset]); watchers
// of a KV on the Mirror see the difference. Values are copied.
func (m *Mirror) Reset(rev uint64, entries []Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ens := m.ens[:0]
	for _, e := range entries {
		ens = append(ens, stateEntry(e))
	}
	m.s.Reset(rev, ens)
	clear(ens)
	m.ens = ens[:0]
}

// Get returns the entry of key.
func (m *Mirror) Get(key string) (Entry, bool) {
	se, ok := m.s.Replica().Get(key)
	return entryOf(se), ok
}

// Rev returns the revision of the last change applied.
func (m *Mirror) Rev() uint64 { return m.s.Rev() }

// Len returns how many keys the Mirror holds.
func (m *Mirror) Len() int { return m.s.Replica().Len() }

// Entries returns every entry and the revision they stand for. The values
// are read-only.
func (m *Mirror) Entries() (rev uint64, entries []Entry) {
	rev, ses := m.s.Replica().Entries()
	entries = make([]Entry, len(ses))
	for i, se := range ses {
		entries[i] = entryOf(se)
	}
	return rev, entries
}

// Close ends every subscription; later Subscribes fail with [ErrClosed].
// The content stays readable.
func (m *Mirror) Close() { m.close() }

// mirrored is a Backend built on a Mirror, which a KV reads directly.
type mirrored interface{ Mirror() *Mirror }

// stateEntry is e as a replica stores it.
func stateEntry(e Entry) state.Entry {
	se := state.Entry{Key: e.Key, Value: e.Value, Rev: e.Rev, Created: e.Created, Owner: e.Owner}
	if !e.Expires.IsZero() {
		se.Expires = e.Expires.UnixNano()
	}
	return se
}
