package cluster

import (
	"bytes"
	"os"
	"strconv"
)

// processRSS returns the resident memory of a process, in bytes, from
// /proc/PID/statm (read by number: reading does not signal anything).
func processRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, err
	}
	fields := bytes.Fields(b)
	if len(fields) < 2 {
		return 0, errStatm
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return 0, err
	}
	return pages * int64(os.Getpagesize()), nil
}
