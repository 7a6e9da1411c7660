package systemd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxNotification is the longest notification a [Receiver] accepts, in
// bytes; longer datagrams are rejected.
const MaxNotification = 4096

// Notification is one datagram a [Receiver] read: the sd_notify(3)
// assignments a process sent, or einhorn's manual acknowledgement
// ({"command":"worker:ack","pid":N}), which counts as READY=1.
type Notification struct {
	// PID is the sender's process id, from the kernel's credentials
	// (SCM_CREDENTIALS, Linux); elsewhere the pid an einhorn ack claims,
	// or 0 if unknown.
	PID int
	// Fields are the KEY=VALUE lines; when a key repeats, the last wins.
	// Nil for an einhorn ack.
	Fields map[string]string
	// Ready, Reloading, Stopping and Watchdog report READY=1, RELOADING=1,
	// STOPPING=1 and WATCHDOG=1.
	Ready, Reloading, Stopping, Watchdog bool
	// Status is the STATUS= text, or "".
	Status string
	// Raw is the datagram as received.
	Raw string
}

// errNotification is wrapped by every reason a datagram is rejected.
var errNotification = errors.New("systemd: bad notification")

// einhornAck is einhorn's manual acknowledgement.
type einhornAck struct {
	Command string `json:"command"`
	PID     int    `json:"pid"`
}

// parseNotification parses a datagram as sd_notify(3) sends it: lines of
// KEY=VALUE, where KEY is made of A-Z, 0-9 and _. Lines that are not
// assignments are ignored, as systemd does; a datagram with none, with a
// NUL byte, not UTF-8 or over [MaxNotification] bytes is rejected. pid is
// the sender's, from its credentials, or 0.
func parseNotification(b []byte, pid int) (Notification, error) {
	switch {
	case len(b) > MaxNotification:
		return Notification{}, fmt.Errorf("%w: %d bytes, over %d", errNotification, len(b), MaxNotification)
	case bytes.IndexByte(b, 0) >= 0:
		return Notification{}, fmt.Errorf("%w: a NUL byte", errNotification)
	case !utf8.Valid(b):
		return Notification{}, fmt.Errorf("%w: not UTF-8", errNotification)
	}
	n := Notification{PID: pid, Raw: string(b)}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var ack einhornAck
		if err := json.Unmarshal(t, &ack); err != nil || ack.Command != "worker:ack" {
			return Notification{}, fmt.Errorf("%w: JSON that is no worker:ack", errNotification)
		}
		if n.PID == 0 && ack.PID > 0 {
			n.PID = ack.PID
		}
		n.Ready = true
		return n, nil
	}
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		key, value, ok := bytes.Cut(line, []byte{'='})
		if !ok || !validKey(key) {
			continue
		}
		if n.Fields == nil {
			n.Fields = make(map[string]string)
		}
		n.Fields[string(key)] = string(value)
	}
	if n.Fields == nil {
		return Notification{}, fmt.Errorf("%w: no KEY=VALUE line in %s", errNotification, strconv.QuoteToASCII(trim(n.Raw, 64)))
	}
	n.Ready = n.Fields["READY"] == "1"
	n.Reloading = n.Fields["RELOADING"] == "1"
	n.Stopping = n.Fields["STOPPING"] == "1"
	n.Watchdog = n.Fields["WATCHDOG"] == "1"
	n.Status = n.Fields["STATUS"]
	return n, nil
}

// validKey reports whether k is a notification key: A-Z, 0-9, _.
func validKey(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for _, c := range k {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// trim cuts s to at most n bytes, for error messages.
func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
