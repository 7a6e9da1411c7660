package state

import "unsafe"

// node is an immutable stored entry, in one allocation without pointers: the
// fixed fields below, then the key bytes, then the value bytes. Without
// pointers the garbage collector never scans the nodes; with the key right
// after the fields, a lookup of a key of up to 16 bytes reads one cache line
// of the node (a 64-byte line holds the 48 bytes of fields and the key),
// and a write allocates once (a 10-byte key with a 60-byte value fits Go's
// 128-byte class).
//
// Entry's Key and Value are made over the node's bytes (see entry), which
// are never written once newNode returns.
type node struct {
	hash    uint64
	rev     uint64
	created uint64
	expires int64
	owner   uint64
	klen    uint32
	vlen    uint32
}

// nodeSize is the size of the fixed fields; the key starts there.
const nodeSize = unsafe.Sizeof(node{})

// tombstone marks the slot of a deleted key.
var tombstone = new(node)

// newNode builds the node of e with hash h, copying e.Key and e.Value (the
// caller's may alias a buffer it reuses).
func newNode(h uint64, e Entry) *node {
	// A []byte is allocated without pointers and, being at least nodeSize
	// long, in a size class aligned to at least 16 bytes.
	size := int(nodeSize) + len(e.Key) + len(e.Value)
	buf := make([]byte, size)
	n := (*node)(unsafe.Pointer(&buf[0]))
	*n = node{hash: h, rev: e.Rev, created: e.Created, expires: e.Expires, owner: e.Owner,
		klen: uint32(len(e.Key)), vlen: uint32(len(e.Value))}
	k := copy(buf[nodeSize:], e.Key)
	copy(buf[int(nodeSize)+k:], e.Value)
	return n
}

// at returns the address of the byte at off after the fixed fields.
func (n *node) at(off uint32) *byte {
	return (*byte)(unsafe.Add(unsafe.Pointer(n), uintptr(nodeSize)+uintptr(off)))
}

// key returns the stored key; it shares the node's memory.
func (n *node) key() string {
	if n.klen == 0 {
		return ""
	}
	return unsafe.String(n.at(0), n.klen)
}

// value returns the stored value, nil if empty; it shares the node's memory
// and its capacity is its length.
func (n *node) value() []byte {
	if n.vlen == 0 {
		return nil
	}
	return unsafe.Slice(n.at(n.klen), n.vlen)
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
	e.Value = n.value()
	e.Rev, e.Created, e.Expires, e.Owner = n.rev, n.created, n.expires, n.owner
}

// has reports whether n stores key.
func (n *node) has(key string) bool {
	return uint32(len(key)) == n.klen && n != tombstone && n.key() == key
}
