package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/gocluster/cluster/internal/link"
	"github.com/gocluster/cluster/internal/wire"
)

// SendHandle sends a message with a handle to the worker, Node's
// worker.send(msg, handle): h is an *os.File, a net.Conn or a net.Listener
// (TCP, UDP or unix). The worker receives a duplicate of its descriptor in
// Message.File (Message.Conn and Message.Listener rebuild the connection or
// listener); the caller keeps h and may close it once SendHandle returns.
func (w *Worker) SendHandle(msg []byte, h any) error {
	return sendHandle(w.ep, 0, msg, h)
}

// SendHandle sends a message with a handle to the primary; see
// [Worker.SendHandle]. Like [Send], it returns once the message and the
// descriptor are written to the channel.
func SendHandle(msg []byte, h any) error { return SendHandleTo(context.Background(), 0, msg, h) }

// SendHandleTo sends a message with a handle to the worker with the given
// id (0: the primary), routed by the primary. Like [SendTo], it returns
// [ErrNoWorker] if no live worker has that id, and waits until ctx ends.
func SendHandleTo(ctx context.Context, id int, msg []byte, h any) error {
	if self == nil {
		return ErrNotWorker
	}
	if id != 0 {
		if err := self.peers.check(ctx, id); err != nil {
			return opErr(fmt.Sprintf("send handle to worker %d", id), err)
		}
	}
	if err := sendHandle(self.ep, uint32(id), msg, h); err != nil {
		return err
	}
	return self.ep.WaitWritten(ctx)
}

func sendHandle(l *link.Link, peer uint32, msg []byte, h any) error {
	if len(msg) > l.Max() {
		return tooLarge(len(msg), l.Max())
	}
	files, err := fileOf(h)
	if err != nil {
		return opErr(fmt.Sprintf("send handle %T", h), err)
	}
	return l.SendFiles(wire.TypeMsg, peer, 0, msg, files)
}

// Conn turns the handle that came with the message into a net.Conn (the
// message's File is consumed).
func (m *Message) Conn() (net.Conn, error) {
	if m.File == nil {
		return nil, fmt.Errorf("cluster: the message carries no handle")
	}
	defer m.takeFile()
	return net.FileConn(m.File)
}

// Listener turns the handle that came with the message into a net.Listener
// (the message's File is consumed).
func (m *Message) Listener() (net.Listener, error) {
	if m.File == nil {
		return nil, fmt.Errorf("cluster: the message carries no handle")
	}
	defer m.takeFile()
	return net.FileListener(m.File)
}

func (m *Message) takeFile() {
	m.File.Close()
	m.File = nil
}

// fileOf returns a duplicate of the descriptor of a file, connection or
// listener.
func fileOf(v any) ([]*os.File, error) {
	if f, ok := v.(*os.File); ok {
		d, err := dupFile(f)
		if err != nil {
			return nil, err
		}
		return []*os.File{d}, nil
	}
	f, ok := v.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, errors.New("cluster: no file descriptor behind this handle")
	}
	file, err := f.File()
	if err != nil {
		return nil, err
	}
	return []*os.File{file}, nil
}
