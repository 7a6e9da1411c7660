package state

import (
	"strings"
	"unsafe"
)

// node is an immutable stored entry. A node whose key and value are short
// is allocated together with them, in one object: a nodeN holds the node
// and, right after it, the key bytes then the value bytes, and e.Key and
// e.Value point there. One allocation per write instead of two (or three,
// with a new key), and the key a lookup compares lies in the object the
// lookup loads anyway. Longer entries keep their key and value apart.
type node struct {
	hash uint64
	e    Entry
}

// The inline sizes fill Go's 128-, 192- and 320-byte size classes exactly
// (a node is 80 bytes), so no class is rounded up to the next.
type (
	node48 struct {
		node
		buf [48]byte
	}
	node112 struct {
		node
		buf [112]byte
	}
	node240 struct {
		node
		buf [240]byte
	}
)

// maxInline is the most key and value bytes a node holds inline.
const maxInline = 240

// tombstone marks the slot of a deleted key.
var tombstone = new(node)

// newNode builds the node of e with hash h, copying e.Key and e.Value (the
// caller's may alias a buffer it reuses).
func newNode(h uint64, e Entry) *node {
	key, val := e.Key, e.Value
	size := len(key) + len(val)
	var n *node
	var buf []byte
	switch {
	case size <= 48 || len(key) <= 48 && size > maxInline:
		x := new(node48) // all inline, or just the key
		n, buf = &x.node, x.buf[:]
	case size <= 112:
		x := new(node112)
		n, buf = &x.node, x.buf[:]
	case size <= maxInline:
		x := new(node240)
		n, buf = &x.node, x.buf[:]
	default:
		n = &node{}
	}
	n.hash, n.e = h, e
	if buf == nil {
		n.e.Key = strings.Clone(key)
	} else {
		copy(buf, key)
		n.e.Key = unsafe.String(&buf[0], len(key)) // buf is never written again
	}
	n.e.Value = nil
	switch k := len(key); {
	case len(val) == 0:
	case size <= maxInline:
		end := k + copy(buf[k:], val)
		n.e.Value = buf[k:end:end]
	default:
		n.e.Value = append(make([]byte, 0, len(val)), val...)
	}
	return n
}

// has reports whether n stores key.
func (n *node) has(key string) bool {
	return n != tombstone && n.e.Key == key
}
