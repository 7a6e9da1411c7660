package wire

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// Pipes is a channel whose frames travel in two one-way pipes (R is read,
// W is written) and whose descriptors travel on a unix socket beside them
// (FD).
//
// Why not one socket: the runtime's poller watches a socket for both
// directions, so every time the peer reads what this side wrote, the
// socket turns writable and a sleeping thread of this process is woken for
// nothing. On a ping-pong that is a second wake-up per message in each
// process. A pipe's ends are separate files: the reading end is never
// woken by writes draining. Descriptors cannot cross a pipe, so a frame
// that announces some finds them on FD, where the writer sent them first.
type Pipes struct {
	R, W *os.File
	FD   *net.UnixConn
}

// Read reads frames' bytes from R.
func (p *Pipes) Read(b []byte) (int, error) { return p.R.Read(b) }

// Write writes frames' bytes to W.
func (p *Pipes) Write(b []byte) (int, error) { return p.W.Write(b) }

// CloseWrite closes W: the peer reads the end of the stream, and R can
// still be read to its end.
func (p *Pipes) CloseWrite() error { return p.W.Close() }

// Close closes the pipes and the socket.
func (p *Pipes) Close() error {
	return errors.Join(p.R.Close(), p.W.Close(), p.FD.Close())
}

// sideWait bounds the wait for descriptors a frame announced: the writer
// sends them before the frame, so they are there or never come.
const sideWait = 5 * time.Second

// sendSide sends descriptors on the side socket, in chunks of
// maxFilesPerWrite, each with one byte.
func (c *Conn) sendSide(fds []*os.File) error {
	for len(fds) > 0 {
		k := min(len(fds), maxFilesPerWrite)
		if _, _, err := c.uc.WriteMsgUnix([]byte{0}, unixRights(fds[:k]), nil); err != nil {
			return err
		}
		fds = fds[k:]
	}
	return nil
}

// recvSide reads descriptors from the side socket until n more are queued.
func (c *Conn) recvSide(n int) error {
	want := len(c.rfds) + n
	c.uc.SetReadDeadline(time.Now().Add(sideWait))
	defer c.uc.SetReadDeadline(time.Time{})
	var one [1]byte
	for len(c.rfds) < want {
		_, oobn, flags, _, err := c.uc.ReadMsgUnix(one[:], c.oob)
		if err := c.takeRights(oobn, flags); err != nil {
			return err
		}
		if err != nil {
			return fmt.Errorf("%w: frame announces %d descriptors, %d arrived: %w", ErrMalformed, n, len(c.rfds)-(want-n), err)
		}
	}
	return nil
}
