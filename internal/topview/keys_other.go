//go:build !unix && !windows

package topview

import (
	"context"
	"os"
)

// The signals that end [Run], and those that redraw it.
var (
	quitSignals   = []os.Signal{os.Interrupt}
	resizeSignals []os.Signal
)

// readKeys reads no keys where the system has no way to wait for them
// that ends with ctx: the view ends with ctx, or a signal.
func readKeys(ctx context.Context, in *os.File, keys chan<- byte) {}
