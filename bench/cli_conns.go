package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// connsPerWorker counts the established TCP connections on local port
// that each of pids holds (from /proc/net/tcp{,6} and the pids' fds).
func connsPerWorker(port int, pids []int) []int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(f)
		for _, l := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(l)
			if len(fs) < 10 || fs[3] != "01" { // 01: ESTABLISHED
				continue
			}
			_, lp, _ := strings.Cut(fs[1], ":")
			if p, err := strconv.ParseInt(lp, 16, 32); err == nil && int(p) == port {
				inodes[fs[9]] = true
			}
		}
	}
	out := make([]int, len(pids))
	for i, pid := range pids {
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, e := range ents {
			l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
			if err == nil && strings.HasPrefix(l, "socket:[") && inodes[strings.TrimSuffix(l[len("socket:["):], "]")] {
				out[i]++
			}
		}
	}
	return out
}

// busiestShare is the busiest worker's share of conns in percent (50 is
// an even split of 2 workers) and the split as "a/b".
func busiestShare(conns []int) (float64, string) {
	total := 0
	var parts []string
	for _, c := range conns {
		total += c
		parts = append(parts, strconv.Itoa(c))
	}
	if total == 0 {
		return 0, "-"
	}
	return 100 * float64(slices.Max(conns)) / float64(total), strings.Join(parts, "/")
}

// wrkDuration is the -d of wrk's arguments (0 without one).
func wrkDuration(args string) time.Duration {
	for _, a := range strings.Fields(args) {
		if d, err := time.ParseDuration(strings.TrimPrefix(a, "-d")); strings.HasPrefix(a, "-d") && err == nil {
			return d
		}
	}
	return 0
}
