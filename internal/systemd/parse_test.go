package systemd

import (
	"strings"
	"testing"
)

func TestParseNotification(t *testing.T) {
	for _, tt := range []struct {
		in   string
		pid  int
		want Notification
		bad  bool
	}{
		{in: "READY=1", pid: 7, want: Notification{PID: 7, Ready: true}},
		{in: "READY=1\nSTATUS=up\n\n", want: Notification{Ready: true, Status: "up"}},
		{in: "junk\nSTOPPING=1\n=x\nlower=1", want: Notification{Stopping: true}},
		{in: `{"command":"worker:ack","pid":42}` + "\n", want: Notification{PID: 42, Ready: true}},
		{in: `{"command":"worker:ack","pid":42}`, pid: 9, want: Notification{PID: 9, Ready: true}},
		{in: `{"command":"worker:ack","pid":-1}`, want: Notification{Ready: true}},
		{in: `{"command":"upgrade"}`, bad: true},
		{in: "{not json", bad: true},
		{in: "READY", bad: true},
		{in: "", bad: true},
		{in: "READY=1\x00", bad: true},
		{in: "STATUS=\xc3", bad: true},
		{in: "STATUS=" + strings.Repeat("x", MaxNotification), bad: true},
	} {
		got, err := parseNotification([]byte(tt.in), tt.pid)
		if (err != nil) != tt.bad {
			t.Errorf("%q: error %v", tt.in, err)
			continue
		}
		if tt.bad {
			continue
		}
		if got.PID != tt.want.PID || got.Ready != tt.want.Ready || got.Stopping != tt.want.Stopping ||
			got.Reloading || got.Watchdog || got.Status != tt.want.Status || got.Raw != tt.in {
			t.Errorf("%q: %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseNotification(f *testing.F) {
	for _, s := range []string{"READY=1", "READY=1\nSTATUS=x", "RELOADING=1\nMONOTONIC_USEC=123", "WATCHDOG=1",
		`{"command":"worker:ack","pid":1}`, "{", "=", "\x00", "A=\xff"} {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, b []byte, pid int) {
		n, err := parseNotification(b, pid)
		if err != nil {
			return
		}
		if n.Raw != string(b) || len(b) > MaxNotification {
			t.Fatalf("accepted %d bytes as %q", len(b), n.Raw)
		}
		if n.Fields == nil && !n.Ready {
			t.Fatalf("%q: accepted with no field and not an ack", b)
		}
		if n.Fields != nil && (n.Ready != (n.Fields["READY"] == "1") || n.Status != n.Fields["STATUS"]) {
			t.Fatalf("%q: %+v", b, n)
		}
		for k := range n.Fields {
			if !validKey([]byte(k)) {
				t.Fatalf("%q: key %q", b, k)
			}
		}
	})
}
