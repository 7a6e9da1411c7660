package main

import (
	"context"

	"github.com/gocluster/cluster/internal/proc"
)

// startReaper makes the primary a subreaper (Linux): the orphans of its
// workers' programs become its children, and it reaps them, as PID 1 of a
// container must. Elsewhere it does nothing.
func startReaper(ctx context.Context, goRun func(func())) {
	if proc.Subreaper() == nil {
		goRun(func() { proc.Reap(ctx) })
	}
}
