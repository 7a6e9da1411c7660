package state

import (
	"strings"
	"unsafe"
)

// node is an immutable stored entry, laid out for lookups: a lookup reads
// the node's fields and compares its key, and with a key of up to 16 bytes
// the node is one 64-byte object, one cache line. The value lives in its own
// allocation, which a lookup never reads (Get hands out a slice of it), so
// the memory that lookups touch stays a fraction of the data: with 100,000
// keys it fits the CPU caches where nodes holding their values would not.
//
// The key is inline, right after the fields, in one of a few sizes of node;
// a longer key, and the rarely set Expires and Owner, are in a side record.
// Neither the key nor the value bytes are written once newNode returns.
type node struct {
	hash    uint64
	rev     uint64
	created uint64
	more    *nodeMore      // nil: no TTL, no owner, the key inline
	value   unsafe.Pointer // first byte of the value; nil if empty
	vlen    uint32
	klen    uint32 // bytes of key inline; 0 when the key is in more
}

// nodeMore holds what most entries do not have.
type nodeMore struct {
	expires int64
	owner   uint64
	key     string // set when too long to be inline
}

// The node sizes: the fields are 48 bytes, so these fill Go's 64-, 96- and
// 128-byte size classes exactly.
type (
	node16 struct {
		node
		key [16]byte
	}
	node48 struct {
		node
		key [48]byte
	}
	node80 struct {
		node
		key [80]byte
	}
)

// tombstone marks the slot of a deleted key.
var tombstone = new(node)

// newNode builds the node of e with hash h, copying e.Key and e.Value (the
// caller's may alias a buffer it reuses).
func newNode(h uint64, e Entry) *node {
	var n *node
	var buf []byte
	switch k := len(e.Key); {
	case k <= 16:
		x := new(node16)
		n, buf = &x.node, x.key[:]
	case k <= 48:
		x := new(node48)
		n, buf = &x.node, x.key[:]
	case k <= 80:
		x := new(node80)
		n, buf = &x.node, x.key[:]
	default:
		n = new(node)
	}
	n.hash, n.rev, n.created = h, e.Rev, e.Created
	if buf != nil {
		n.klen = uint32(copy(buf, e.Key))
	}
	if buf == nil || e.Expires != 0 || e.Owner != 0 {
		n.more = &nodeMore{expires: e.Expires, owner: e.Owner}
		if buf == nil {
			n.more.key = strings.Clone(e.Key)
		}
	}
	if len(e.Value) > 0 {
		v := make([]byte, len(e.Value))
		copy(v, e.Value)
		n.value, n.vlen = unsafe.Pointer(&v[0]), uint32(len(v))
	}
	return n
}

// key returns the stored key; it shares the node's memory.
func (n *node) key() string {
	if n.klen == 0 {
		if n.more == nil {
			return "" // the tombstone
		}
		return n.more.key
	}
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(n), unsafe.Sizeof(node{}))), n.klen)
}

// val returns the stored value, nil if empty. Its capacity is its length.
func (n *node) val() []byte {
	if n.vlen == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(n.value), n.vlen)
}

// expiry returns the deadline in Unix nanoseconds, 0 for none.
func (n *node) expiry() int64 {
	if n.more == nil {
		return 0
	}
	return n.more.expires
}

// ownerID returns the owner, 0 for none.
func (n *node) ownerID() uint64 {
	if n.more == nil {
		return 0
	}
	return n.more.owner
}

// entry returns the node as an Entry (no copy).
func (n *node) entry() (e Entry) {
	n.fill(&e)
	return e
}

// fill sets every field of e from n. Field by field, not as one composite
// literal: the compiler builds a literal on the stack and copies it with
// wider loads than the stores that built it, and a load that spans two
// earlier stores waits for them (measured: 8 ns more per Get, and much
// more once the node is a cache miss).
func (n *node) fill(e *Entry) {
	e.Key = n.key()
	e.Value = n.val()
	e.Rev, e.Created = n.rev, n.created
	e.Expires, e.Owner = 0, 0
	if m := n.more; m != nil {
		e.Expires, e.Owner = m.expires, m.owner
	}
}

// has reports whether n stores key.
func (n *node) has(key string) bool {
	return n != tombstone && n.key() == key
}
