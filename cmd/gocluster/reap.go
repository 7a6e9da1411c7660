package main

import "context"

// startReaper makes the primary reap orphans (as PID 1, or a subreaper).
func startReaper(ctx context.Context, goRun func(func())) {}
