package session

import (
	"context"
	"testing"
	"time"

	"github.com/gocluster/cluster/kv"
)

// newKV returns a store on its own engine, closed when the test ends.
func newKV(t *testing.T) *kv.KV {
	t.Helper()
	eng := kv.NewEngine(kv.Limits{})
	t.Cleanup(func() { eng.Close() })
	return kv.New(eng)
}

// testCtx is a context that ends with the test, or after 20 s.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitExpired returns once store has deleted key for its TTL: at once if it
// is absent, else when its OpExpire change arrives. It fails the test on
// any other change of key, or after 10 s.
func waitExpired(t *testing.T, store *kv.KV, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	present := false
	for ev := range store.Watch(ctx, key) {
		if ev.Key != key && ev.Op != kv.OpSynced {
			continue // a longer key with the same start
		}
		switch ev.Op {
		case kv.OpPut:
			present = true
		case kv.OpSynced:
			if !present {
				return
			}
		case kv.OpExpire:
			return
		default:
			t.Fatalf("%s: %v while waiting for it to expire", key, ev.Op)
		}
	}
	t.Fatalf("%s not expired after 10 s", key)
}
