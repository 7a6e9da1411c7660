package wire

import (
	"bytes"
	"io"
	"testing"
)

// FuzzReadFrame feeds arbitrary bytes to the decoder: it must never panic,
// never return a payload over the limit, and every frame it accepts must
// encode back to the bytes it was read from.
func FuzzReadFrame(f *testing.F) {
	f.Add(AppendFrame(nil, TypeHello, 0, 0, HelloPayload()))
	f.Add(AppendFrame(AppendFrame(nil, TypeReq, 3, 9, []byte("req")), TypeRep, 0, 9, nil))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 2})
	f.Add([]byte{0, 0, 0, 13, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	const max = 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewConn(readOnly{bytes.NewReader(data)}, max)
		defer c.Close()
		off := 0
		for {
			fr, err := c.ReadFrame()
			if err != nil {
				return
			}
			if len(fr.Payload) > max {
				t.Fatalf("payload of %d bytes over the limit %d", len(fr.Payload), max)
			}
			enc := AppendFrame(nil, fr.Type, fr.Peer, fr.ID, fr.Payload)
			if !bytes.Equal(enc, data[off:off+len(enc)]) {
				t.Fatalf("frame %+v does not re-encode to its input", fr)
			}
			if err := CheckHello(fr); err == nil && fr.Type != TypeHello {
				t.Fatalf("CheckHello accepted a %v frame", fr.Type)
			}
			off += len(enc)
		}
	})
}

type readOnly struct{ io.Reader }

func (readOnly) Write(b []byte) (int, error) { return len(b), nil }
func (readOnly) Close() error                { return nil }
