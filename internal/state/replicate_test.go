package state

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// resetSink is a Resetter and a Batcher that logs every call in order. It
// keeps the events it is given (they are immutable) and copies the content
// of a Reset (valid only during the call).
type resetSink struct {
	log     []string
	events  []Event
	rev     uint64           // of the last Reset
	content map[string]Entry // of the last Reset
}

func (s *resetSink) Hold()    { s.log = append(s.log, "hold") }
func (s *resetSink) Release() { s.log = append(s.log, "release") }

func (s *resetSink) Event(ev Event) {
	s.log = append(s.log, fmt.Sprintf("event %d %v %s", ev.Rev, ev.Op, ev.Key))
	s.events = append(s.events, ev)
}

func (s *resetSink) Reset(rev uint64, entries []Entry) {
	s.log = append(s.log, fmt.Sprintf("reset %d", rev))
	s.rev, s.content = rev, make(map[string]Entry, len(entries))
	for _, e := range entries {
		if _, dup := s.content[e.Key]; dup {
			panic("Reset gave key " + e.Key + " twice")
		}
		e.Key, e.Value = strings.Clone(e.Key), slices.Clone(e.Value)
		s.content[e.Key] = e
	}
}

// TestStoreReplicate: Replicate applies another store's events with their
// revisions and metadata, skips the ones already applied, hands them to
// the sinks (a Batcher between Hold and Release, once per call), in their
// place among the pieces of a snapshot in progress; owners are not the
// store's business.
func TestStoreReplicate(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	var batcher resetSink
	plain := &recordSink{t: t} // checks that the revisions follow each other
	s.AddSink(1, &batcher).Next(math.MaxInt, func(Piece) {})
	s.AddSink(2, plain).Next(math.MaxInt, func(Piece) {})

	exp := time.Now().Add(time.Hour).UnixNano()
	first := []Event{
		{Op: OpPut, Key: "a", Value: []byte("a1"), Rev: 1, Created: 1, Owner: 7, Origin: 11, Tag: 12},
		{Op: OpPut, Key: "b", Value: []byte("b1"), Rev: 2, Created: 2, Expires: exp},
		{Op: OpPut, Key: "a", Value: []byte("a2"), Rev: 3, Created: 1, Owner: 7},
	}
	for i := range 40 { // enough keys for a snapshot in several pieces
		key := fmt.Sprintf("fill/%02d", i)
		first = append(first, Event{Op: OpPut, Key: key, Value: []byte(key), Rev: uint64(4 + i), Created: uint64(4 + i)})
	}
	s.Replicate(first)
	base := s.Rev() // 43

	// A follower subscribes between the two calls; its snapshot is taken
	// in pieces around the second one.
	p := newPipeSink(t)
	defer p.close()
	sn := s.AddSink(3, p)
	if last, err := sn.Next(1, p.piece); last || err != nil {
		t.Fatalf("first piece of the follower's snapshot: last %v, %v", last, err)
	}

	value := []byte("c")
	second := []Event{
		{Op: OpPut, Key: "b", Value: []byte("stale"), Rev: 2},    // applied already
		{Op: OpPut, Key: "a", Value: []byte("stale"), Rev: base}, // at Rev: applied already
		{Op: OpDelete, Key: "b", Rev: base + 1, Origin: 13, Tag: 14},
		{Op: OpPut, Key: "c", Value: value, Rev: base + 2, Created: base + 2, Expires: exp, Owner: 9},
		{Op: OpPut, Key: "d", Value: []byte("d"), Rev: base + 3}, // no Created: the store's
		{Op: OpPut, Key: "d", Value: []byte("dup"), Rev: base + 3},
	}
	s.Replicate(second)
	copy(value, "X") // the sinks got the stored copies
	for {
		last, err := sn.Next(1, p.piece)
		if err != nil {
			t.Fatal(err)
		}
		if last {
			break
		}
	}

	if s.Rev() != base+3 {
		t.Fatalf("store at revision %d, want %d", s.Rev(), base+3)
	}
	want := map[string]Entry{
		"a": {Key: "a", Value: []byte("a2"), Rev: 3, Created: 1, Owner: 7},
		"c": {Key: "c", Value: []byte("c"), Rev: base + 2, Created: base + 2, Expires: exp, Owner: 9},
		"d": {Key: "d", Value: []byte("d"), Rev: base + 3, Created: base + 3},
	}
	for key, w := range want {
		if got, ok := s.Replica().Get(key); !ok || !sameEntry(got, w) {
			t.Errorf("%q: %+v (%v), want %+v", key, got, ok, w)
		}
	}
	if _, ok := s.Replica().Get("b"); ok || s.Replica().Len() != 43 {
		t.Errorf("b present %v, %d keys, want 43", ok, s.Replica().Len())
	}

	// The Batcher got each call's events between Hold and Release.
	wantLog := []string{"hold", "event 1 put a", "event 2 put b", "event 3 put a"}
	for i := range 40 {
		wantLog = append(wantLog, fmt.Sprintf("event %d put fill/%02d", 4+i, i))
	}
	wantLog = append(wantLog, "release", "hold",
		fmt.Sprintf("event %d delete b", base+1), fmt.Sprintf("event %d put c", base+2),
		fmt.Sprintf("event %d put d", base+3), "release")
	if !reflect.DeepEqual(batcher.log, wantLog) {
		t.Errorf("the Batcher saw\n%q\nwant\n%q", batcher.log, wantLog)
	}
	if !reflect.DeepEqual(batcher.events, plain.events) {
		t.Errorf("the two sinks got different events")
	}
	evs := batcher.events
	if ev := evs[0]; ev.Origin != 11 || ev.Tag != 12 || ev.Owner != 7 || ev.Created != 1 {
		t.Errorf("event 1: %+v", ev)
	}
	if ev := evs[1]; ev.Expires != exp || ev.Created != 2 {
		t.Errorf("event 2: %+v", ev)
	}
	if ev := evs[43]; ev.Op != OpDelete || ev.Origin != 13 || ev.Tag != 14 {
		t.Errorf("event %d: %+v", base+1, ev)
	}
	if ev := evs[44]; string(ev.Value) != "c" || ev.Expires != exp || ev.Owner != 9 || ev.Created != base+2 {
		t.Errorf("event %d: %+v (its value must be the stored copy)", base+2, ev)
	}
	if ev := evs[45]; ev.Created != base+3 || string(ev.Value) != "d" {
		t.Errorf("event %d: %+v (Created must be the stored one)", base+3, ev)
	}

	// The follower holds the content: pieces and events in their places.
	p.waitRev(t, base+3)
	sameContent(t, "the follower", p.rep, s.Replica())

	// Owners are the other store's: its log deletes their keys.
	if n := s.DropOwner(7); n != 0 {
		t.Errorf("DropOwner deleted %d replicated keys", n)
	}
	if _, ok := s.Replica().Get("a"); !ok || len(batcher.events) != 46 {
		t.Errorf("DropOwner changed the replicated content (a present %v, %d events)", ok, len(batcher.events))
	}

	s.Close()
	s.Replicate([]Event{{Op: OpPut, Key: "late", Rev: base + 4}})
	if _, ok := s.Replica().Get("late"); ok || s.Rev() != base+3 || len(batcher.log) != len(wantLog) {
		t.Errorf("Replicate after Close applied something: revision %d, %d calls", s.Rev(), len(batcher.log))
	}
}

