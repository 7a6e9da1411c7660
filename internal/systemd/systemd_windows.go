package systemd

// Windows has no systemd, no unix datagram sockets and no inherited
// descriptors: these fail with a clear error.

import "errors"

// errUnsupported is what everything here fails with.
var errUnsupported = errors.New("systemd: not supported on Windows")

// NotifyTo fails on Windows.
func NotifyTo(socket, state string) error { return errUnsupported }

// Listeners fails on Windows, after unsetting the variables if asked.
func Listeners(unset bool) ([]ListenFile, error) {
	if unset {
		unsetListenEnv()
	}
	return nil, errUnsupported
}

// Receiver is a notification socket; there are none on Windows.
type Receiver struct{}

// ListenNotify fails on Windows.
func ListenNotify(path string) (*Receiver, error) { return nil, errUnsupported }

// Path returns "".
func (r *Receiver) Path() string { return "" }

// Read fails on Windows.
func (r *Receiver) Read() (Notification, error) { return Notification{}, errUnsupported }

// Rejected returns 0.
func (r *Receiver) Rejected() uint64 { return 0 }

// Close does nothing.
func (r *Receiver) Close() error { return nil }

func monotonicUsec() (int64, bool) { return 0, false }
