package kvlink

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster/kv"
)

// value returns a value of n bytes that says which key and round it is of.
func value(key string, round, n int) []byte {
	b := fmt.Appendf(nil, "%s@%d:", key, round)
	return append(b, bytes.Repeat([]byte{byte('a' + round%26)}, max(0, n-len(b)))...)
}

// TestSnapshotWhole checks the content a worker gets when it subscribes:
// many keys, with values that need many frames on a channel of small
// frames, some with a TTL, some owned by another worker, one as big as a
// change may be, arrive whole, with their revisions; then every later
// change follows.
func TestSnapshotWhole(t *testing.T) {
	const maxFrame = 8 << 10 // snapshot frames of at most 4 KiB
	const keys, size = 300, 1500
	p := newPrimary(t, maxFrame, kv.Limits{})
	c := ctx(t)

	owner := p.connectReady(t, 7)
	var total int
	for i := range keys {
		key := fmt.Sprintf("key/%04d", i)
		v := value(key, 0, size+i%13)
		total += len(key) + len(v)
		var err error
		switch i % 3 {
		case 0:
			_, err = p.kv.Put(c, key, v)
		case 1:
			_, err = p.kv.Put(c, key, v, kv.WithTTL(time.Hour))
		case 2:
			_, err = owner.kv.Put(c, key, v, kv.OwnedByWorker())
		}
		if err != nil {
			t.Fatalf("Put %q: %v", key, err)
		}
	}
	big := "big"
	bigValue := value(big, 0, maxFrame-kv.ChangeOverhead-len(big))
	if _, err := owner.kv.Put(c, big, bigValue, kv.WithTTL(time.Hour)); err != nil {
		t.Fatalf("Put of a value as big as a change may be: %v", err)
	}
	if total < 50*maxFrame {
		t.Fatalf("the content is %d bytes: too little to need many frames", total)
	}
	if _, err := p.kv.Delete(c, "key/0000"); err != nil {
		t.Fatal(err)
	}

	w := p.connectReady(t, 1)
	if w.kv.Rev() != p.eng.Rev() {
		t.Fatalf("a ready handle is at revision %d, the engine at %d", w.kv.Rev(), p.eng.Rev())
	}
	sameContent(t, "the snapshot", dump(w.kv), dump(p.kv))

	// Later changes follow the snapshot, in order.
	var last uint64
	for i := range 50 {
		key := fmt.Sprintf("key/%04d", i*6+1)
		var err error
		if i%5 == 4 {
			last, err = p.kv.Delete(c, key)
		} else {
			last, err = owner.kv.Put(c, key, value(key, 1, size))
		}
		if err != nil {
			t.Fatalf("change of %q: %v", key, err)
		}
	}
	waitRev(t, w.kv, last)
	sameContent(t, "after the later changes", dump(w.kv), dump(p.kv))
}

// TestSnapshotDuringWrites subscribes workers while the primary and another
// worker write, delete and overwrite the keys being sent: each new replica
// ends up with the engine's content, with nothing lost or applied twice.
func TestSnapshotDuringWrites(t *testing.T) {
	const maxFrame = 8 << 10
	const keys = 200
	p := newPrimary(t, maxFrame, kv.Limits{})
	c := ctx(t)
	for i := range keys {
		key := fmt.Sprintf("k/%03d", i)
		if _, err := p.kv.Put(c, key, value(key, 0, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	writer := p.connectReady(t, 9)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	halt := func() {
		once.Do(func() { close(stop) })
		wg.Wait()
	}
	t.Cleanup(halt) // if the test fails before it stops them
	for wi, h := range []*kv.KV{p.kv, writer.kv} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 1; ; round++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("k/%03d", (round*7+wi*101)%keys)
				var err error
				if round%4 == 0 {
					_, err = h.Delete(c, key)
				} else {
					_, err = h.Put(c, key, value(key, round, 500+round%900))
				}
				if err != nil {
					t.Errorf("write %q: %v", key, err)
					return
				}
			}
		}()
	}
	var subs []*worker
	for id := 1; id <= 3; id++ {
		subs = append(subs, p.connectReady(t, id))
	}
	halt()

	final := p.eng.Rev()
	for _, w := range subs {
		waitRev(t, w.kv, final)
		sameContent(t, fmt.Sprintf("worker %d", w.id), dump(w.kv), dump(p.kv))
	}
}

// hookedEngine is an Engine whose subscriptions call hook before each
// piece of their content but the first (from Sink.Wait: no lock is held).
type hookedEngine struct {
	*kv.Engine
	hook func(piece int)
}

func (e *hookedEngine) Subscribe(id uint64, sink kv.Sink) error {
	return e.Engine.Subscribe(id, &hookedSink{Sink: sink, hook: e.hook})
}

type hookedSink struct {
	kv.Sink
	hook  func(piece int)
	waits int // Wait is called by one goroutine, the subscription's
}

func (s *hookedSink) Wait(n int) error {
	if s.waits++; s.waits > 1 {
		s.hook(s.waits - 1)
	}
	return s.Sink.Wait(n)
}

// TestSnapshotInterleaved writes between the pieces of a worker's content
// (each piece about 128 KiB, sent in frames of at most 4 KiB): keys of
// pieces sent and not sent yet are overwritten, deleted and created. The
// replica ends up with the engine's content.
func TestSnapshotInterleaved(t *testing.T) {
	const maxFrame = 8 << 10
	const keys = 500
	var eng *kv.Engine
	pieces := 0
	hook := func(piece int) {
		pieces = piece
		for i := range 20 {
			key := fmt.Sprintf("k/%03d", (piece*37+i*23)%keys)
			w := []kv.Write{{Kind: kv.WritePut, Key: key, Value: value(key, piece, 700+i)}}
			switch i % 4 {
			case 1:
				w[0] = kv.Write{Kind: kv.WriteDelete, Key: key}
			case 2:
				w[0].Key = fmt.Sprintf("new/%d/%d", piece, i)
			}
			errs := make([]error, 1)
			eng.Apply(context.Background(), w, make([]kv.Result, 1), errs)
			if errs[0] != nil {
				t.Errorf("write between pieces: %v", errs[0])
			}
		}
	}
	p := newPrimaryOf(t, maxFrame, kv.Limits{}, func(e *kv.Engine) kv.Backend {
		eng = e
		return &hookedEngine{Engine: e, hook: hook}
	})
	c := ctx(t)
	for i := range keys {
		key := fmt.Sprintf("k/%03d", i)
		if _, err := p.kv.Put(c, key, value(key, 0, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	w := p.connectReady(t, 1)
	if pieces < 2 {
		t.Fatalf("the content came in %d pieces: nothing was written between pieces", pieces+1)
	}
	waitRev(t, w.kv, p.eng.Rev())
	sameContent(t, "the replica", dump(w.kv), dump(p.kv))
}
