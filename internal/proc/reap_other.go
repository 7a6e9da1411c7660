//go:build !linux

package proc

import (
	"context"
	"errors"
)

// errNoReap is what Subreaper and Reap return where they are not
// implemented.
var errNoReap = errors.New("cluster: reaping orphans is only supported on Linux")

// Subreaper fails: child subreapers are Linux's.
func Subreaper() error { return errNoReap }

// Reap fails at once: it finds the children to reap through Linux's /proc.
func Reap(ctx context.Context) error { return errNoReap }
