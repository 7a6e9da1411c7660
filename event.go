package cluster

import (
	"fmt"
	"net"
	"os"
	"time"
)

// EventType names what happened; the names follow Node's cluster events.
type EventType int

// Event types.
const (
	// EventSetup: the worker settings were set (by Run at start, and by
	// every Primary.Setup). Event.Settings holds them.
	EventSetup EventType = iota + 1
	// EventFork: a worker process was started.
	EventFork
	// EventOnline: the worker completed the IPC handshake: its runtime is up.
	EventOnline
	// EventReady: the worker called Ready.
	EventReady
	// EventListening: the worker listens on a shared address (Event.Addr).
	EventListening
	// EventDisconnect: the worker's IPC channel closed.
	EventDisconnect
	// EventExit: the worker process ended (Event.ExitCode, Event.Signal).
	EventExit
	// EventError: something failed for a worker (Event.Err): a spawn that
	// did not start, a protocol violation that closed its channel, a signal
	// that could not be sent.
	EventError
	// EventCrashLoop: a worker slot died more than Config.MaxRestarts times
	// within Config.RestartWindow (Event.Deaths, Event.EarlyDeaths; Event.Err
	// wraps ErrCrashLoop).
	EventCrashLoop
	// EventReload: a rolling reload began (Event.Generation is the new
	// generation).
	EventReload
	// EventReloadDone: the reload of Event.Generation ended: Event.Err is
	// nil when every worker was replaced, or wraps ErrReloadAborted.
	EventReloadDone
	// EventRecycle: a worker passed Config.MaxRSS or Config.MaxAge
	// (Event.Reason says which); a replacement is being started for it.
	EventRecycle
)

var eventNames = [...]string{"", "setup", "fork", "online", "ready", "listening", "disconnect", "exit", "error",
	"crash-loop", "reload", "reload-done", "recycle"}

// String returns Node's name of the event ("fork", "exit"...).
func (t EventType) String() string {
	if t > 0 && int(t) < len(eventNames) {
		return eventNames[t]
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// Event is one thing that happened in the cluster. Messages from workers are
// not events: they arrive on Primary.Messages (Node's 'message' event), so
// that a flood of messages is flow-controlled per worker and never delays a
// lifecycle event.
type Event struct {
	Type EventType
	Time time.Time
	// Worker is the worker concerned (nil for EventSetup).
	Worker *Worker
	// ExitCode is the exit status for EventExit, -1 if a signal ended it.
	ExitCode int
	// Signal is the signal that ended the worker for EventExit, if any.
	Signal os.Signal
	// Err is set for EventError, and for EventDisconnect when the channel
	// closed because of an error.
	Err error
	// Addr is the address for EventListening.
	Addr net.Addr
	// Settings are the new settings for EventSetup.
	Settings *Settings
	// Deaths and EarlyDeaths count, for EventCrashLoop, the slot's
	// unexpected deaths within the window and those before it called Ready.
	Deaths, EarlyDeaths int
	// Generation is the generation being rolled out, for EventReload and
	// EventReloadDone.
	Generation int
	// Reason says why, for EventRecycle.
	Reason string
}

// String describes the event on one line, for logs.
func (e Event) String() string {
	s := e.Type.String()
	if e.Worker != nil {
		s += fmt.Sprintf(" worker=%d pid=%d", e.Worker.ID(), e.Worker.PID())
	}
	switch e.Type {
	case EventExit:
		s += fmt.Sprintf(" code=%d", e.ExitCode)
		if e.Signal != nil {
			s += " signal=" + e.Signal.String()
		}
	case EventListening:
		if e.Addr != nil {
			s += " addr=" + e.Addr.String()
		}
	case EventReload, EventReloadDone:
		s += fmt.Sprintf(" generation=%d", e.Generation)
	case EventRecycle:
		s += " reason=" + e.Reason
	}
	if e.Err != nil {
		s += " err=" + e.Err.Error()
	}
	return s
}
