package state

import (
	"slices"
	"strings"
)

// Key returns the entry's key. It shares the stored copy's memory, which is
// never modified.
func (x Ref) Key() string { return x.n.key() }

// Entry returns the entry x refers to, as Get does.
func (x Ref) Entry() Entry { return x.n.entry() }

// Scan returns the entries whose key has the prefix, sorted by key, and the
// revision they stand for: the replica's content under the prefix at one
// revision, whatever is applied afterwards (stored entries are never
// modified, so the references stay valid). It holds the apply lock only to
// collect the references; the sort runs after. The empty prefix scans
// everything.
func (r *Replica) Scan(prefix string) (rev uint64, refs []Ref) {
	r.mu.Lock()
	if prefix == "" {
		refs = make([]Ref, 0, r.Len())
	}
	r.m.each(func(n *node) bool {
		if strings.HasPrefix(n.key(), prefix) {
			refs = append(refs, Ref{n})
		}
		return true
	})
	rev = r.rev.Load()
	r.mu.Unlock()
	slices.SortFunc(refs, func(a, b Ref) int { return strings.Compare(a.n.key(), b.n.key()) })
	return rev, refs
}
