package wire

import "encoding/binary"

// Ctl is a control command: the first payload byte of a TypeCtl frame.
type Ctl = byte

// Control commands. Most carry a listener's key (4 bytes, big endian)
// after the command: see Keyed.
const (
	CtlReady    Ctl = 1  // worker -> primary: Ready was called
	CtlShutdown Ctl = 2  // primary -> worker: drain and exit
	CtlListen   Ctl = 3  // worker -> primary, a request: [policy] network \0 address
	CtlUnlisten Ctl = 4  // worker -> primary: [key]: the worker closed that listener
	CtlConn     Ctl = 5  // primary -> worker, with a connection: [key], frame id: the hand-off's
	CtlReturn   Ctl = 6  // worker -> primary: [key], frame id: a hand-off it cannot take
	CtlClosed   Ctl = 7  // worker -> primary: [key]: a handed-off connection closed
	CtlAccept   Ctl = 8  // worker -> primary: [key]: its RoundRobin listener is open
	CtlTaken    Ctl = 9  // worker -> primary: [key], frame id: Accept returned that hand-off
	CtlPeers    Ctl = 10 // primary -> worker: [id u32]...: the live workers, after each change
	CtlBye      Ctl = 11 // worker -> primary, a request: this worker leaves on purpose
)

// Keyed returns the payload of the command cmd about the listener key.
func Keyed(cmd Ctl, key uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{cmd}, key)
}

// KeyOf returns the key of a keyed command's payload; ok is false if the
// payload is not a command byte and a key.
func KeyOf(p []byte) (key uint32, ok bool) {
	if len(p) != 5 {
		return 0, false
	}
	return binary.BigEndian.Uint32(p[1:]), true
}
