package wire

import (
	"bytes"
	"testing"
	"time"
)

// FuzzParseStateReply: any bytes decode to an error or to parts that
// survive a round trip.
func FuzzParseStateReply(f *testing.F) {
	f.Add(AppendStateReply(nil, 42, []byte("x")))
	f.Add(AppendStateReply(nil, 0, []byte{LoadLead}))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		rev, rest, err := ParseStateReply(b)
		if err != nil {
			return
		}
		rev2, rest2, err := ParseStateReply(AppendStateReply(nil, rev, rest))
		if err != nil || rev2 != rev || !bytes.Equal(rest2, rest) {
			t.Fatalf("%x decoded to (%d, %x), which does not round-trip: %v", b, rev, rest, err)
		}
	})
}

// FuzzParseLoadEnd: the request a worker sends at the end of a load never
// panics the primary, and what decodes encodes back.
func FuzzParseLoadEnd(f *testing.F) {
	f.Add(AppendLoadEnd(nil, LoadOK, time.Second, "key", []byte("value"))[1:])
	f.Add(AppendLoadEnd(nil, LoadFailed, 0, "k", []byte("error text"))[1:])
	f.Add([]byte{2, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		outcome, ttl, key, rest, err := ParseLoadEnd(b)
		if err != nil {
			return
		}
		if len(key) > MaxKey || ttl < 0 || outcome > LoadGaveUp {
			t.Fatalf("%x decoded out of bounds: outcome %d ttl %v key %d bytes", b, outcome, ttl, len(key))
		}
		again := AppendLoadEnd(nil, outcome, ttl, key, rest)[1:]
		if _, ttl2, key2, rest2, err := ParseLoadEnd(again); err != nil || ttl2 != ttl || key2 != key || !bytes.Equal(rest2, rest) {
			t.Fatalf("round trip of %x: %v", b, err)
		}
	})
}
