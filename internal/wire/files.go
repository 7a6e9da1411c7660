package wire

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// maxFilesPerWrite bounds the descriptors of one sendmsg (Linux allows 253).
const maxFilesPerWrite = 250

// maxUnclaimed bounds the received descriptors that wait for their frame. A
// peer that sends more than its frames announce is cut off before it can
// exhaust this process's descriptors.
const maxUnclaimed = 4 * maxFilesPerWrite

// EnqueueFiles queues a frame with files (at most MaxFiles) for the writer
// goroutine, like Enqueue. On success it takes ownership of the files: they
// are closed once written, or when the connection closes first. On error
// they stay the caller's. The connection must be a *net.UnixConn.
func (c *Conn) EnqueueFiles(t Type, peer uint32, id uint64, payload []byte, files []*os.File) error {
	if err := c.checkFiles(files); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.pending = appendHeader(c.pending, t, len(files), peer, id, len(payload))
	c.pending = append(c.pending, payload...)
	c.pfds = append(c.pfds, files...)
	c.kick()
	return nil
}

// Backlog returns the bytes and the descriptors queued and not yet written.
func (c *Conn) Backlog() (bytes, files int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending), len(c.pfds)
}

func (c *Conn) checkFiles(files []*os.File) error {
	if len(files) > MaxFiles {
		return fmt.Errorf("wire: %d files in one frame, at most %d", len(files), MaxFiles)
	}
	if len(files) > 0 && c.uc == nil {
		return fmt.Errorf("wire: files need a unix socket connection")
	}
	return nil
}

// writeBatch writes buf, with fds as ancillary data sent no later than the
// frames they belong to: in chunks of maxFilesPerWrite, each with at least
// one byte of buf, and the rest of buf after.
func (c *Conn) writeBatch(buf []byte, fds []*os.File) error {
	if len(fds) == 0 {
		return c.write(buf, nil)
	}
	defer closeFiles(fds)
	if c.side {
		if err := c.sendSide(fds); err != nil {
			return err
		}
		return c.write(buf, nil)
	}
	for len(fds) > 0 {
		k := min(len(fds), maxFilesPerWrite)
		data := buf
		if k < len(fds) {
			data = buf[:1]
		}
		n, _, err := c.uc.WriteMsgUnix(data, unixRights(fds[:k]), nil)
		if err != nil {
			return err
		}
		buf, fds = buf[n:], fds[k:]
	}
	if len(buf) > 0 {
		return c.write(buf, nil)
	}
	return nil
}

// read fills b from the connection, collecting received descriptors.
func (c *Conn) read(b []byte) (int, error) {
	var n, oobn, flags int
	var err error
	switch {
	case c.side: // descriptors come on the side socket
		if c.raw != nil {
			n, _, _, err = c.raw.read(b, nil)
			return n, err
		}
		return c.rw.Read(b)
	case c.raw != nil:
		n, oobn, flags, err = c.raw.read(b, c.oob)
	case c.uc != nil:
		n, oobn, flags, _, err = c.uc.ReadMsgUnix(b, c.oob)
		if errors.Is(err, io.EOF) {
			err = io.EOF // as Read returns it
		}
	default:
		return c.rw.Read(b)
	}
	if perr := c.takeRights(oobn, flags); perr != nil {
		err = perr
	}
	return n, err
}

// takeRights queues the descriptors of the ancillary data in c.oob[:oobn].
func (c *Conn) takeRights(oobn, flags int) error {
	var err error
	if oobn > 0 {
		fds, perr := parseRights(c.oob[:oobn])
		for _, fd := range fds {
			c.rfds = append(c.rfds, os.NewFile(uintptr(fd), "gocluster-fd"))
		}
		if perr != nil {
			err = fmt.Errorf("%w: bad ancillary data: %w", ErrMalformed, perr)
		} else if len(c.rfds) > maxUnclaimed {
			err = fmt.Errorf("%w: %d descriptors sent that no frame announced", ErrMalformed, len(c.rfds))
		}
	}
	if flags&msgCtrunc != 0 && err == nil {
		err = fmt.Errorf("%w: descriptors truncated", ErrMalformed)
	}
	return err
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}
