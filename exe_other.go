//go:build !linux

package cluster

import "os"

// pinExe returns nil: outside Linux, workers are started from the path of
// their program every time, so a restart after a new build replaced the
// file runs the new build. (FreeBSD's fexecve and /dev/fd need fdescfs,
// and os/exec offers no way to exec a descriptor.)
func pinExe(string) *os.File { return nil }

func pinnedPath(*os.File) string { return "" }
