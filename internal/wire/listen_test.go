package wire

import (
	"slices"
	"testing"
)

// FuzzParseListen: a worker's listen request never panics the primary, and
// what parses encodes back to the same bytes.
func FuzzParseListen(f *testing.F) {
	f.Add(AppendListen(nil, 2, "tcp", "127.0.0.1:0"))
	f.Add([]byte{CtlListen, 1, 0})
	f.Add([]byte{CtlListen})
	f.Fuzz(func(t *testing.T, b []byte) {
		policy, network, address, err := ParseListen(b)
		if err != nil {
			return
		}
		if again := AppendListen(nil, policy, network, address); string(again) != string(b) {
			t.Fatalf("%q parsed to (%d, %q, %q), which encodes to %q", b, policy, network, address, again)
		}
	})
}

// FuzzParseListenReply: the primary's answer never panics a worker, and
// what parses encodes back to the same bytes.
func FuzzParseListenReply(f *testing.F) {
	f.Add(AppendListenReply(nil, 2, 7, "127.0.0.1:8080"))
	f.Add(AppendListenRefusal(nil, 98, "bind: address already in use"))
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseListenReply(b)
		if err != nil {
			return
		}
		again := AppendListenReply(nil, r.Policy, r.Key, r.Addr)
		if r.Policy == 0 {
			again = AppendListenRefusal(nil, r.Errno, r.Reason)
		}
		if string(again) != string(b) {
			t.Fatalf("%q parsed to %+v, which encodes to %q", b, r, again)
		}
	})
}

// FuzzParsePeers: any list parses to ids that encode back to it, or fails.
func FuzzParsePeers(f *testing.F) {
	f.Add(AppendPeers(nil, []uint32{1, 2, 3}))
	f.Add([]byte{CtlPeers, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := ParsePeers(b)
		if err != nil {
			return
		}
		if again := AppendPeers(nil, ids); len(b) > 0 && string(again[1:]) != string(b[1:]) {
			t.Fatalf("%x parsed to %v, which encodes to %x", b, ids, again)
		}
	})
}

func TestListenRoundTrip(t *testing.T) {
	p, n, a, err := ParseListen(AppendListen(nil, 3, "unix", "/tmp/s\x00ock"))
	if err != nil || p != 3 || n != "unix" || a != "/tmp/s\x00ock" {
		t.Fatalf("(%d, %q, %q, %v)", p, n, a, err)
	}
	ids, err := ParsePeers(AppendPeers(nil, []uint32{5, 1}))
	if err != nil || !slices.Equal(ids, []uint32{5, 1}) {
		t.Fatalf("%v %v", ids, err)
	}
}
