package kv

import (
	"context"
	"strconv"

	"github.com/gocluster/cluster/internal/state"
)

// Op is what a [WatchEvent] or a [Change] reports.
type Op uint8

// Operations. Their values are part of the wire encoding.
const (
	// OpPut: the key was set (created or overwritten).
	OpPut Op = 1
	// OpDelete: the key was deleted, or its owner worker exited.
	OpDelete Op = 2
	// OpExpire: the key's TTL ran out.
	OpExpire Op = 3
	// OpSynced marks the end of the entries that existed when the watch
	// began; every event after it is a change. It is never a Change.
	OpSynced Op = 4
)

// String returns the operation's name: "put", "delete", "expire", "synced".
func (op Op) String() string {
	switch op {
	case OpPut, OpDelete, OpExpire, OpSynced:
		return state.Op(op).String()
	}
	return "Op(" + strconv.Itoa(int(op)) + ")"
}

// WatchEvent is one entry or change delivered by Watch.
type WatchEvent struct {
	Op  Op
	Key string
	// Value is the new value for OpPut (read-only), nil otherwise.
	Value []byte
	// Rev is the revision of the change, or of the entry's last write for
	// the entries delivered before OpSynced; for OpSynced, the revision the
	// entries stand for.
	Rev uint64
}

// Watch returns a channel that delivers every entry whose key starts with
// prefix (OpPut events, sorted by key), then one OpSynced event, then every
// later change of such a key, in revision order: what was and what changes,
// with nothing lost or seen twice in between. It reads this process's
// replica, so it costs no IPC. Events are queued for the reader without
// bound, so a slow reader never delays the replica; the channel is closed
// when ctx ends, and the reader must keep reading until then or cancel ctx.
func (kv *KV) Watch(ctx context.Context, prefix string) <-chan WatchEvent {
	w := kv.rep.Watch(prefix)
	out := make(chan WatchEvent)
	go func() {
		defer close(out)
		defer w.Close()
		for {
			select {
			case ev, ok := <-w.C():
				if !ok {
					return
				}
				select {
				case out <- WatchEvent{Op: Op(ev.Op), Key: ev.Key, Value: ev.Value, Rev: ev.Rev}:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
