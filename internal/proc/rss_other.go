//go:build !linux

package proc

import "errors"

// RSS is only implemented on Linux: elsewhere it fails, and
// cluster.Config.MaxRSS is not checked.
func RSS(pid int) (int64, error) {
	return 0, errors.New("proc: resident memory is only read on Linux")
}
