package state

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestScanSortedUnderPrefix(t *testing.T) {
	r := NewReplica()
	keys := []string{"b/2", "a", "b/10", "b/1", "b", "c/1", "b/\xff", "ba"}
	for i, k := range keys {
		r.Apply(Event{Op: OpPut, Key: k, Value: []byte(k), Rev: uint64(i + 1)})
	}
	r.Apply(Event{Op: OpDelete, Key: "b/2", Rev: 20})
	rev, refs := r.Scan("b/")
	got := make([]string, len(refs))
	for i, x := range refs {
		got[i] = x.Key()
		if e := x.Entry(); e.Key != x.Key() || string(e.Value) != x.Key() {
			t.Fatalf("entry %+v under key %q", e, x.Key())
		}
	}
	if want := []string{"b/1", "b/10", "b/\xff"}; rev != 20 || !slices.Equal(got, want) {
		t.Fatalf("Scan(b/) = rev %d %q, want rev 20 %q", rev, got, want)
	}
	_, all := r.Scan("")
	if len(all) != len(keys)-1 || all[0].Key() != "a" || all[len(all)-1].Key() != "c/1" {
		t.Fatalf("Scan(\"\") gave %d entries", len(all))
	}
	if _, none := r.Scan("zz"); len(none) != 0 {
		t.Fatalf("Scan(zz) = %d entries", len(none))
	}
}

// TestScanIsOneRevision: entries applied after a scan do not change it, and
// its references keep the values they had.
func TestScanIsOneRevision(t *testing.T) {
	r := NewReplica()
	for i := range 100 {
		r.Apply(Event{Op: OpPut, Key: fmt.Sprintf("k/%03d", i), Value: []byte("old"), Rev: uint64(i + 1)})
	}
	rev, refs := r.Scan("k/")
	for i := range 100 {
		r.Apply(Event{Op: OpPut, Key: fmt.Sprintf("k/%03d", i), Value: []byte("new"), Rev: uint64(200 + i)})
	}
	r.Apply(Event{Op: OpPut, Key: "k/zzz", Value: []byte("new"), Rev: 400}) // grows the table
	if rev != 100 || len(refs) != 100 {
		t.Fatalf("rev %d, %d refs", rev, len(refs))
	}
	for _, x := range refs {
		if e := x.Entry(); string(e.Value) != "old" || e.Rev > 100 {
			t.Fatalf("%q changed under the scan: %+v", x.Key(), e)
		}
	}
}

// FuzzScan applies puts and deletes decoded from the input to a replica and
// to a plain map, and checks that Scan of a prefix lists the map's keys
// under it, in order, with their values.
func FuzzScan(f *testing.F) {
	f.Add([]byte("+a1+ab2+b3-a+abc4"), "a")
	f.Add([]byte("+x1+y2+z3"), "")
	f.Add([]byte("+\xff\x00+\xff1-\xff"), "\xff")
	f.Fuzz(func(t *testing.T, ops []byte, prefix string) {
		r := NewReplica()
		want := map[string]string{}
		rev := uint64(0)
		// Each op: '-' then a 2-byte key (a delete), or any other byte, a
		// 2-byte key and a 1-byte value (a put).
		for len(ops) >= 3 {
			op, key := ops[0], string(ops[1:3])
			ops = ops[3:]
			rev++
			switch {
			case op != '-' && len(ops) > 0:
				val := string(ops[:1])
				ops = ops[1:]
				r.Apply(Event{Op: OpPut, Key: key, Value: []byte(val), Rev: rev})
				want[key] = val
			default:
				r.Apply(Event{Op: OpDelete, Key: key, Rev: rev})
				delete(want, key)
			}
		}
		gotRev, refs := r.Scan(prefix)
		var keys []string
		for k := range maps.Keys(want) {
			if strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		if gotRev != rev || len(refs) != len(keys) {
			t.Fatalf("Scan(%q): rev %d with %d entries, want rev %d with %d", prefix, gotRev, len(refs), rev, len(keys))
		}
		for i, x := range refs {
			if x.Key() != keys[i] || string(x.Entry().Value) != want[keys[i]] {
				t.Fatalf("entry %d: %q=%q, want %q=%q", i, x.Key(), x.Entry().Value, keys[i], want[keys[i]])
			}
		}
	})
}
