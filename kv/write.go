package kv

import (
	"context"
	"fmt"
	"time"
)

// WriteOption changes how a write is done: see [WithTTL] and
// [OwnedByWorker].
type WriteOption struct{ apply func(*writeOptions) }

type writeOptions struct {
	ttl   time.Duration
	owned bool
}

// WithTTL makes the key expire d after the write (the store deletes it and
// every replica sees an [OpExpire] change). Without it a write clears the
// key's TTL, as Redis's SET does.
func WithTTL(d time.Duration) WriteOption {
	return WriteOption{func(o *writeOptions) { o.ttl = d }}
}

// OwnedByWorker ties the key to the worker that writes it: when that worker
// process exits, for whatever reason, the primary deletes the key. In the
// primary it has no effect. A later write without it makes the key
// ownerless.
func OwnedByWorker() WriteOption {
	return WriteOption{func(o *writeOptions) { o.owned = true }}
}

// Put sets key to value and returns the revision of the write; see
// [WithTTL] and [OwnedByWorker]. Like every write it gives up when ctx
// ends: if ctx is done already nothing is sent; if it ends while the write
// is on its way to the primary, the write may still be applied (the
// returned error wraps ctx's).
func (kv *KV) Put(ctx context.Context, key string, value []byte, opts ...WriteOption) (uint64, error) {
	return kv.do(ctx, Write{Kind: WritePut, Key: key, Value: value}, opts)
}

// Create sets key to value only if key is absent; otherwise it fails with
// an error wrapping [ErrExists].
func (kv *KV) Create(ctx context.Context, key string, value []byte, opts ...WriteOption) (uint64, error) {
	return kv.do(ctx, Write{Kind: WriteCreate, Key: key, Value: value}, opts)
}

// Update sets key to value only if the key's revision is still lastRev
// (compare-and-set); otherwise, or if the key is absent, it fails with an
// error wrapping [ErrConflict] and writes nothing.
func (kv *KV) Update(ctx context.Context, key string, value []byte, lastRev uint64, opts ...WriteOption) (uint64, error) {
	return kv.do(ctx, Write{Kind: WriteUpdate, Key: key, Value: value, PrevRev: lastRev}, opts)
}

// Delete removes key and returns the revision of the delete, or 0 (and no
// error) if the key was absent.
func (kv *KV) Delete(ctx context.Context, key string) (uint64, error) {
	return kv.do(ctx, Write{Kind: WriteDelete, Key: key}, nil)
}

// oneWriter is a Backend with a path for one write that costs no batch.
type oneWriter interface {
	ApplyOne(ctx context.Context, w Write) (Result, error)
}

func (kv *KV) do(ctx context.Context, w Write, opts []WriteOption) (uint64, error) {
	if len(opts) > 0 {
		var o writeOptions
		for _, opt := range opts {
			if opt.apply != nil {
				opt.apply(&o)
			}
		}
		if o.ttl < 0 {
			return 0, &keyError{op: w.Kind.String(), key: w.Key, err: fmt.Errorf("%w: negative TTL %v", ErrInvalid, o.ttl)}
		}
		if o.ttl > 0 {
			w.Expires = time.Now().Add(o.ttl)
		}
		if o.owned {
			w.Owner = kv.owner
		}
	}
	err := ctx.Err()
	var res Result
	if err == nil {
		res, err = kv.apply(ctx, w)
	}
	if err != nil {
		return 0, &keyError{op: w.Kind.String(), key: w.Key, err: err}
	}
	return res.Rev, nil
}

// apply sends one write to the Backend.
func (kv *KV) apply(ctx context.Context, w Write) (Result, error) {
	switch {
	case kv.eng != nil:
		return kv.eng.apply(&w)
	case kv.one != nil:
		return kv.one.ApplyOne(ctx, w) // by value: a pointer would move w to the heap
	}
	if err := inHandler(kv.b); err != nil {
		return Result{}, err
	}
	ws, res, errs := []Write{w}, make([]Result, 1), make([]error, 1)
	kv.b.Apply(ctx, ws, res, errs)
	return res[0], errs[0]
}
