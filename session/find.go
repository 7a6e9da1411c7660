package session

import (
	"context"
	"time"

	"github.com/gocluster/cluster/kv"
)

// find returns the entry of key if it is live: from this process's
// replica, or, on a miss there (no entry, or one past its deadline), from
// the replica again after [kv.KV.Sync], so that a write made elsewhere a
// moment ago is not taken for a missing session. A hit costs no IPC.
func find(ctx context.Context, store *kv.KV, key string) (kv.Entry, bool, error) {
	if e, ok := live(store, key); ok {
		return e, true, nil
	}
	if key == "" || len(key) > kv.MaxKeySize {
		return kv.Entry{}, false, nil // no store holds it: no need to ask
	}
	if err := store.Sync(ctx); err != nil {
		return kv.Entry{}, false, err
	}
	e, ok := live(store, key)
	return e, ok, nil
}

// live returns the entry of key from the replica unless it is absent or its
// deadline has passed (the store's expiry may not have reached the replica
// yet).
func live(store *kv.KV, key string) (kv.Entry, bool) {
	e, ok := store.Get(key)
	if !ok || expired(e, time.Now()) {
		return kv.Entry{}, false
	}
	return e, true
}

// expired reports whether e's deadline is at or before now.
func expired(e kv.Entry, now time.Time) bool {
	return !e.Expires.IsZero() && !e.Expires.After(now)
}
