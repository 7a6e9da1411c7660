package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/cluster/internal/state"
)

// primaryLoader is the requester id of loads run in the primary's own
// process (worker owner ids count up from 1).
const primaryLoader = math.MaxUint64

var storeOnce struct {
	sync.Once
	s *state.Store
}

// processStore returns the store this process holds: the primary's (the
// state outlives every worker) or, outside a cluster, the program's own.
func processStore() *state.Store {
	storeOnce.Do(func() { storeOnce.s = state.NewStore(state.StoreOptions{}) })
	return storeOnce.s
}

// kvFrameLimit is the smallest Config.MaxMessageSize of the primaries in
// this process (0: none yet): every change must fit one frame to reach the
// workers, so it bounds values beside MaxValueSize.
var kvFrameLimit atomic.Int64

// frameOverhead bounds what a change frame adds to its key and value.
const frameOverhead = 64

// limitKVFrames lowers kvFrameLimit to max (a new primary's MaxMessageSize).
func limitKVFrames(max int) {
	for {
		cur := kvFrameLimit.Load()
		if cur != 0 && cur <= int64(max) || kvFrameLimit.CompareAndSwap(cur, int64(max)) {
			return
		}
	}
}

// checkFrame fails a write whose change would not fit a frame.
func checkFrame(key string, value []byte) error {
	limit := kvFrameLimit.Load()
	if n := len(key) + len(value) + frameOverhead; limit != 0 && int64(n) > limit {
		return fmt.Errorf("%w: key and value of %d bytes do not fit a message of Config.MaxMessageSize (%d)",
			ErrInvalidKV, len(key)+len(value), limit)
	}
	return nil
}

// localBackend writes to and loads from the store in this process.
type localBackend struct{}

func (localBackend) write(_ context.Context, w state.Write) (uint64, error) {
	if err := checkFrame(w.Key, w.Value); err != nil {
		return 0, err
	}
	w.Owner = 0 // only workers own keys
	res, err := processStore().Apply(w)
	return res.Rev, storeError(err)
}

type loadResult struct {
	e   state.Entry
	err error
}

func (localBackend) beginLoad(ctx context.Context, key string) (loadStart, error) {
	ch := make(chan loadResult, 1)
	e, have, lead := processStore().BeginLoad(key, primaryLoader, func(e state.Entry, err error) {
		ch <- loadResult{e, err}
	})
	switch {
	case have:
		return loadStart{have: true, entry: e}, nil
	case lead:
		return loadStart{lead: true}, nil
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return loadStart{}, storeError(r.err)
		}
		return loadStart{have: true, entry: r.e}, nil
	case <-ctx.Done():
		return loadStart{}, ctx.Err()
	}
}

func (localBackend) finishLoad(key string, value []byte, ttl time.Duration, loadErr error) (uint64, error) {
	if loadErr == nil {
		loadErr = checkFrame(key, value) // then the waiters get it too
	}
	res, err := processStore().FinishLoad(key, primaryLoader, value, ttl, loadErr)
	if loadErr != nil && err == nil {
		err = loadErr
	}
	return res.Rev, storeError(err)
}

// loaderGaveUp is the error a leader reports when its own context ended:
// the waiters try again instead of failing.
func loaderGaveUp(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
