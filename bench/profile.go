package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync/atomic"
)

// profiles numbers the profiles of this process.
var profiles atomic.Int32

// cpuProfile starts a CPU profile of this process into the directory named
// by BENCH_CPUPROFILE, as role-PID-N.pprof (N counts this process's
// profiles), and returns what stops it. Without the variable it does
// nothing. The shared-state figures use it around each phase of writes, in
// the primary and in each worker.
func cpuProfile(role string) (stop func()) {
	dir := os.Getenv("BENCH_CPUPROFILE")
	if dir == "" {
		return func() {}
	}
	n := profiles.Add(1)
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d-%d.pprof", role, os.Getpid(), n)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "bench: profile:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
