//go:build unix

package systemd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// Receiver is a notification socket: what $NOTIFY_SOCKET names for the
// processes a service manager starts. [ListenNotify] makes one.
type Receiver struct {
	conn      *net.UnixConn
	path      string
	rejected  atomic.Uint64
	closeOnce sync.Once
	closeErr  error
}

// ListenNotify binds a unix datagram socket at path (a file, mode 0600:
// the processes that notify run as the same user; or "@name", an abstract
// socket on Linux) and, on Linux, has the kernel attach each sender's
// credentials so that [Notification.PID] is known. Put the file in a
// directory others cannot write to.
func ListenNotify(path string) (*Receiver, error) {
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("systemd: %w", err)
	}
	r := &Receiver{conn: conn, path: path}
	if err := passCred(conn); err != nil {
		r.Close()
		return nil, fmt.Errorf("systemd: SO_PASSCRED on %s: %w", path, err)
	}
	if !abstract(path) {
		if err := os.Chmod(path, 0o600); err != nil {
			r.Close()
			return nil, fmt.Errorf("systemd: %w", err)
		}
	}
	return r, nil
}

// Path returns the socket's path, what NOTIFY_SOCKET is set to.
func (r *Receiver) Path() string { return r.path }

// Read waits for the next notification and returns it. It skips, and
// counts in [Receiver.Rejected], datagrams over [MaxNotification] bytes
// and those that are no notification (see [Notification]), and closes the
// descriptors a datagram carried. After [Receiver.Close] it returns an
// error matching [net.ErrClosed].
func (r *Receiver) Read() (Notification, error) {
	buf := make([]byte, MaxNotification+1)
	oob := make([]byte, oobSize)
	for {
		n, oobn, flags, _, err := r.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return Notification{}, fmt.Errorf("systemd: %w", err)
		}
		pid := controlPID(oob[:oobn])
		if flags&syscall.MSG_TRUNC != 0 || n > MaxNotification {
			r.rejected.Add(1)
			continue
		}
		note, err := parseNotification(buf[:n], pid)
		if err != nil {
			r.rejected.Add(1)
			continue
		}
		return note, nil
	}
}

// Rejected returns how many datagrams [Receiver.Read] skipped.
func (r *Receiver) Rejected() uint64 { return r.rejected.Load() }

// Close closes the socket, which ends a blocked [Receiver.Read], and
// removes its file.
func (r *Receiver) Close() error {
	r.closeOnce.Do(func() {
		r.closeErr = r.conn.Close()
		if !abstract(r.path) {
			if err := os.Remove(r.path); err != nil && !errors.Is(err, os.ErrNotExist) && r.closeErr == nil {
				r.closeErr = err
			}
		}
		if r.closeErr != nil {
			r.closeErr = fmt.Errorf("systemd: %w", r.closeErr)
		}
	})
	return r.closeErr
}

// abstract reports whether path names an abstract socket.
func abstract(path string) bool { return len(path) > 0 && path[0] == '@' }

// controlPID closes the descriptors the control messages carry and
// returns the sender's pid from its credentials, or 0.
func controlPID(oob []byte) int {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	pid := 0
	for i := range msgs {
		if fds, err := syscall.ParseUnixRights(&msgs[i]); err == nil {
			for _, fd := range fds {
				syscall.Close(fd)
			}
			continue
		}
		if p := credPID(&msgs[i]); p > 0 {
			pid = p
		}
	}
	return pid
}
