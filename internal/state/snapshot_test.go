package state

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

// pieces walks sn to the end with no write in between and returns every
// piece, copied.
func pieces(t *testing.T, sn *Snapshot, size int) []Piece {
	t.Helper()
	var out []Piece
	for len(out) < 1e6 {
		last, err := sn.Next(size, func(p Piece) {
			p.Entries = append([]Entry(nil), p.Entries...)
			out = append(out, p)
		})
		if err != nil {
			t.Fatalf("piece %d: %v", len(out), err)
		}
		if last {
			return out
		}
	}
	t.Fatal("the snapshot never ends")
	return nil
}

func pieceBytes(p Piece) int {
	n := 0
	for _, e := range p.Entries {
		n += len(e.Key) + len(e.Value) + pieceOverhead
	}
	return n
}

// TestSnapshotPiecesCoverEveryKeyOnce: without writes, the pieces hold
// every entry exactly once, in pieces of about the size asked (a piece may
// run over by the rest of a run of full slots), and only the last is Last.
func TestSnapshotPiecesCoverEveryKeyOnce(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	const keys = 5000
	for i := range keys {
		key := fmt.Sprintf("k%d", i)
		if i%10 == 0 {
			key += strings.Repeat("-long", 20) // kept out of the node
		}
		put(t, s, key, strings.Repeat("v", i%50))
	}
	for _, size := range []int{0, 1, 100, 4 << 10, 64 << 10, math.MaxInt} {
		ps := pieces(t, s.AddSink(1, &recordSink{t: t}), size)
		seen := make(map[string]int)
		for i, p := range ps {
			if p.Last != (i == len(ps)-1) {
				t.Fatalf("size %d: piece %d of %d has Last %v", size, i, len(ps), p.Last)
			}
			if p.Rev != s.Rev() {
				t.Fatalf("size %d: piece at revision %d, store at %d", size, p.Rev, s.Rev())
			}
			if size >= 4<<10 && size <= 64<<10 && pieceBytes(p) > 2*size+8<<10 {
				t.Fatalf("size %d: piece %d holds %d bytes", size, i, pieceBytes(p))
			}
			for _, e := range p.Entries {
				seen[e.Key]++
				if want, _ := s.Replica().Get(e.Key); !sameEntry(e, want) {
					t.Fatalf("size %d: entry %+v, stored %+v", size, e, want)
				}
			}
		}
		if len(seen) != keys {
			t.Fatalf("size %d: %d keys in the pieces, want %d", size, len(seen), keys)
		}
		for k, n := range seen {
			if n != 1 {
				t.Fatalf("size %d: key %q in %d pieces", size, k, n)
			}
		}
		if size == 4<<10 && len(ps) < 20 {
			t.Fatalf("size %d: %d pieces for %d keys", size, len(ps), keys)
		}
	}
}

// TestSnapshotCollectWrapsAround builds a table by hand, with runs of full
// slots that wrap around its end and a run that ends at its last slot, and
// checks that every range of hashes gets exactly its nodes.
func TestSnapshotCollectWrapsAround(t *testing.T) {
	var m hashMap
	m.init()
	tb := newTable(8)
	home := func(slot uint64) uint64 { return slot << tb.shift } // the first hash of a home
	place := func(slot, h uint64) {
		tb.slots[slot].Store(newNode(h, Entry{Key: strconv.FormatUint(h, 10), Rev: 1, Created: 1}))
	}
	// Slots: 0 and 1 hold nodes of home 7 (wrapped), 2 is a tombstone
	// holding the run, 3 a node of home 1, 4 empty, 5 a node of home 5,
	// 6 and 7 nodes of home 6, the first of them below the second's hash.
	place(0, home(7)+5)
	place(1, home(7)+1)
	tb.slots[2].Store(tombstone)
	place(3, home(1)+9)
	place(5, home(5))
	place(6, home(6)+7)
	place(7, home(6)+3)
	m.cur.Store(tb)
	all := []uint64{home(7) + 5, home(7) + 1, home(1) + 9, home(5), home(6) + 7, home(6) + 3}
	froms := []uint64{0, 1, home(1), home(1) + 10, home(2), home(5), home(5) + 1, home(6) + 4, home(7), home(7) + 2, math.MaxUint64}
	for _, from := range froms {
		for _, size := range []int{0, 1, 1 << 20} {
			got := make(map[uint64]bool)
			next, last, steps := from, false, 0
			for !last {
				var out []Entry
				var end uint64
				out, end, last = m.collect(next, size, nil)
				for _, e := range out {
					h, _ := strconv.ParseUint(e.Key, 10, 64)
					if got[h] {
						t.Fatalf("from %x size %d: hash %x twice", from, size, h)
					}
					if h < next || (!last && h >= end) {
						t.Fatalf("from %x size %d: hash %x outside [%x, %x)", from, size, h, next, end)
					}
					got[h] = true
				}
				if !last && end <= next {
					t.Fatalf("from %x size %d: no progress from %x (to %x)", from, size, next, end)
				}
				next = end
				if steps++; steps > 20 {
					t.Fatalf("from %x size %d: no end", from, size)
				}
			}
			for _, h := range all {
				if got[h] != (h >= from) {
					t.Fatalf("from %x size %d: hash %x taken %v", from, size, h, got[h])
				}
			}
		}
	}
}

