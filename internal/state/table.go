package state

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// The replica's index is an open-addressing hash table (linear probing)
// with one writer and any number of lock-free readers:
//
//   - A key's home slot is given by the top bits of its hash, so the homes
//     follow the order of the hashes whatever the size of the table: a
//     range of hashes is a run of slots in every table (see snapshot.go).
//   - A slot holds an atomic pointer to an immutable node. A write of an
//     existing key stores a new node in its slot; a delete stores the
//     tombstone; an insert fills a tombstone or an empty slot of the probe
//     sequence. Readers see either the old or the new node.
//   - A table that would become too full (live keys plus tombstones) is
//     rebuilt into a fresh table that is published with one atomic store.
//     The writer never touches a table again once its successor is
//     published, so a reader that still walks it sees a frozen past state.
//   - Every table keeps empty slots, and empty slots only fill up, so every
//     probe ends.
//
// Against sync.Map (a hash-trie: one dependent cache miss per level) and
// maps sharded under RWMutexes (readers write the lock word), this costs one
// miss for the slot and one for the node: a node keeps a short key inline
// and its value apart (see node), so the key comparison does not chase
// another pointer and the nodes of many keys fit the CPU caches.

type table struct {
	slots []atomic.Pointer[node]
	mask  uint64
	shift uint8 // 64 - log2(len(slots)): a hash's home is hash >> shift
}

func newTable(size int) *table {
	return &table{slots: make([]atomic.Pointer[node], size), mask: uint64(size - 1),
		shift: uint8(64 - bits.TrailingZeros(uint(size)))}
}

// home returns the slot where the probe for hash h starts.
func (t *table) home(h uint64) uint64 { return h >> (t.shift & 63) } // & 63: one instruction

// find returns the node of key in t, or nil.
func (t *table) find(h uint64, key string) *node {
	for i := t.home(h); ; i = (i + 1) & t.mask {
		n := t.slots[i].Load()
		if n == nil {
			return nil
		}
		if n.hash == h && n.has(key) {
			return n
		}
	}
}

// insert puts n into t, which is not published yet, replacing a node of the
// same key. It reports whether the key is new.
func (t *table) insert(n *node) bool {
	for i := t.home(n.hash); ; i = (i + 1) & t.mask {
		c := t.slots[i].Load()
		if c == nil {
			t.slots[i].Store(n)
			return true
		}
		if c.hash == n.hash && c.has(n.key()) {
			t.slots[i].Store(n)
			return false
		}
	}
}

// hashMap is the table with its writer's bookkeeping. Reads are lock-free;
// writes must be serialized by the caller.
type hashMap struct {
	seed maphash.Seed
	cur  atomic.Pointer[table]
	live atomic.Int64 // nodes in cur
	used int          // nodes plus tombstones in cur

	warmed uint64 // what warm loaded, written by the writer (see batch.go)
}

func (m *hashMap) init() {
	m.seed = maphash.MakeSeed()
	m.cur.Store(newTable(8))
}

func (m *hashMap) hash(key string) uint64 { return maphash.String(m.seed, key) }

// get returns the node of key, or nil. It is safe concurrently with writes.
func (m *hashMap) get(key string) *node {
	return m.cur.Load().find(m.hash(key), key)
}

// put stores e (Value copied) and returns the new node and the one it
// replaced (nil if the key was absent). A zero e.Created becomes the Created
// of the replaced node, or e.Rev for a new key.
func (m *hashMap) put(e Entry) (n, old *node) {
	h := m.hash(e.Key)
	t := m.cur.Load()
	free := -1
	i := t.home(h)
	for ; ; i = (i + 1) & t.mask {
		c := t.slots[i].Load()
		if c == nil {
			break
		}
		if c == tombstone {
			if free < 0 {
				free = int(i)
			}
			continue
		}
		if c.hash == h && c.has(e.Key) {
			if e.Created == 0 {
				e.Created = c.created
			}
			n = newNode(h, e)
			t.slots[i].Store(n)
			return n, c
		}
	}
	if e.Created == 0 {
		e.Created = e.Rev
	}
	n = newNode(h, e)
	switch {
	case free >= 0:
		t.slots[free].Store(n)
	case (m.used+1)*8 > len(t.slots)*5:
		m.rebuild(t, n) // over 5/8 full: grow, or just sweep tombstones
		m.live.Add(1)
		return n, nil
	default:
		t.slots[i].Store(n)
		m.used++
	}
	m.live.Add(1)
	return n, nil
}

// remove deletes key and returns its node, or nil if it was absent.
func (m *hashMap) remove(key string) *node {
	h := m.hash(key)
	t := m.cur.Load()
	for i := t.home(h); ; i = (i + 1) & t.mask {
		c := t.slots[i].Load()
		if c == nil {
			return nil
		}
		if c.hash == h && c.has(key) {
			t.slots[i].Store(tombstone)
			m.live.Add(-1)
			return c
		}
	}
}

// sizeFor returns the table size for n keys: a power of two at least 8 and
// at least twice n.
func sizeFor(n int) int {
	size := 8
	for size < 2*n {
		size <<= 1
	}
	return size
}

// rebuild publishes a fresh table with the nodes of t plus extra.
func (m *hashMap) rebuild(t *table, extra *node) {
	nt := newTable(sizeFor(int(m.live.Load()) + 1))
	for i := range t.slots {
		if c := t.slots[i].Load(); c != nil && c != tombstone {
			nt.insert(c)
		}
	}
	nt.insert(extra)
	m.used = int(m.live.Load()) + 1
	m.cur.Store(nt)
}

// build returns an unpublished table holding entries (Values copied; of
// duplicate keys the last wins) and the number of distinct keys.
func (m *hashMap) build(entries []Entry) (*table, int) {
	t := newTable(sizeFor(len(entries)))
	count := 0
	for i := range entries {
		e := entries[i]
		h := m.hash(e.Key)
		if t.insert(newNode(h, e)) {
			count++
		}
	}
	return t, count
}

// publish makes t, built by build with count keys, the current table.
func (m *hashMap) publish(t *table, count int) {
	m.used = count
	m.live.Store(int64(count))
	m.cur.Store(t)
}

// each calls fn for every node of the current table until fn returns false.
// The caller must exclude writers.
func (m *hashMap) each(fn func(*node) bool) {
	t := m.cur.Load()
	for i := range t.slots {
		if c := t.slots[i].Load(); c != nil && c != tombstone && !fn(c) {
			return
		}
	}
}
