package cluster

import (
	"context"
	"testing"
)

// BenchmarkKVPutLocal is a Put in the primary's process: with a
// cancellable context (what an HTTP handler passes), and without.
func BenchmarkKVPutLocal(b *testing.B) {
	kv := storeHandle()
	value := []byte("0123456789abcdef")
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{{"background", context.Background()}, {"cancellable", cancellable(b)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := kv.Put(c.ctx, "bench/put", value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func cancellable(b *testing.B) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	return ctx
}