// TestStoreReset: Reset replaces the content, whatever the revision, and
// the replica's watchers see the difference; every Resetter gets the new
// content before any later event and its snapshot in progress ends; other
// sinks are removed.
func TestStoreReset(t *testing.T) {
	s := NewStore(StoreOptions{})
	defer s.Close()
	var evs []Event
	for i := range 40 {
		key := fmt.Sprintf("k/%02d", i)
		evs = append(evs, Event{Op: OpPut, Key: key, Value: []byte(key), Rev: uint64(i + 1)})
	}
	s.Replicate(evs) // at revision 40

	var synced, streaming resetSink
	s.AddSink(1, &synced).Next(math.MaxInt, func(Piece) {})
	snStreaming := s.AddSink(2, &streaming)
	other := &recordSink{t: t}
	snOther := s.AddSink(3, other)
	for _, sn := range []*Snapshot{snStreaming, snOther} {
		if last, err := sn.Next(1, func(Piece) {}); last || err != nil {
			t.Fatalf("first piece: last %v, %v", last, err)
		}
	}
	w := s.Replica().Watch("k/")
	defer w.Close()
	for range 41 { // the entries and the marker
		recv(t, w)
	}

	// The other store lost data: its content is at revision 30, with keys
	// the same, changed (one at the same revision with another value, as
	// a reused revision would be), gone and new.
	var content []Entry
	for i := range 40 {
		key := fmt.Sprintf("k/%02d", i)
		e := Entry{Key: key, Value: []byte(key), Rev: uint64(i + 1), Created: uint64(i + 1)}
		switch {
		case i == 5:
			e.Value = []byte("reused revision")
		case i >= 20 && i < 25:
			e.Value, e.Rev, e.Owner = []byte("changed"), 28, 4
		case i >= 25:
			continue // gone
		}
		content = append(content, e)
	}
	content = append(content,
		Entry{Key: "k/new", Value: []byte("old"), Rev: 29, Created: 29},
		Entry{Key: "k/new", Value: []byte("new"), Rev: 30, Created: 29}, // of two, the last
		Entry{Key: "other", Value: []byte("o"), Rev: 27, Created: 27, Expires: 123})
	s.Reset(30, content)

	// The store holds exactly the new content.
	want := NewReplica()
	want.Load(30, content)
	sameContent(t, "the store", s.Replica(), want)

	// The watcher saw the difference, then a later event.
	s.Replicate([]Event{
		{Op: OpPut, Key: "k/00", Value: []byte("stale"), Rev: 30}, // at the new revision: skipped
		{Op: OpPut, Key: "k/end", Value: []byte("e"), Rev: 31},
	})
	seen := map[string]WatchEvent{}
	for range 100 {
		ev := recv(t, w)
		if ev.Key == "k/end" {
			break
		}
		if _, dup := seen[ev.Key]; dup {
			t.Errorf("watch event %+v after %+v", ev, seen[ev.Key])
		}
		seen[ev.Key] = ev
	}
	wantSeen := map[string]WatchEvent{
		"k/05":  {Op: OpPut, Key: "k/05", Value: []byte("reused revision"), Rev: 6},
		"k/new": {Op: OpPut, Key: "k/new", Value: []byte("new"), Rev: 30},
	}
	for i := 20; i < 40; i++ {
		key := fmt.Sprintf("k/%02d", i)
		if i < 25 {
			wantSeen[key] = WatchEvent{Op: OpPut, Key: key, Value: []byte("changed"), Rev: 28}
		} else {
			wantSeen[key] = WatchEvent{Op: OpDelete, Key: key, Rev: 30}
		}
	}
	if !reflect.DeepEqual(seen, wantSeen) {
		t.Errorf("the watcher saw\n%v\nwant\n%v", seen, wantSeen)
	}

	// Every Resetter got the stored content, then the later event; a
	// snapshot in progress ended.
	for name, rs := range map[string]*resetSink{"synced": &synced, "streaming": &streaming} {
		if got := rs.log[len(rs.log)-4:]; !reflect.DeepEqual(got, []string{"reset 30", "hold", "event 31 put k/end", "release"}) {
			t.Errorf("%s sink: its calls end with %q", name, got)
		}
		if rs.rev != 30 || len(rs.content) != want.Len() {
			t.Errorf("%s sink: reset at %d with %d keys, want 30 and %d", name, rs.rev, len(rs.content), want.Len())
		}
		for _, e := range content[len(content)-2:] {
			if got := rs.content[e.Key]; !sameEntry(got, e) {
				t.Errorf("%s sink: %q is %+v, want %+v", name, e.Key, got, e)
			}
		}
	}
	if last, err := snStreaming.Next(1, func(p Piece) { t.Errorf("piece after the reset: %+v", p) }); !last || err != nil {
		t.Errorf("the snapshot in progress did not end: last %v, %v", last, err)
	}

	// The sink that is no Resetter was removed.
	if _, err := snOther.Next(1, func(Piece) {}); !errors.Is(err, ErrSinkRemoved) {
		t.Errorf("the other sink's snapshot: %v, want ErrSinkRemoved", err)
	}
	if len(other.events) != 0 {
		t.Errorf("the other sink got %d events after it was removed", len(other.events))
	}

	s.Close()
	calls := len(synced.log)
	s.Reset(50, []Entry{{Key: "late", Rev: 50}})
	if _, ok := s.Replica().Get("late"); ok || s.Rev() != 31 || len(synced.log) != calls {
		t.Errorf("Reset after Close changed something: revision %d, %d calls, want %d", s.Rev(), len(synced.log), calls)
	}
}
