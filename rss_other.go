//go:build !linux

package cluster

// processRSS is only implemented on Linux: elsewhere Config.MaxRSS is not
// checked.
func processRSS(pid int) (int64, error) { return 0, errStatm }
