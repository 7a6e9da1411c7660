package state

import "strconv"

// Op is the operation of an Event or a WatchEvent.
type Op uint8

// Operations. Their values are part of the wire encoding.
const (
	// OpPut sets a key (create or overwrite).
	OpPut Op = 1
	// OpDelete removes a key: an explicit delete, or the owner was dropped.
	OpDelete Op = 2
	// OpExpire removes a key whose deadline has passed.
	OpExpire Op = 3
	// OpSynced is the marker a Watcher delivers once, after the entries that
	// existed when it was registered and before any later change. It is
	// never part of an Event.
	OpSynced Op = 4
)

// String returns the lower-case name of op, as "put".
func (op Op) String() string {
	switch op {
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	case OpExpire:
		return "expire"
	case OpSynced:
		return "synced"
	}
	return "op(" + strconv.Itoa(int(op)) + ")"
}

// Entry is a key with its value and metadata, as read from a Replica.
type Entry struct {
	// Key is never empty.
	Key string
	// Value is read-only: it shares memory with the stored copy, which is
	// never modified. An empty value reads as nil.
	Value []byte
	// Rev is the revision of the last write of this key (mod revision).
	Rev uint64
	// Created is the revision at which the key was created; it is kept by
	// later writes until the key is deleted.
	Created uint64
	// Expires is the deadline in Unix nanoseconds, 0 for none.
	Expires int64
	// Owner is the id of the worker whose exit deletes the key, 0 for none.
	Owner uint64
}

// Event is one change of the store, with its revision. For OpPut it carries
// the whole new entry; for OpDelete and OpExpire only Op, Key and Rev matter.
type Event struct {
	Op      Op
	Key     string
	Value   []byte
	Rev     uint64
	Expires int64
	Owner   uint64
	Created uint64
	// Origin and Tag come from the Write that made the change (zero for
	// expiry and dropped owners); they are not part of the encoding.
	Origin, Tag uint64
}

// entry returns the entry an OpPut event stores.
func (ev *Event) entry() Entry {
	return Entry{
		Key:     ev.Key,
		Value:   ev.Value,
		Rev:     ev.Rev,
		Created: ev.Created,
		Expires: ev.Expires,
		Owner:   ev.Owner,
	}
}
