package kv_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster/kv"
	"github.com/gocluster/cluster/kv/kvtest"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 10 * time.Second

// remote is a Backend on a Mirror, as one on a remote store is: the store's
// changes reach the Mirror through Replicate (the test's, and those its own
// writes make). Its Subscribe wraps each Sink with wrap, if set; its Close
// unsubscribes every Sink it subscribed (joining their goroutines). A KV
// on it keeps a replica of its own: its Mirror is a field, not a method.
type remote struct {
	*kvtest.MirrorBackend

	mu  sync.Mutex // guards ids
	ids map[uint64]bool
}

func newRemote(m *kv.Mirror, wrap func(kv.Sink) kv.Sink) *remote {
	return &remote{MirrorBackend: &kvtest.MirrorBackend{Mirror: m, Wrap: wrap}, ids: make(map[uint64]bool)}
}

func (r *remote) Subscribe(id uint64, sink kv.Sink) error {
	r.mu.Lock()
	r.ids[id] = true
	r.mu.Unlock()
	return r.MirrorBackend.Subscribe(id, sink)
}

func (r *remote) subscriptions() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

// Close ends every subscription, then the Mirror.
func (r *remote) Close() error {
	r.mu.Lock()
	ids := r.ids
	r.ids = make(map[uint64]bool)
	r.mu.Unlock()
	for id := range ids {
		r.Unsubscribe(id)
	}
	return r.MirrorBackend.Close()
}

// exposed is a remote whose Mirror a KV reads directly.
type exposed struct{ *remote }

func (e exposed) Mirror() *kv.Mirror { return e.remote.MirrorBackend.Mirror }

// put and del are changes of the store at rev.
func put(key, value string, rev uint64) kv.Change {
	return kv.Change{Op: kv.OpPut, Key: key, Value: []byte(value), Rev: rev}
}

func del(key string, rev uint64) kv.Change { return kv.Change{Op: kv.OpDelete, Key: key, Rev: rev} }

// dump returns what h reads.
func dump(h *kv.KV) map[string]kv.Entry {
	m := make(map[string]kv.Entry)
	for k, e := range h.Range("") {
		m[k] = e
	}
	return m
}

// asMap returns entries by key.
func asMap(entries []kv.Entry) map[string]kv.Entry {
	m := make(map[string]kv.Entry, len(entries))
	for _, e := range entries {
		m[e.Key] = e
	}
	return m
}

// sameContent fails t unless got holds exactly what want holds.
func sameContent(t *testing.T, what string, got, want map[string]kv.Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d keys, want %d", what, len(got), len(want))
	}
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		if ok && string(g.Value) == string(w.Value) && g.Rev == w.Rev && g.Created == w.Created &&
			g.Expires.Equal(w.Expires) && g.Owner == w.Owner {
			continue
		}
		t.Errorf("%s: %q is %+v (present %v), want %+v", what, k, g, ok, w)
		if bad++; bad == 5 {
			t.Fatalf("%s: giving up", what)
		}
	}
}

// watchUntil reads ch until an event of key and returns the events before
// it by key (each key once).
func watchUntil(t *testing.T, ch <-chan kv.WatchEvent, key string) map[string]kv.WatchEvent {
	t.Helper()
	seen := make(map[string]kv.WatchEvent)
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("the watch ended")
			}
			if ev.Key == key {
				return seen
			}
			if prev, dup := seen[ev.Key]; dup {
				t.Errorf("watch event %+v after %+v", ev, prev)
			}
			seen[ev.Key] = ev
		case <-timer.C:
			t.Fatalf("waited %v for a watch event of %q", waitTimeout, key)
		}
	}
}

