//go:build unix

package topview

import (
	"context"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// The signals that end [Run], and those that redraw it.
var (
	quitSignals   = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}
	resizeSignals = []os.Signal{syscall.SIGWINCH}
)

// keyPoll is how long readKeys waits for a key before it looks at ctx
// again.
const keyPoll = 100 // milliseconds

// readKeys hands the bytes of in to keys until ctx is done or in ends. It
// reads only what poll says is there, so it never blocks past keyPoll and
// ends soon after ctx does.
func readKeys(ctx context.Context, in *os.File, keys chan<- byte) {
	fds := []unix.PollFd{{Fd: int32(in.Fd()), Events: unix.POLLIN}}
	buf := make([]byte, 64)
	for ctx.Err() == nil {
		n, err := unix.Poll(fds, keyPoll)
		if err == unix.EINTR || (err == nil && n == 0) {
			continue
		}
		if err != nil {
			return
		}
		m, err := in.Read(buf)
		if m == 0 && err != nil {
			return // closed: no more keys
		}
		for _, b := range buf[:m] {
			select {
			case keys <- b:
			case <-ctx.Done():
				return
			}
		}
	}
}
