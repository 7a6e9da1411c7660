package cluster

import (
	"context"
	"errors"
	"math"
	"sync"
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
	storeOnce.Do(func() {
		// Values are bounded by checkSize, under the limits of the primaries.
		storeOnce.s = state.NewStore(state.StoreOptions{MaxKeySize: MaxKeySize, MaxValueSize: maxMessageSize})
	})
	return storeOnce.s
}

// localBackend writes to and loads from the store in this process.
type localBackend struct{}

func (localBackend) write(_ context.Context, w state.Write) (uint64, error) {
	if err := checkSize(w.Key, w.Value); err != nil {
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
		loadErr = checkSize(key, value) // then the waiters get it too
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
