//go:build windows

package topview

import (
	"context"
	"os"

	"golang.org/x/sys/windows"
	"golang.org/x/term"
)

// The signals that end [Run]; Windows has none for a resize: the size is
// read again at each redraw.
var (
	quitSignals   = []os.Signal{os.Interrupt}
	resizeSignals []os.Signal
)

// keyPoll is how long readKeys waits for a key before it looks at ctx
// again.
const keyPoll = 100 // milliseconds

// readKeys hands the bytes typed on the console in to keys until ctx is
// done. It reads only once the console's input is signaled, so it looks at
// ctx every keyPoll. Input that is not a console is not read.
func readKeys(ctx context.Context, in *os.File, keys chan<- byte) {
	if !term.IsTerminal(int(in.Fd())) {
		return
	}
	h := windows.Handle(in.Fd())
	buf := make([]byte, 64)
	for ctx.Err() == nil {
		ev, err := windows.WaitForSingleObject(h, keyPoll)
		if err != nil {
			return
		}
		if ev != windows.WAIT_OBJECT_0 {
			continue
		}
		m, err := in.Read(buf)
		if m == 0 && err != nil {
			return
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
