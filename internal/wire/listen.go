package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// A worker's listen request is a CtlListen control frame sent as a call:
//
//	[CtlListen][policy] network \0 address
//
// The primary answers with a Rep frame (with the listening socket beside it
// for the policies that share one):
//
//	[policy][key u32][bound address]   listening; policy is never 0
//	[0][errno u32][reason]             refused (errno 0: no system error)
//
// The list of live workers the primary sends after each change is a
// CtlPeers control frame: [CtlPeers] then each id as a u32.

// AppendListen appends a listen request.
func AppendListen(b []byte, policy byte, network, address string) []byte {
	b = append(b, CtlListen, policy)
	b = append(b, network...)
	b = append(b, 0)
	return append(b, address...)
}

// ParseListen splits a listen request (with its command byte). It accepts
// any bytes.
func ParseListen(p []byte) (policy byte, network, address string, err error) {
	if len(p) < 2 || p[0] != CtlListen {
		return 0, "", "", fmt.Errorf("%w: short listen request", ErrMalformed)
	}
	i := bytes.IndexByte(p[2:], 0)
	if i < 0 {
		return 0, "", "", fmt.Errorf("%w: listen request without a network", ErrMalformed)
	}
	return p[1], string(p[2 : 2+i]), string(p[3+i:]), nil
}

// AppendListenReply appends the answer to a listen the primary did.
func AppendListenReply(b []byte, policy byte, key uint32, addr string) []byte {
	return append(binary.BigEndian.AppendUint32(append(b, policy), key), addr...)
}

// AppendListenRefusal appends the answer to a listen the primary could not
// do.
func AppendListenRefusal(b []byte, errno uint32, reason string) []byte {
	return append(binary.BigEndian.AppendUint32(append(b, 0), errno), reason...)
}

// ListenReply is a parsed answer to a listen request.
type ListenReply struct {
	Policy byte   // 0: refused
	Key    uint32 // the listener's key (listening)
	Addr   string // the bound address (listening)
	Errno  uint32 // the system error (refused; 0: none)
	Reason string // why (refused)
}

// ParseListenReply parses the answer to a listen request. It accepts any
// bytes.
func ParseListenReply(p []byte) (ListenReply, error) {
	if len(p) < 5 {
		return ListenReply{}, fmt.Errorf("%w: short listen reply", ErrMalformed)
	}
	n, rest := binary.BigEndian.Uint32(p[1:]), string(p[5:])
	if p[0] == 0 {
		return ListenReply{Errno: n, Reason: rest}, nil
	}
	return ListenReply{Policy: p[0], Key: n, Addr: rest}, nil
}

// AppendPeers appends a CtlPeers control payload listing ids.
func AppendPeers(b []byte, ids []uint32) []byte {
	b = append(b, CtlPeers)
	for _, id := range ids {
		b = binary.BigEndian.AppendUint32(b, id)
	}
	return b
}

// ParsePeers parses a CtlPeers control payload (with its command byte).
func ParsePeers(p []byte) ([]uint32, error) {
	if len(p) < 1 || (len(p)-1)%4 != 0 {
		return nil, fmt.Errorf("%w: worker list of %d bytes", ErrMalformed, len(p))
	}
	ids := make([]uint32, 0, (len(p)-1)/4)
	for b := p[1:]; len(b) > 0; b = b[4:] {
		ids = append(ids, binary.BigEndian.Uint32(b))
	}
	return ids, nil
}
