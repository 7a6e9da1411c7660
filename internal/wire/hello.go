package wire

import (
	"encoding/binary"
	"fmt"
)

const magic = "gocluster"

// HelloPayload returns the payload of a Hello frame for this version.
func HelloPayload() []byte {
	return binary.BigEndian.AppendUint16([]byte(magic), Version)
}

// CheckHello validates the first frame received on a connection: it must be
// a Hello with the magic string and this package's Version.
func CheckHello(f Frame) error {
	if f.Type != TypeHello {
		return fmt.Errorf("%w: first frame is %v, want hello", ErrHandshake, f.Type)
	}
	p := f.Payload
	if len(p) != len(magic)+2 || string(p[:len(magic)]) != magic {
		return fmt.Errorf("%w: not a gocluster peer", ErrHandshake)
	}
	if v := binary.BigEndian.Uint16(p[len(magic):]); v != Version {
		return fmt.Errorf("%w: peer speaks version %d, this side %d", ErrVersion, v, Version)
	}
	return nil
}
