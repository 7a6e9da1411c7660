package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gocluster/cluster/internal/state"
)

// Load returns the entry of key. If the key is absent, exactly one loader
// runs in the whole cluster, in the first process that asks, while every
// other process asking for the key meanwhile waits for its result: the
// value is stored with ttl (0: no TTL) and returned to all of them. A
// loader's error is returned to every waiter (in other processes as a
// *RemoteError with its text) and nothing is stored, so the next Load
// tries again. If the loading process dies or its ctx ends, a waiter takes
// over and runs its own loader. loader is called on the caller's goroutine
// with the caller's ctx.
func (kv *KV) Load(ctx context.Context, key string, ttl time.Duration, loader func(context.Context) ([]byte, error)) (Entry, error) {
	if ttl < 0 {
		return Entry{}, &keyError{op: "load", key: key, err: fmt.Errorf("%w: negative TTL %v", ErrInvalidKV, ttl)}
	}
	for {
		if e, ok := kv.Get(key); ok {
			return e, nil
		}
		if err := ctx.Err(); err != nil {
			return Entry{}, &keyError{op: "load", key: key, err: err}
		}
		st, err := kv.b.beginLoad(ctx, key)
		if errors.Is(err, errLoadAborted) {
			continue // its leader is gone: this process may lead now
		}
		if err != nil {
			return Entry{}, &keyError{op: "load", key: key, err: err}
		}
		if st.have {
			return entryOf(st.entry), nil
		}
		return kv.lead(ctx, key, ttl, loader)
	}
}

// lead runs the loader of a load this process leads and stores its result.
func (kv *KV) lead(ctx context.Context, key string, ttl time.Duration, loader func(context.Context) ([]byte, error)) (Entry, error) {
	finished := false
	defer func() {
		if !finished { // the loader panicked: release the waiters, then go on panicking
			kv.b.finishLoad(key, nil, 0, errors.New("the loader panicked"))
		}
	}()
	value, lerr := loader(ctx)
	finished = true
	report := lerr
	if lerr != nil && loaderGaveUp(ctx, lerr) {
		report = state.ErrLoadAborted
	}
	rev, err := kv.b.finishLoad(key, value, ttl, report)
	if lerr != nil {
		return Entry{}, &keyError{op: "load", key: key, err: lerr}
	}
	if err != nil {
		return Entry{}, &keyError{op: "store the loaded value of", key: key, err: err}
	}
	if e, ok := kv.Get(key); ok && e.Rev == rev {
		return e, nil
	}
	return Entry{Key: key, Value: value, Rev: rev, Created: rev}, nil // already changed again
}
