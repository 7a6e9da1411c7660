package systemd

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestWatchdog(t *testing.T) {
	me := strconv.Itoa(os.Getpid())
	for _, tt := range []struct {
		usec, pid string // "-": unset
		want      time.Duration
		bad       bool
	}{
		{usec: "-", pid: "-"},
		{usec: "30000000", pid: "-", want: 30 * time.Second},
		{usec: "500000", pid: me, want: 500 * time.Millisecond},
		{usec: "500000", pid: strconv.Itoa(os.Getpid() + 1)},
		{usec: "0", pid: "-", bad: true},
		{usec: "soon", pid: "-", bad: true},
		{usec: "99999999999999999", pid: "-", bad: true},
		{usec: "1000", pid: "me", bad: true},
	} {
		for k, v := range map[string]string{envWatchdogUsec: tt.usec, envWatchdogPID: tt.pid} {
			t.Setenv(k, v)
			if v == "-" {
				os.Unsetenv(k)
			}
		}
		got, err := Watchdog()
		if got != tt.want || (err != nil) != tt.bad {
			t.Errorf("WATCHDOG_USEC=%s WATCHDOG_PID=%s: %v, %v; want %v", tt.usec, tt.pid, got, err, tt.want)
		}
	}
}

func TestListenEnv(t *testing.T) {
	got := ListenEnv([]string{"web", "ad:min", "new\nline"}, 42)
	want := []string{"LISTEN_FDS=3", "LISTEN_FDNAMES=web:ad_min:new_line", "LISTEN_PID=42"}
	if !slices.Equal(got, want) {
		t.Errorf("ListenEnv = %q, want %q", got, want)
	}
	if got := ListenEnv(nil, 42); got != nil {
		t.Errorf("ListenEnv of no names = %q", got)
	}
}

func TestWithoutServiceEnv(t *testing.T) {
	env := []string{"PATH=/bin", "LISTEN_FDS=1", "LISTEN_PID=9", "LISTEN_FDNAMES=a", "NOTIFY_SOCKET=/run/n",
		"WATCHDOG_USEC=1", "WATCHDOG_PID=9", "LISTEN_FDSX=kept", "HOME=/root"}
	got := WithoutServiceEnv(env)
	if want := []string{"PATH=/bin", "LISTEN_FDSX=kept", "HOME=/root"}; !slices.Equal(got, want) {
		t.Errorf("WithoutServiceEnv = %q, want %q", got, want)
	}
	if len(env) != 9 || env[1] != "LISTEN_FDS=1" {
		t.Errorf("WithoutServiceEnv changed its argument: %q", env)
	}
}

func TestNotifyUnset(t *testing.T) {
	t.Setenv(envNotifySocket, "")
	if sent, err := Notify("READY=1"); sent || err != nil {
		t.Fatalf("Notify with NOTIFY_SOCKET empty: %v, %v", sent, err)
	}
	os.Unsetenv(envNotifySocket)
	if sent, err := Notify("READY=1"); sent || err != nil {
		t.Fatalf("Notify with NOTIFY_SOCKET unset: %v, %v", sent, err)
	}
}
