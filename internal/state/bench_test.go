package state

import (
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

var benchSizes = []int{10, 1000, 10000, 100000}

func benchKey(i int) string { return fmt.Sprintf("user/session/%08d", i) }

// benchReplica returns a replica with n keys, and the same keys allocated
// apart from the stored ones (as a caller's would be) in the order given.
func benchReplica(n int, order []int) (*Replica, []string) {
	r := NewReplica()
	for i := 0; i < n; i++ {
		r.Apply(Event{Op: OpPut, Key: benchKey(i), Value: []byte("value"), Rev: uint64(i + 1)})
	}
	keys := make([]string, n)
	for i, k := range order {
		keys[i] = benchKey(k)
	}
	return r, keys
}

func inOrder(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = i
	}
	return o
}

// BenchmarkReplicaGet reads existing keys. "random" visits them in a
// shuffled order, so every read lands on a random slot and node (the worst
// case once the store outgrows the CPU caches); "sequential" visits them in
// the order they were written, the pattern most benchmarks measure.
func BenchmarkReplicaGet(b *testing.B) {
	for _, pattern := range []string{"random", "sequential"} {
		for _, n := range benchSizes {
			order := inOrder(n)
			if pattern == "random" {
				order = rand.New(rand.NewSource(1)).Perm(n)
			}
			r, keys := benchReplica(n, order)
			b.Run(fmt.Sprintf("%s/keys=%d", pattern, n), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, ok := r.Get(keys[i%n]); !ok {
						b.Fatal("missing key")
					}
				}
			})
			b.Run(fmt.Sprintf("%s/keys=%d/parallel", pattern, n), func(b *testing.B) {
				b.ReportAllocs()
				var start atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					i := int(start.Add(int64(n/7 + 1)))
					for pb.Next() {
						i++
						if _, ok := r.Get(keys[i%n]); !ok {
							b.Fatal("missing key")
						}
					}
				})
			})
		}
	}
}

// BenchmarkSyncMapGet is the baseline the replica's table was measured
// against: sync.Map holding *Entry, read the same way.
func BenchmarkSyncMapGet(b *testing.B) {
	for _, n := range benchSizes {
		var m sync.Map
		for i := 0; i < n; i++ {
			k := benchKey(i)
			m.Store(k, &Entry{Key: k, Value: []byte("value"), Rev: uint64(i + 1)})
		}
		keys := make([]string, n)
		for i, k := range rand.New(rand.NewSource(1)).Perm(n) {
			keys[i] = benchKey(k)
		}
		b.Run(fmt.Sprintf("random/keys=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				v, ok := m.Load(keys[i%n])
				if !ok {
					b.Fatal("missing key")
				}
				_ = *v.(*Entry)
			}
		})
	}
}

// BenchmarkReplicaApply applies events at 10k keys from one goroutine:
// overwrites with a small value (the node holds it inline), with a 200-byte
// value, and a mix of puts and deletes.
func BenchmarkReplicaApply(b *testing.B) {
	const n = 10000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	cases := []struct {
		name   string
		value  []byte
		delete bool
	}{
		{"put-small", []byte("value"), false},
		{"put-200B", []byte(strings.Repeat("v", 200)), false},
		{"put-delete", []byte("value"), true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r, _ := benchReplica(n, nil)
			rev := r.Rev()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rev++
				ev := Event{Op: OpPut, Key: keys[i*7919%n], Value: c.value, Rev: rev}
				if c.delete && i%2 == 1 {
					ev = Event{Op: OpDelete, Key: keys[(i-1)*7919%n], Rev: rev}
				}
				r.Apply(ev)
			}
		})
	}
}

type nopSink struct{ buf []byte }

func (s *nopSink) Event(ev Event) { s.buf = append(append(s.buf[:0], ev.Key...), ev.Value...) }

// BenchmarkStoreApply measures a Put through the store at 10k keys, with
// one sink that copies every event's key and value.
func BenchmarkStoreApply(b *testing.B) {
	const n = 10000
	s := NewStore(StoreOptions{})
	defer s.Close()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = benchKey(i)
		s.Apply(Write{Kind: KindPut, Key: keys[i], Value: []byte("value")})
	}
	s.AddSink(1, &nopSink{})
	val := []byte("value")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Apply(Write{Kind: KindPut, Key: keys[i*7919%n], Value: val}); err != nil {
			b.Fatal(err)
		}
	}
}
