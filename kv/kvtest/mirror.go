package kvtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gocluster/cluster/kv"
)

// MirrorBackend is a [kv.Backend] on a [kv.Mirror] whose "remote store" is
// the test: it applies puts and deletes by replicating their changes (one
// revision each), refuses other writes and loads, and lets the test call
// Replicate and Reset itself. It is for tests of what sits on a remote
// Backend (a handle, the cluster's transport); Subscribe passes each sink
// through Wrap, if set, so that a test can watch or pace it.
type MirrorBackend struct {
	*kv.Mirror
	Wrap func(kv.Sink) kv.Sink

	mu sync.Mutex // orders the writes
}

// Subscribe subscribes sink (through Wrap) to the Mirror.
func (b *MirrorBackend) Subscribe(id uint64, sink kv.Sink) error {
	if b.Wrap != nil {
		sink = b.Wrap(sink)
	}
	return b.Mirror.Subscribe(id, sink)
}

// Apply makes the change of each put or delete and replicates it.
func (b *MirrorBackend) Apply(_ context.Context, ws []kv.Write, res []kv.Result, errs []error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, w := range ws {
		res[i], errs[i] = kv.Result{}, nil
		c := kv.Change{Op: kv.OpPut, Key: w.Key, Value: w.Value, Rev: b.Rev() + 1, Expires: w.Expires,
			Owner: w.Owner, Origin: w.Origin, Tag: w.Tag}
		switch _, ok := b.Get(w.Key); {
		case w.Kind == kv.WriteDelete && !ok:
			continue
		case w.Kind == kv.WriteDelete:
			c = kv.Change{Op: kv.OpDelete, Key: w.Key, Rev: c.Rev, Origin: w.Origin, Tag: w.Tag}
		case w.Kind != kv.WritePut:
			errs[i] = fmt.Errorf("kv: test mirror: %v: %w", w.Kind, kv.ErrInvalid)
			continue
		}
		b.Replicate([]kv.Change{c})
		res[i].Rev = c.Rev
	}
}

// BeginLoad refuses: the MirrorBackend has no loads.
func (b *MirrorBackend) BeginLoad(context.Context, string, uint64, func(kv.Entry, error)) (kv.Entry, bool, bool, error) {
	return kv.Entry{}, false, false, fmt.Errorf("kv: test mirror: no loads: %w", kv.ErrInvalid)
}

// FinishLoad refuses: the MirrorBackend has no loads.
func (b *MirrorBackend) FinishLoad(context.Context, string, uint64, []byte, time.Time, error) (uint64, error) {
	return 0, fmt.Errorf("kv: test mirror: no loads: %w", kv.ErrInvalid)
}

// DropOwner does nothing.
func (b *MirrorBackend) DropOwner(uint64) {}

// Close closes the Mirror.
func (b *MirrorBackend) Close() error { b.Mirror.Close(); return nil }
