package proc

import (
	"bytes"
	"errors"
	"os"
	"strconv"
)

// RSS returns the resident memory of the process pid, in bytes, from
// /proc/PID/statm (read by number: reading does not signal anything).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, err
	}
	fields := bytes.Fields(b)
	if len(fields) < 2 {
		return 0, errors.New("proc: no resident memory in " + strconv.Quote(string(b)))
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return 0, err
	}
	return pages * int64(os.Getpagesize()), nil
}