// TestMirrorHandles: a KV on a Backend with a Mirror, whether it keeps a
// replica of its own (subscribed) or reads the Mirror, holds what was
// replicated; after a Reset to a content at a lower revision it holds
// exactly that content, its watchers see the difference, and later
// changes continue from there.
func TestMirrorHandles(t *testing.T) {
	for _, c := range []struct {
		name    string
		exposed bool
	}{{"own replica", false}, {"reads the mirror", true}} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			m := kv.NewMirror()
			r := newRemote(m, nil)
			var b kv.Backend = r
			if c.exposed {
				b = exposed{r}
			}
			defer b.Close()
			far := time.Unix(0, time.Now().Add(time.Hour).UnixNano())

			// Replicated before the handle exists.
			var first []kv.Change
			for i := range 10 {
				ch := put(fmt.Sprintf("k/%02d", i), fmt.Sprintf("v%d", i), uint64(i+1))
				ch.Owner, ch.Origin, ch.Tag = uint64(i%3), 5, uint64(i)
				if i%4 == 1 {
					ch.Expires = far
				}
				first = append(first, ch)
			}
			m.Replicate(append(first, del("k/09", 11), put("k/00", "again", 12)))
			h := kv.New(b)
			if err := h.Ready(ctx); err != nil {
				t.Fatalf("Ready: %v", err)
			}
			if h.Rev() != 12 || m.Rev() != 12 {
				t.Fatalf("handle at revision %d, mirror at %d, want 12", h.Rev(), m.Rev())
			}
			_, es := m.Entries()
			want := asMap(es)
			if e := want["k/00"]; string(e.Value) != "again" || e.Rev != 12 || e.Created != 1 {
				t.Errorf("k/00 in the mirror: %+v", e)
			}
			if e := want["k/01"]; e.Owner != 1 || !e.Expires.Equal(far) || e.Created != 2 {
				t.Errorf("k/01 in the mirror: %+v", e)
			}
			sameContent(t, "after Ready", dump(h), want)

			// The handle's own write: its replica shows it when it returns.
			rev, err := h.Put(ctx, "mine", []byte("m"))
			if e, ok := h.Get("mine"); err != nil || rev != 13 || !ok || e.Rev != rev {
				t.Fatalf("Put: revision %d, %v; Get: %+v, %v", rev, err, e, ok)
			}

			w := h.Watch(ctx, "")
			watchUntil(t, w, "") // the entries, then OpSynced, whose key is ""

			// The store lost data: its content is at revision 8.
			content := []kv.Entry{
				{Key: "k/01", Value: []byte("v1"), Rev: 2, Created: 2, Owner: 1, Expires: far}, // the same
				{Key: "k/02", Value: []byte("changed"), Rev: 7, Created: 3},                    // changed
				{Key: "k/03", Value: []byte("reused"), Rev: 4, Created: 4},                     // reused revision
				{Key: "k/new", Value: []byte("n"), Rev: 8, Created: 8, Owner: 4, Expires: far}, // added
			}
			m.Reset(8, content)
			if h.Rev() != 8 || h.Len() != len(content) {
				t.Errorf("after the reset: revision %d, %d keys, want 8 and %d", h.Rev(), h.Len(), len(content))
			}
			sameContent(t, "after the reset", dump(h), asMap(content))
			if _, ok := h.Get("mine"); ok {
				t.Errorf("Get finds a key the new content lacks")
			}

			m.Replicate([]kv.Change{put("k/01", "stale", 8), put("k/end", "e", 9)})
			seen := watchUntil(t, w, "k/end")
			wantSeen := map[string]kv.WatchEvent{
				"k/02":  {Op: kv.OpPut, Key: "k/02", Value: []byte("changed"), Rev: 7},
				"k/03":  {Op: kv.OpPut, Key: "k/03", Value: []byte("reused"), Rev: 4},
				"k/new": {Op: kv.OpPut, Key: "k/new", Value: []byte("n"), Rev: 8},
			}
			for _, k := range []string{"k/00", "k/04", "k/05", "k/06", "k/07", "k/08", "mine"} {
				wantSeen[k] = kv.WatchEvent{Op: kv.OpDelete, Key: k, Rev: 8}
			}
			if fmt.Sprint(seen) != fmt.Sprint(wantSeen) {
				t.Errorf("the watch saw\n%v\nwant\n%v", seen, wantSeen)
			}

			// Later changes continue from the new revision.
			if rev, err := h.Put(ctx, "after", []byte("a")); err != nil || rev != 10 {
				t.Errorf("Put after the reset: revision %d, %v; want 10", rev, err)
			}
			_, es = m.Entries()
			sameContent(t, "after later changes", dump(h), asMap(es))
			if e, _ := h.Get("k/01"); string(e.Value) != "v1" || h.Rev() != 10 {
				t.Errorf("k/01 is %q at handle revision %d: a change at the reset's revision was applied", e.Value, h.Rev())
			}

			if subs := r.subscriptions(); subs != map[bool]int{false: 1, true: 0}[c.exposed] {
				t.Errorf("the handle subscribed %d times", subs)
			}
		})
	}
}
