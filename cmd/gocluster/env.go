package main

import "encoding/json"

// The environment the primary gives each worker's launcher (beside the
// library's own), and what the launcher gives the program.
const (
	envListenFDs   = "GOCLUSTER_LISTEN_FDS"   // how many listening sockets follow fd 2
	envListenNames = "GOCLUSTER_LISTEN_NAMES" // their names, colon-separated
	envReady       = "GOCLUSTER_READY"        // "notify" or a delay
	envNotifyDir   = "GOCLUSTER_NOTIFY_DIR"   // where a worker's NOTIFY_SOCKET goes
	envStopSignal  = "GOCLUSTER_STOP_SIGNAL"  // what drains the program: TERM, INT...
	envPerApp      = "GOCLUSTER_PER_APP"      // set for each app of several: its control socket is named after it

	// Given to the program.
	envProgWorker     = "GOCLUSTER_WORKER_ID"
	envProgGeneration = "GOCLUSTER_GENERATION"
	envProgMessageFD  = "GOCLUSTER_MESSAGE_FD"
)

// launcherCmd and execCmd are the hidden commands the primary starts: the
// launcher is a worker of the library beside the program; exec is the last
// step that puts the program's own pid in LISTEN_PID.
const (
	launcherCmd = "__worker"
	execCmd     = "__exec"
)

// launcherReport is what a launcher tells the primary about its program,
// one field a message: its pid (first), a STATUS= it sent, or a message it
// sent on its channel (wrapped, so that a program cannot pass for its
// launcher).
type launcherReport struct {
	PID     int             `json:"gocluster_pid,omitempty"`
	Status  string          `json:"gocluster_status,omitempty"`
	Message json.RawMessage `json:"message,omitempty"`
}
