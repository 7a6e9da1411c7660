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
			k += strings.Repeat("x", maxInline) // too long to be inline
		}
		return k
	}
	for i := 1; i <= 50000; i++ {
		k := key()
		switch rng.Intn(3) {
		case 0, 1:
			v := strings.Repeat("v", rng.Intn(2*maxInline))
			n, old := m.put(Entry{Key: k, Value: []byte(v), Rev: uint64(i)})
			if _, had := model[k]; had != (old != nil) {
				t.Fatalf("put %q: replaced %v, model had %v", k, old != nil, had)
			}
			if n.e.Key != k || string(n.e.Value) != v {
				t.Fatalf("put %q: stored %q=%q", k, n.e.Key, n.e.Value)
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
		if n == nil || string(n.e.Value) != v {
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
					if n.e.Key != k || !strings.HasPrefix(string(n.e.Value), k+"=") {
						t.Errorf("get %q: got %q=%q", k, n.e.Key, n.e.Value)
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

// TestNodeInline checks where a node keeps its key and value: in its own
// object when they fit one of the classes, apart otherwise, never sharing
// the caller's memory.
func TestNodeInline(t *testing.T) {
	within := func(p *byte, n *node, size uintptr) bool {
		a, b := uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(n))
		return a >= b && a < b+size
	}
	for _, c := range []struct {
		key, value int
		size       int // of the object holding node and bytes; 0: both apart, -1: only the key inline
	}{
		{1, 5, int(unsafe.Sizeof(node48{}))},
		{10, 38, int(unsafe.Sizeof(node48{}))},
		{10, 39, int(unsafe.Sizeof(node112{}))},
		{21, 60, int(unsafe.Sizeof(node112{}))},
		{40, 200, int(unsafe.Sizeof(node240{}))},
		{40, 201, -1},
		{300, 1, 0},
	} {
		key := []byte(strings.Repeat("k", c.key))
		val := []byte(strings.Repeat("v", c.value))
		n := newNode(1, Entry{Key: string(key), Value: val, Rev: 1})
		if n.e.Key != string(key) || string(n.e.Value) != string(val) || cap(n.e.Value) != len(val) {
			t.Fatalf("%d+%d bytes: stored %q=%q (cap %d)", c.key, c.value, n.e.Key, n.e.Value, cap(n.e.Value))
		}
		if &n.e.Value[0] == &val[0] {
			t.Fatalf("%d+%d bytes: the value was not copied", c.key, c.value)
		}
		size := uintptr(c.size)
		if c.size < 0 {
			size = unsafe.Sizeof(node48{})
		}
		inKey, inVal := within(unsafe.StringData(n.e.Key), n, size), within(&n.e.Value[0], n, size)
		if wantKey, wantVal := c.size != 0, c.size > 0; inKey != wantKey || inVal != wantVal {
			t.Errorf("%d+%d bytes: key inline %v, value inline %v, want %v, %v", c.key, c.value, inKey, inVal, wantKey, wantVal)
		}
	}
	if unsafe.Sizeof(node48{}) != 128 || unsafe.Sizeof(node112{}) != 192 || unsafe.Sizeof(node240{}) != 320 {
		t.Errorf("node classes are %d, %d, %d bytes, not Go's size classes 128, 192, 320",
			unsafe.Sizeof(node48{}), unsafe.Sizeof(node112{}), unsafe.Sizeof(node240{}))
	}
	empty := newNode(1, Entry{Key: "k3", Value: []byte{}, Rev: 3})
	if empty.e.Value != nil {
		t.Error("empty value not nil")
	}
}
