//go:build unix

package systemd

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// NotifyTo sends state to the notification socket socket (a path, or
// "@name" for an abstract socket on Linux) as one datagram, as [Notify]
// does to $NOTIFY_SOCKET. A state over [MaxNotification] bytes is not
// sent: systemd would drop it.
func NotifyTo(socket, state string) error {
	if len(state) > MaxNotification {
		return fmt.Errorf("systemd: a notification of %d bytes, over %d", len(state), MaxNotification)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("systemd: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("systemd: %w", err)
	}
	return nil
}

// monotonicUsec returns CLOCK_MONOTONIC in microseconds.
func monotonicUsec() (int64, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, false
	}
	return ts.Nano() / 1e3, true
}