// TestSnapshotWithWrites interleaves random writes with the pieces: puts
// of old and new keys, deletes, dropped owners, and now and then mass
// deletions and refills that make the table grow, shrink or sweep its
// tombstones between two pieces. The replica fed the stream must end equal
// to the store, every time.
func TestSnapshotWithWrites(t *testing.T) {
	rebuilt := 0
	for seed := int64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewSource(seed))
		s := NewStore(StoreOptions{})
		keys := 1 + rng.Intn(1000)
		for i := range keys {
			put(t, s, fmt.Sprint("k", i), fmt.Sprint(i))
		}
		p := newPipeSink(t)
		sn := s.AddSink(1, p)
		size := []int{1, 200, 2000}[rng.Intn(3)]
		masses := 3
		for last := false; !last; {
			before := s.rep.m.cur.Load()
			mass := masses > 0 && rng.Intn(20) == 0
			if mass {
				masses--
			}
			churn(t, rng, s, keys, mass)
			if s.rep.m.cur.Load() != before {
				rebuilt++
			}
			var err error
			if last, err = sn.Next(size, p.piece); err != nil {
				t.Fatal(err)
			}
		}
		churn(t, rng, s, keys, false)
		p.waitRev(t, s.Rev())
		p.close()
		sameContent(t, fmt.Sprintf("seed %d, pieces of %d bytes", seed, size), p.rep, s.Replica())
		s.Close()
	}
	if rebuilt < 10 {
		t.Fatalf("the table was rebuilt during a snapshot %d times: the test does not test that", rebuilt)
	}
}

// churn applies a few random writes to keys among k0..k<2*keys>, or with
// mass set many: most keys deleted (the next inserts sweep the table
// smaller), or as many new keys as there were (the table grows).
func churn(t *testing.T, rng *rand.Rand, s *Store, keys int, mass bool) {
	n := rng.Intn(6)
	if mass {
		if rng.Intn(2) == 0 {
			for i := range 2 * keys {
				if rng.Intn(4) != 0 {
					s.Apply(Write{Kind: KindDelete, Key: fmt.Sprint("k", i)})
				}
			}
		}
		n = keys
	}
	if rng.Intn(50) == 0 {
		s.DropOwner(1)
	}
	for range n {
		key := fmt.Sprint("k", rng.Intn(2*keys))
		if rng.Intn(3) == 0 {
			s.Apply(Write{Kind: KindDelete, Key: key})
			continue
		}
		w := Write{Kind: KindPut, Key: key, Value: []byte(fmt.Sprint(rng.Int())), Owner: uint64(rng.Intn(2))}
		if _, err := s.Apply(w); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSnapshotEnds: the snapshot of a removed or replaced sink, or of a
// closed store, ends with an error; a finished one stays finished.
func TestSnapshotEnds(t *testing.T) {
	s := NewStore(StoreOptions{})
	put(t, s, "a", "1")
	sn := s.AddSink(1, &recordSink{t: t})
	if sn.Rev() != 1 {
		t.Fatalf("snapshot of revision %d, want 1", sn.Rev())
	}
	s.AddSink(1, &recordSink{t: t, last: 1}) // replaces it
	if _, err := sn.Next(100, func(Piece) { t.Fatal("a piece for a replaced sink") }); !errors.Is(err, ErrSinkRemoved) {
		t.Fatalf("replaced: %v", err)
	}
	sn = s.AddSink(2, &recordSink{t: t, last: 1})
	s.RemoveSink(2)
	if _, err := sn.Next(100, func(Piece) { t.Fatal("a piece for a removed sink") }); !errors.Is(err, ErrSinkRemoved) {
		t.Fatalf("removed: %v", err)
	}
	sn = s.AddSink(3, &recordSink{t: t, last: 1})
	if last, err := sn.Next(math.MaxInt, func(Piece) {}); !last || err != nil {
		t.Fatalf("whole: %v, %v", last, err)
	}
	if last, err := sn.Next(100, func(Piece) { t.Fatal("a piece after the last") }); !last || err != nil {
		t.Fatalf("after the last: %v, %v", last, err)
	}
	sn = s.AddSink(4, &recordSink{t: t, last: 1})
	s.Close()
	if _, err := sn.Next(100, func(Piece) { t.Fatal("a piece after Close") }); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed: %v", err)
	}
	if _, err := s.AddSink(5, &recordSink{t: t}).Next(100, func(Piece) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("added after Close: %v", err)
	}
}

// TestLoadPieceNotifies: a watcher of a replica fed by pieces sees each
// entry that is new or changed, and the replica takes the pieces' revision.
func TestLoadPieceNotifies(t *testing.T) {
	r := NewReplica()
	w := r.Watch("")
	defer w.Close()
	if ev := recv(t, w); ev.Op != OpSynced {
		t.Fatalf("got %+v, want the marker", ev)
	}
	r.Apply(Event{Op: OpPut, Key: "a", Value: []byte("1"), Rev: 3, Created: 3})
	recv(t, w)
	r.LoadPiece(5, []Entry{{Key: "a", Value: []byte("1"), Rev: 3, Created: 3}, {Key: "b", Value: []byte("2"), Rev: 4, Created: 4}})
	if ev := recv(t, w); ev.Op != OpPut || ev.Key != "b" || ev.Rev != 4 {
		t.Fatalf("got %+v, want the put of b", ev)
	}
	if r.Rev() != 5 || r.Len() != 2 {
		t.Fatalf("replica at %d with %d keys", r.Rev(), r.Len())
	}
	r.LoadPiece(4, nil) // an older piece (there is none in a stream) moves nothing back
	if r.Rev() != 5 {
		t.Fatalf("replica at %d", r.Rev())
	}
}
