//go:build !linux

package control

const clockTicks = 100

// cpuTicks is unknown here: status reports 0% CPU.
func cpuTicks(int) (uint64, bool) { return 0, false }

// rss is unknown here: status reports 0.
func rss(int) int64 { return 0 }
