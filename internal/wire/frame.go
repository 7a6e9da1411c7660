// Package wire is the framing protocol spoken between a gocluster primary and
// its workers over a unix socketpair.
//
// # Frames
//
// Every frame is a 17-byte header followed by a payload:
//
//	offset size field
//	0      4    length of everything after this field (13 + payload), big endian
//	4      1    type (see the Type constants) in the low 6 bits; in the high 2
//	            bits, how many file descriptors travel with the frame (0-3)
//	5      4    peer: on a Msg or Req sent by a worker, the worker it is for
//	            (0 = the primary); on one sent by the primary, the worker it
//	            comes from (0 = the primary itself)
//	9      8    id: the request id of a Req, Rep or RepErr (0 on other frames)
//	17     n    payload
//
// File descriptors (a listening socket, a connection, a file) travel beside
// the bytes as SCM_RIGHTS ancillary data of the write that carries the frame
// (or an earlier byte of the same write); the reader queues every descriptor
// it receives and hands each frame as many as its header announces.
//
// The first frame in each direction is a Hello carrying the magic string and
// the protocol version. Frames are written in order; a writer coalesces the
// frames queued while a write is in flight into the next single write.
//
// # Failure modes
//
//   - A payload longer than the reader's maximum frame size: ErrFrameTooLarge;
//     the reader stops and the connection must be closed (the rest of the
//     stream cannot be trusted).
//   - A length field shorter than the header, an unknown type, or a frame that
//     announces more descriptors than arrived: ErrMalformed.
//   - A first frame that is not a Hello, or carries the wrong magic: ErrHandshake.
//   - A Hello with another version: ErrVersion (both versions in the message).
//   - A stream that ends inside a frame: io.ErrUnexpectedEOF; between frames: io.EOF.
//   - A write after Close or after a failed write: ErrClosed (wrapping the cause).
//
// None of these panic; each is returned to the caller, which closes the
// connection it came from.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// Version is the protocol version this package speaks.
const Version = 4

// HeaderSize is the size of a frame header in bytes.
const HeaderSize = 17

// DefaultMaxFrame is the default largest payload a reader accepts: 16 MiB,
// room for 1 MiB values with space to spare.
const DefaultMaxFrame = 16 << 20

// Type is a frame type.
type Type uint8

// Frame types.
const (
	TypeHello  Type = 1 // handshake: magic + version
	TypeMsg    Type = 2 // one-way message
	TypeReq    Type = 3 // request; the reply carries the same id
	TypeRep    Type = 4 // reply to a request
	TypeRepErr Type = 5 // error reply: the payload is the error text
	TypeCtl    Type = 6 // control: the first payload byte is the command
	TypeState  Type = 7 // shared state: a worker's request (first byte: the operation), answered by Rep
	TypeDelta  Type = 8 // shared state: the primary's snapshot or change, in revision order
	typeEnd    Type = 9
)

// String returns the frame type's name.
func (t Type) String() string {
	switch t {
	case TypeHello:
		return "hello"
	case TypeMsg:
		return "msg"
	case TypeReq:
		return "req"
	case TypeRep:
		return "rep"
	case TypeRepErr:
		return "reperr"
	case TypeCtl:
		return "ctl"
	case TypeState:
		return "state"
	case TypeDelta:
		return "delta"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Errors returned by the decoder and the handshake.
var (
	ErrFrameTooLarge = errors.New("wire: frame too large")
	ErrMalformed     = errors.New("wire: malformed frame")
	ErrHandshake     = errors.New("wire: bad handshake")
	ErrVersion       = errors.New("wire: protocol version mismatch")
	ErrClosed        = errors.New("wire: connection closed")
)

// MaxFiles is the largest number of descriptors one frame can carry.
const MaxFiles = 3

// Frame is one decoded frame. A Frame returned by Conn.ReadFrame aliases the
// connection's read buffer: its Payload is valid until the next ReadFrame.
// Its Files belong to the caller, who must close them.
type Frame struct {
	Type    Type
	Peer    uint32
	ID      uint64
	Payload []byte
	Files   []*os.File

	nfd int // descriptors announced by the header
}

// AppendFrame appends the encoding of a frame to b.
func AppendFrame(b []byte, t Type, peer uint32, id uint64, payload []byte) []byte {
	b = appendHeader(b, t, 0, peer, id, len(payload))
	return append(b, payload...)
}

func appendHeader(b []byte, t Type, nfd int, peer uint32, id uint64, n int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(HeaderSize-4+n))
	b = append(b, byte(t)|byte(nfd)<<6)
	b = binary.BigEndian.AppendUint32(b, peer)
	return binary.BigEndian.AppendUint64(b, id)
}

// ParseHeader decodes a frame header from the first HeaderSize bytes of h
// and returns the frame without its payload and the payload length. It
// rejects unknown types and payloads longer than max.
func ParseHeader(h []byte, max int) (f Frame, n int, err error) {
	if len(h) < HeaderSize {
		return f, 0, fmt.Errorf("%w: short header (%d bytes)", ErrMalformed, len(h))
	}
	l := binary.BigEndian.Uint32(h)
	if l < HeaderSize-4 {
		return f, 0, fmt.Errorf("%w: length %d shorter than the header", ErrMalformed, l)
	}
	if uint64(l)-(HeaderSize-4) > uint64(max) {
		return f, 0, fmt.Errorf("%w: payload of %d bytes, limit %d", ErrFrameTooLarge, uint64(l)-(HeaderSize-4), max)
	}
	f.Type = Type(h[4] & 0x3f)
	f.nfd = int(h[4] >> 6)
	if f.Type == 0 || f.Type >= typeEnd {
		return f, 0, fmt.Errorf("%w: unknown type %d", ErrMalformed, f.Type)
	}
	f.Peer = binary.BigEndian.Uint32(h[5:])
	f.ID = binary.BigEndian.Uint64(h[9:])
	return f, int(l) - (HeaderSize - 4), nil
}

// IsProtocolError reports whether err means the peer broke the protocol
// (garbage, an oversized frame, a bad handshake), as opposed to the
// connection merely ending.
func IsProtocolError(err error) bool {
	return errors.Is(err, ErrMalformed) || errors.Is(err, ErrFrameTooLarge) ||
		errors.Is(err, ErrHandshake) || errors.Is(err, ErrVersion)
}
