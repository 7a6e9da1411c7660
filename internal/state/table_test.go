package state

import (
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// TestHashMapModel checks the table against a Go map through growth,
// tombstones, their reuse and sweeps, with short and long keys and values.
func TestHashMapModel(t *testing.T) {
	var m hashMap
	m.init()
	model := make(map[string]string)
	rng := rand.New(rand.NewSource(1))
	key := func() string {
		k := fmt.Sprintf("k%d", rng.Intn(3000))
		if rng.Intn(8) == 0 {
			k += strings.Repeat("x", 300) // a long key
		}
		return k
	}
	for i := 1; i <= 50000; i++ {
		k := key()
		switch rng.Intn(3) {
		case 0, 1:
			v := strings.Repeat("v", rng.Intn(600))
			n, old := m.put(Entry{Key: k, Value: []byte(v), Rev: uint64(i)})
			if _, had := model[k]; had != (old != nil) {
				t.Fatalf("put %q: replaced %v, model had %v", k, old != nil, had)
			}
			if n.key() != k || string(n.val()) != v {
				t.Fatalf("put %q: stored %q=%q", k, n.key(), n.val())
			}
			model[k] = v
		case 2:
			old := m.remove(k)
			if _, had := model[k]; had != (old != nil) {
				t.Fatalf("remove %q: found %v, model had %v", k, old != nil, had)
			}
			delete(model, k)
		}
		if m.live.Load() != int64(len(model)) {
			t.Fatalf("step %d: live %d, model %d", i, m.live.Load(), len(model))
		}
	}
	for k, v := range model {
		n := m.get(k)
		if n == nil || string(n.val()) != v {
			t.Fatalf("get %q: %v, want %q", k, n, v)
		}
	}
	count := 0
	m.each(func(*node) bool { count++; return true })
	if count != len(model) {
		t.Fatalf("each saw %d nodes, want %d", count, len(model))
	}
	if m.get("absent") != nil || m.get("") != nil {
		t.Fatal("found an absent key")
	}
}

// TestHashMapConcurrentReads runs lock-free readers against a writer that
// grows, rewrites and deletes: every entry a reader finds must be whole.
func TestHashMapConcurrentReads(t *testing.T) {
	var m hashMap
	m.init()
	const keys = 2000
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; !stop.Load(); i++ {
				k := fmt.Sprintf("key-%d", i%keys)
				if n := m.get(k); n != nil {
					if n.key() != k || !strings.HasPrefix(string(n.val()), k+"=") {
						t.Errorf("get %q: got %q=%q", k, n.key(), n.val())
						return
					}
				}
			}
		}(g)
	}
	for i := 0; i < 30000; i++ {
		k := fmt.Sprintf("key-%d", (i*7)%keys)
		if i%5 == 4 {
			m.remove(k)
			continue
		}
		m.put(Entry{Key: k, Value: []byte(fmt.Sprintf("%s=%d", k, i)), Rev: uint64(i + 1)})
	}
	stop.Store(true)
	wg.Wait()
}

// TestNodeLayout checks that a node holds copies of its key and value, the
// key right after its fields when it fits, and that an entry with no TTL,
// no owner and a key of up to 16 bytes is one 64-byte node.
func TestNodeLayout(t *testing.T) {
	if size := unsafe.Sizeof(node{}); size != 48 || unsafe.Sizeof(node16{}) != 64 {
		t.Errorf("node fields take %d bytes, want 48 (a 16-byte key then fills one cache line)", size)
	}
	for _, c := range []struct {
		key, value     int
		expires, owner bool
	}{{1, 0, false, false}, {1, 5, true, false}, {10, 60, false, false}, {16, 0, false, true},
		{17, 3, false, false}, {80, 3, true, true}, {300, 1, false, false}, {4096, 1 << 20, true, true}} {
		key := []byte(strings.Repeat("k", c.key))
		val := []byte(strings.Repeat("v", c.value))
		in := Entry{Key: string(key), Value: val, Rev: 3, Created: 2}
		if c.expires {
			in.Expires = 9
		}
		if c.owner {
			in.Owner = 4
		}
		n := newNode(7, in)
		e := n.entry()
		if e.Key != string(key) || string(e.Value) != string(val) || cap(e.Value) != len(val) {
			t.Fatalf("%+v: stored %d+%d bytes (cap %d)", c, len(e.Key), len(e.Value), cap(e.Value))
		}
		if e.Rev != 3 || e.Created != 2 || e.Expires != in.Expires || e.Owner != in.Owner || n.hash != 7 {
			t.Fatalf("%+v: fields %+v, hash %d", c, e, n.hash)
		}
		if (n.more == nil) != (c.key <= 80 && !c.expires && !c.owner) {
			t.Errorf("%+v: side record %v", c, n.more)
		}
		base := uintptr(unsafe.Pointer(n))
		if off := uintptr(unsafe.Pointer(unsafe.StringData(e.Key))) - base; c.key <= 80 && off != 48 {
			t.Errorf("%+v: key at offset %d, want 48", c, off)
		}
		if c.value == 0 {
			if e.Value != nil {
				t.Errorf("empty value reads as %#v, want nil", e.Value)
			}
			continue
		}
		if &e.Value[0] == &val[0] {
			t.Fatalf("%+v: the value was not copied", c)
		}
	}
	if tombstone.has("") || tombstone.has("k") {
		t.Error("the tombstone matches a key")
	}
}
