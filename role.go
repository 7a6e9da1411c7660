package cluster

import (
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Environment variables a primary sets for its workers (the channel is
// internal: programs never read them). A worker reads and removes them at
// start-up, so programs it runs do not inherit them.
const (
	// envWorkerID holds the worker's id (1, 2, ...).
	envWorkerID = "GOCLUSTER_WORKER_ID"
	// envIPCFD holds the file descriptor of the IPC channel's socket. Frames
	// travel on it, unless envIPCPipes is set; descriptors always do.
	envIPCFD = "GOCLUSTER_IPC_FD"
	// envIPCPipes, when set (Linux), holds "R,W": the pipe the worker reads
	// frames from and the pipe it writes frames to.
	envIPCPipes = "GOCLUSTER_IPC_PIPES"
	// envMaxMessage holds the largest message size both sides accept.
	envMaxMessage = "GOCLUSTER_MAX_MESSAGE"
	// envGeneration holds the worker's generation (see Generation).
	envGeneration = "GOCLUSTER_GENERATION"
)

// role is read once, before main runs.
var role = readRole()

type roleInfo struct {
	worker bool
	id     int
	gen    int
	fds    []int
	max    int
}

func readRole() roleInfo {
	if runtime.GOOS == "windows" {
		return roleInfo{}
	}
	idS, fdS, pipesS := os.Getenv(envWorkerID), os.Getenv(envIPCFD), os.Getenv(envIPCPipes)
	if idS == "" || fdS == "" {
		return roleInfo{}
	}
	maxS, genS := os.Getenv(envMaxMessage), os.Getenv(envGeneration)
	os.Unsetenv(envGeneration)
	os.Unsetenv(envWorkerID)
	os.Unsetenv(envIPCFD)
	os.Unsetenv(envIPCPipes)
	os.Unsetenv(envMaxMessage)
	id, err1 := strconv.Atoi(idS)
	list := fdS
	if pipesS != "" {
		list = pipesS + "," + fdS
	}
	var fds []int // [socket] or [read pipe, write pipe, socket]
	for _, f := range strings.Split(list, ",") {
		fd, err := strconv.Atoi(f)
		if err != nil || fd < 3 {
			return roleInfo{}
		}
		fds = append(fds, fd)
	}
	if err1 != nil || id <= 0 || (len(fds) != 1 && len(fds) != 3) {
		return roleInfo{}
	}
	max, err := strconv.Atoi(maxS)
	if err != nil || max <= 0 {
		max = DefaultMaxMessageSize
	}
	gen, err := strconv.Atoi(genS)
	if err != nil || gen <= 0 {
		gen = 1
	}
	return roleInfo{worker: true, id: id, gen: gen, fds: fds, max: max}
}

// IsPrimary reports whether this process is the primary: it was not started
// as a worker by a primary. A program run on its own is a primary; on
// Windows, which has no worker processes here, IsPrimary is false so that
// the program takes its worker path and runs as one process.
func IsPrimary() bool { return !role.worker && runtime.GOOS != "windows" }

// IsWorker reports whether this process was started as a worker by a primary.
func IsWorker() bool { return role.worker }

// ID returns this worker's id (1, 2, ...), or 0 in a process that is not a
// worker. Ids are never reused within one primary: a restarted worker gets a
// new id, as in Node.
func ID() int { return role.id }

// Generation returns this worker's generation: 1 for the workers a primary
// starts first, one more for each rolling reload (Primary.Reload, SIGHUP),
// so a program can tell old code from new. It is 0 in a process that is not
// a worker.
func Generation() int { return role.gen }
