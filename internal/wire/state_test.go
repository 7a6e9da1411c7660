package wire

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/state"
)

func TestCodecRoundTrip(t *testing.T) {
	writes := []state.Write{
		{Kind: state.KindPut, Key: "k", Value: []byte("v")},
		{Kind: state.KindCreate, Key: "k", TTL: time.Minute, Owner: 7},
		{Kind: state.KindUpdate, Key: strings.Repeat("x", 300), Value: make([]byte, 1000), PrevRev: math.MaxUint64},
		{Kind: state.KindDelete, Key: "d", PrevRev: 3},
	}
	for _, w := range writes {
		got, err := DecodeWrite(AppendWrite([]byte("junk"), w)[4:])
		if err != nil || !reflect.DeepEqual(got, w) {
			t.Errorf("write %+v: %+v, %v", w, got, err)
		}
	}
	events := []state.Event{
		{Op: state.OpPut, Key: "k", Value: []byte("v"), Rev: 5, Created: 2, Expires: math.MaxInt64, Owner: 1},
		{Op: state.OpPut, Key: "k", Rev: 1, Created: 1},
		{Op: state.OpDelete, Key: "k", Rev: 9},
		{Op: state.OpExpire, Key: "k", Rev: 10},
	}
	for _, ev := range events {
		got, err := DecodeEvent(AppendEvent(nil, ev))
		if err != nil || !reflect.DeepEqual(got, ev) {
			t.Errorf("event %+v: %+v, %v", ev, got, err)
		}
	}
	entries := []state.Entry{
		{Key: "a", Value: []byte("1"), Rev: 3, Created: 1, Expires: 12345, Owner: 4},
		{Key: "b", Rev: 7, Created: 7},
	}
	rev, got, err := DecodeSnapshot(AppendSnapshot(nil, 7, entries), nil)
	if err != nil || rev != 7 || !reflect.DeepEqual(got, entries) {
		t.Errorf("snapshot: %d %+v, %v", rev, got, err)
	}
	// Decoded into a slice with room, whose old content must not show.
	dst := make([]state.Entry, 3, 8)
	for i := range dst {
		dst[i] = state.Entry{Key: "old", Value: []byte("old"), Rev: 99, Created: 99, Expires: 99, Owner: 99}
	}
	rev, got, err = DecodeSnapshot(AppendSnapshot(nil, 7, entries), dst)
	if err != nil || rev != 7 || !reflect.DeepEqual(got, entries) || &got[0] != &dst[0] {
		t.Errorf("snapshot into a reused slice: %d %+v, %v", rev, got, err)
	}
	rev, got, err = DecodeSnapshot(AppendSnapshot(nil, 0, nil), nil)
	if err != nil || rev != 0 || len(got) != 0 {
		t.Errorf("empty snapshot: %d %+v, %v", rev, got, err)
	}
}

func TestCodecMalformed(t *testing.T) {
	put := AppendEvent(nil, state.Event{Op: state.OpPut, Key: "k", Value: []byte("v"), Rev: 2, Created: 1})
	bad := map[string][]byte{
		"empty":          {},
		"unknown op":     {9, 1, 'k', 1},
		"synced op":      {byte(state.OpSynced), 1, 'k', 1},
		"empty key":      {byte(state.OpDelete), 0, 1},
		"revision 0":     {byte(state.OpDelete), 1, 'k', 0},
		"truncated":      put[:len(put)-1],
		"trailing":       append(append([]byte{}, put...), 0),
		"long length":    {byte(state.OpDelete), 0xff, 0xff, 0xff, 0xff, 0x0f, 'k'},
		"overlong":       {byte(state.OpDelete), 0x81, 0x00, 'k', 1},
		"overflow":       {byte(state.OpDelete), 1, 'k', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"created 0":      AppendEvent(nil, state.Event{Op: state.OpPut, Key: "k", Rev: 2}),
		"created > rev":  AppendEvent(nil, state.Event{Op: state.OpPut, Key: "k", Rev: 2, Created: 3}),
		"negative dline": AppendEvent(nil, state.Event{Op: state.OpPut, Key: "k", Rev: 2, Created: 1, Expires: -1}),
	}
	for name, b := range bad {
		if _, err := DecodeEvent(b); !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "wire: ") {
			t.Errorf("event %s: %v", name, err)
		}
	}
	badWrites := map[string][]byte{
		"kind 0":       AppendWrite(nil, state.Write{Kind: 0, Key: "k"}),
		"negative ttl": AppendWrite(nil, state.Write{Kind: state.KindPut, Key: "k", TTL: -time.Second}),
		"truncated":    AppendWrite(nil, state.Write{Kind: state.KindPut, Key: "k"})[:3],
	}
	for name, b := range badWrites {
		if _, err := DecodeWrite(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("write %s: %v", name, err)
		}
	}
	badSnaps := map[string][]byte{
		"huge count":   {5, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"rev above":    AppendSnapshot(nil, 2, []state.Entry{{Key: "k", Rev: 3, Created: 1}}),
		"entry rev 0":  AppendSnapshot(nil, 2, []state.Entry{{Key: "k", Created: 1}}),
		"empty key":    AppendSnapshot(nil, 2, []state.Entry{{Rev: 1, Created: 1}}),
		"short entry":  {5, 1, 1, 'k', 0},
		"trailing":     append(AppendSnapshot(nil, 1, nil), 0),
		"count > data": {5, 2, 1, 'k', 0, 1, 1, 0, 0},
	}
	for name, b := range badSnaps {
		if _, _, err := DecodeSnapshot(b, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("snapshot %s: %v", name, err)
		}
	}
}

// TestDecodeAliasing checks what the decoders share with their input, as
// documented: keys and values.
func TestDecodeAliasing(t *testing.T) {
	b := AppendEvent(nil, state.Event{Op: state.OpPut, Key: "key", Value: []byte("value"), Rev: 1, Created: 1})
	ev, _ := DecodeEvent(b)
	wb := AppendWrite(nil, state.Write{Kind: state.KindPut, Key: "key", Value: []byte("value")})
	w, _ := DecodeWrite(wb)
	sb := AppendSnapshot(nil, 1, []state.Entry{{Key: "key", Value: []byte("value"), Rev: 1, Created: 1}})
	_, entries, _ := DecodeSnapshot(sb, nil)
	for _, buf := range [][]byte{b, wb, sb} {
		copy(buf, bytes.Repeat([]byte{'X'}, len(buf)))
	}
	if ev.Key != "XXX" || string(ev.Value) != "XXXXX" || w.Key != "XXX" || string(w.Value) != "XXXXX" ||
		entries[0].Key != "XXX" || string(entries[0].Value) != "XXXXX" {
		t.Errorf("decoded event %q=%q, write %q=%q, snapshot entry %q=%q: they should alias the input",
			ev.Key, ev.Value, w.Key, w.Value, entries[0].Key, entries[0].Value)
	}
}

func sameEntry(a, b state.Entry) bool {
	return a.Key == b.Key && bytes.Equal(a.Value, b.Value) && a.Rev == b.Rev &&
		a.Created == b.Created && a.Expires == b.Expires && a.Owner == b.Owner
}
