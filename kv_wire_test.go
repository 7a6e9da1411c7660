package cluster

import (
	"bytes"
	"testing"
	"time"
)

// FuzzDecodeReply: any bytes decode to an error or to parts that survive
// a round trip.
func FuzzDecodeReply(f *testing.F) {
	f.Add(appendReply(nil, codeOK, 42, []byte("x")))
	f.Add(appendReply(nil, codeFailed, 0, []byte("backend down")))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		code, rev, rest, err := decodeReply(b)
		if err != nil {
			return
		}
		c2, rev2, rest2, err := decodeReply(appendReply(nil, code, rev, rest))
		if err != nil || c2 != code || rev2 != rev || !bytes.Equal(rest2, rest) {
			t.Fatalf("%x decoded to (%d, %d, %x), which does not round-trip: %v", b, code, rev, rest, err)
		}
		_ = codeError(code, string(rest))
	})
}

// FuzzDecodeLoadEnd: the request a worker sends at the end of a load never
// panics the primary, and what decodes encodes back.
func FuzzDecodeLoadEnd(f *testing.F) {
	f.Add(appendLoadEnd(nil, loadOK, time.Second, "key", []byte("value"))[1:])
	f.Add(appendLoadEnd(nil, loadFailed, 0, "k", []byte("error text"))[1:])
	f.Add([]byte{2, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		outcome, ttl, key, rest, err := decodeLoadEnd(b)
		if err != nil {
			return
		}
		if len(key) > MaxKeySize || ttl < 0 || outcome > loadGaveUp {
			t.Fatalf("%x decoded out of bounds: outcome %d ttl %v key %d bytes", b, outcome, ttl, len(key))
		}
		again := appendLoadEnd(nil, outcome, ttl, key, rest)[1:]
		if _, ttl2, key2, rest2, err := decodeLoadEnd(again); err != nil || ttl2 != ttl || key2 != key || !bytes.Equal(rest2, rest) {
			t.Fatalf("round trip of %x: %v", b, err)
		}
	})
}
