package control

import "time"

// Status is what the status command answers: the cluster and each of its
// live workers.
type Status struct {
	// PID is the primary's process id.
	PID int `json:"pid"`
	// Name is the cluster's name (the app's, under gocluster run).
	Name string `json:"name,omitempty"`
	// Dir is the primary's working directory.
	Dir string `json:"dir"`
	// Started is when the primary started.
	Started time.Time `json:"started"`
	// Want is how many workers the cluster keeps: the count the last scale
	// through this server set, or else the live workers that are not
	// stopping (the Primary does not tell its target).
	Want int `json:"want"`
	// Generation is the newest generation (one more for each reload).
	Generation int `json:"generation"`
	// Reloading is true while a reload runs.
	Reloading bool `json:"reloading"`
	// Workers are the live workers, ordered by id.
	Workers []WorkerStatus `json:"workers"`
	// Store is the shared state's size.
	Store StoreStatus `json:"store"`
}

// WorkerStatus is one worker in a [Status].
type WorkerStatus struct {
	ID         int `json:"id"`
	PID        int `json:"pid"` // the program's process (under gocluster run, not its helper's)
	Generation int `json:"generation"`
	// State is one of "starting" (not ready yet), "ready", "stopping"
	// (told to drain) or "exited".
	State    string `json:"state"`
	Restarts int    `json:"restarts"`
	// Uptime is how long the worker has run, in seconds.
	Uptime float64 `json:"uptime"`
	// CPU is the share of one CPU the worker used since the previous
	// status (or since it started), in percent: 150 is one and a half CPUs.
	CPU float64 `json:"cpu"`
	// RSS is the worker's resident memory in bytes (0 where unknown).
	RSS int64 `json:"rss"`
	// MaxRSS is the memory limit over which the worker is recycled (0: none).
	MaxRSS int64 `json:"max_rss,omitempty"`
	// Connections are the connections the primary handed it and it has not
	// closed (RoundRobin listeners only).
	Connections int `json:"connections"`
}

// StoreStatus is the shared state in a [Status].
type StoreStatus struct {
	Keys     int    `json:"keys"`
	Revision uint64 `json:"revision"`
}
