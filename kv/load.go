package kv

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Load returns the entry of key. If the key is absent, exactly one loader
// runs in the whole cluster, in the first process that asks, while every
// other process asking for the key meanwhile waits for its result: the
// value is stored with ttl (0: no TTL) and returned to all of them. A
// loader's error is returned to every waiter (in other processes, an error
// with its text) and nothing is stored, so the next Load
// tries again. If the loading process dies or its ctx ends, a waiter takes
// over and runs its own loader. loader is called on the caller's goroutine
// with the caller's ctx.
func (kv *KV) Load(ctx context.Context, key string, ttl time.Duration, loader func(context.Context) ([]byte, error)) (Entry, error) {
	if ttl < 0 {
		return Entry{}, &keyError{op: "load", key: key, err: fmt.Errorf("%w: negative TTL %v", ErrInvalid, ttl)}
	}
	for {
		if e, ok := kv.Get(key); ok {
			return e, nil
		}
		if err := ctx.Err(); err != nil {
			return Entry{}, &keyError{op: "load", key: key, err: err}
		}
		e, err := kv.beginLoad(ctx, key)
		if errors.Is(err, ErrLoadAborted) {
			continue // its leader is gone: this process may lead now
		}
		if err != nil {
			return Entry{}, &keyError{op: "load", key: key, err: err}
		}
		if e.Rev != 0 {
			return e, nil
		}
		return kv.lead(ctx, key, ttl, loader)
	}
}

// beginLoad asks the Backend for key: its entry (Rev != 0), or a zero Entry
// if this process leads the load.
func (kv *KV) beginLoad(ctx context.Context, key string) (Entry, error) {
	if err := inHandler(kv.b); err != nil {
		return Entry{}, err
	}
	type result struct {
		e   Entry
		err error
	}
	ch := make(chan result, 1)
	e, have, lead, err := kv.b.BeginLoad(ctx, key, handleID, func(e Entry, err error) { ch <- result{e, err} })
	switch {
	case err != nil:
		return Entry{}, err
	case have:
		return e, nil
	case lead:
		return Entry{}, nil
	}
	select {
	case r := <-ch:
		return r.e, r.err
	case <-ctx.Done():
		return Entry{}, ctx.Err()
	}
}

// lead runs the loader of a load this process leads and stores its result.
func (kv *KV) lead(ctx context.Context, key string, ttl time.Duration, loader func(context.Context) ([]byte, error)) (Entry, error) {
	finished := false
	defer func() {
		if !finished { // the loader panicked: release the waiters, then go on panicking
			kv.finishLoad(key, nil, 0, errors.New("the loader panicked"))
		}
	}()
	value, lerr := loader(ctx)
	finished = true
	report := lerr
	if lerr != nil && loaderGaveUp(ctx, lerr) {
		report = ErrLoadAborted
	}
	rev, err := kv.finishLoad(key, value, ttl, report)
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

// finishLoad reports the end of a load this process leads. It is not bound
// by the caller's ctx: the waiters of every process depend on it.
func (kv *KV) finishLoad(key string, value []byte, ttl time.Duration, loadErr error) (uint64, error) {
	var expires time.Time
	if ttl > 0 {
		expires = time.Now().Add(ttl)
	}
	return kv.b.FinishLoad(context.Background(), key, handleID, value, expires, loadErr)
}

// loaderGaveUp reports whether err is the loader giving up because its own
// context ended: the waiters then try again instead of failing.
func loaderGaveUp(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
