package kv

import (
	"context"
	"time"
)

// A Syncer is a [Backend] whose store may have changes this process has
// not applied yet (a remote one): Sync returns the revision of the last
// change the store has made when it is called.
type Syncer interface {
	Sync(ctx context.Context) (rev uint64, err error)
}

// Sync returns once this handle's replica has applied every change the
// store had made when Sync was called: a read after it sees every write
// that returned, on any machine, before Sync was called (a linearizable
// read barrier, as etcd's). Get never waits; call Sync before a Get that
// must not miss a write made elsewhere a moment ago, as a session store
// does on a local miss. On the embedded store it returns at once; in a
// worker it is a round trip to the primary; on a remote Backend, one more
// to the store.
func (kv *KV) Sync(ctx context.Context) error {
	s, ok := kv.b.(Syncer)
	if !ok || kv.eng != nil {
		return nil
	}
	if err := inHandler(kv.b); err != nil {
		return &opError{op: "sync", err: err}
	}
	rev, err := s.Sync(ctx)
	if err != nil {
		return &opError{op: "sync", err: err}
	}
	return kv.waitRev(ctx, rev)
}

// waitRev returns once the replica is at rev or later.
func (kv *KV) waitRev(ctx context.Context, rev uint64) error {
	for d := 50 * time.Microsecond; kv.rep.Rev() < rev; d = min(2*d, 5*time.Millisecond) {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return &opError{op: "sync", err: ctx.Err()}
		case <-t.C:
		}
	}
	return nil
}
