package state

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipeSink plays the transport: it copies what the store gives it (events,
// and the pieces of the snapshot that follow puts in their place) into
// frames, queued without blocking, and a goroutine feeds a replica with
// them, then wipes their bytes (the replica must have copied what it keeps),
// checking that revisions follow each other with no gap.
type pipeSink struct {
	t       testing.TB
	rep     *Replica
	mu      sync.Mutex
	frames  []pipeFrame
	kick    chan struct{}
	stopped chan struct{}
	quit    chan struct{}

	// Owned by run's goroutine.
	started bool   // a frame was applied
	last    uint64 // the revision of the last frame
}

// pipeFrame is an event (piece false) or a piece of the snapshot, with the
// bytes its keys and values are in.
type pipeFrame struct {
	piece   bool
	ev      Event
	rev     uint64
	entries []Entry
	buf     []byte
}

// copyBytes appends b to f's buffer and returns the copy.
func (f *pipeFrame) copyBytes(b []byte) []byte {
	start := len(f.buf)
	f.buf = append(f.buf, b...)
	return f.buf[start:len(f.buf):len(f.buf)]
}

func newPipeSink(t testing.TB) *pipeSink {
	p := &pipeSink{
		t:       t,
		rep:     NewReplica(),
		kick:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
		quit:    make(chan struct{}),
	}
	go p.run()
	return p
}

func (p *pipeSink) push(frame pipeFrame) {
	p.mu.Lock()
	p.frames = append(p.frames, frame)
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// follow adds p to s as sink id and sends it the snapshot, in pieces of
// about size bytes, on the calling goroutine: writes may come in between.
func (p *pipeSink) follow(s *Store, id uint64, size int) {
	sn := s.AddSink(id, p)
	for {
		last, err := sn.Next(size, p.piece)
		if err != nil {
			p.t.Errorf("snapshot of sink %d: %v", id, err)
			return
		}
		if last {
			return
		}
	}
}

func (p *pipeSink) piece(pc Piece) {
	f := pipeFrame{piece: true, rev: pc.Rev, entries: slices.Clone(pc.Entries)}
	for i := range f.entries {
		f.entries[i].Value = f.copyBytes(f.entries[i].Value)
	}
	p.push(f)
}

func (p *pipeSink) Event(ev Event) {
	f := pipeFrame{ev: ev}
	f.ev.Value = f.copyBytes(ev.Value)
	p.push(f)
}

func (p *pipeSink) run() {
	defer close(p.stopped)
	for {
		p.mu.Lock()
		frames := p.frames
		p.frames = nil
		p.mu.Unlock()
		for _, f := range frames {
			p.apply(f)
		}
		if len(frames) > 0 {
			continue
		}
		select {
		case <-p.kick:
		case <-p.quit:
			return
		}
	}
}

func (p *pipeSink) apply(f pipeFrame) {
	if f.piece {
		if p.started && f.rev != p.last {
			p.t.Errorf("piece at revision %d after revision %d", f.rev, p.last)
		}
		p.started, p.last = true, f.rev
		p.rep.LoadPiece(f.rev, f.entries)
		clear(f.buf) // the replica must have copied what it keeps
		return
	}
	if p.started && f.ev.Rev != p.last+1 {
		p.t.Errorf("event at revision %d after revision %d (gap or duplicate)", f.ev.Rev, p.last)
	}
	p.started, p.last = true, f.ev.Rev
	p.rep.Apply(f.ev)
	clear(f.buf)
}

// waitRev waits until the replica has reached rev.
func (p *pipeSink) waitRev(t testing.TB, rev uint64) {
	t.Helper()
	waitFor(t, func() bool { return p.rep.Rev() >= rev }, "replica at revision %d", rev)
}

func (p *pipeSink) close() {
	close(p.quit)
	<-p.stopped
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t testing.TB, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+format, args...)
		}
		time.Sleep(time.Millisecond)
	}
}

// entriesOf returns the entries of r sorted by key.
func entriesOf(r *Replica) (uint64, []Entry) {
	rev, es := r.Entries()
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
	return rev, es
}

// sameContent fails t unless a and b hold the same entries at the same
// revision.
func sameContent(t testing.TB, name string, got, want *Replica) {
	t.Helper()
	grev, gs := entriesOf(got)
	wrev, ws := entriesOf(want)
	if grev != wrev {
		t.Errorf("%s: revision %d, want %d", name, grev, wrev)
	}
	if len(gs) != len(ws) || got.Len() != want.Len() {
		t.Errorf("%s: %d entries (Len %d), want %d (Len %d)", name, len(gs), got.Len(), len(ws), want.Len())
		return
	}
	for i := range gs {
		if !sameEntry(gs[i], ws[i]) {
			t.Errorf("%s: entry %+v, want %+v", name, gs[i], ws[i])
			return
		}
	}
}

func sameEntry(a, b Entry) bool {
	return a.Key == b.Key && bytes.Equal(a.Value, b.Value) && a.Rev == b.Rev &&
		a.Created == b.Created && a.Expires == b.Expires && a.Owner == b.Owner
}

// recv receives one watch event or fails after 5 seconds.
func recv(t testing.TB, w *Watcher) WatchEvent {
	t.Helper()
	select {
	case ev, ok := <-w.C():
		if !ok {
			t.Fatal("watcher closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for a watch event")
	}
	return WatchEvent{}
}

func put(t testing.TB, s *Store, key, value string) Result {
	t.Helper()
	res, err := s.Apply(Write{Kind: KindPut, Key: key, Value: []byte(value)})
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	return res
}
