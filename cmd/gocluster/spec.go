package main

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// appSpec is one program to run as a cluster: what the flags of run or an
// app of the config file say.
type appSpec struct {
	Name         string
	Command      []string // program and its arguments
	Workers      int      // 0: one per CPU
	Listen       []listenSpec
	Ready        readySpec
	Dir          string
	Env          []string // KEY=value, after the environment of gocluster
	MaxMemory    int64    // bytes; 0: no limit
	DrainTimeout time.Duration
	KillTimeout  time.Duration
	ReadyTimeout time.Duration
	// MaxRestarts deaths of one worker within RestartWindow are a crash
	// loop: its restarts then back off up to 30 s.
	MaxRestarts   int
	RestartWindow time.Duration
	StopSignal    string
	LogDir        string
	LogSize       int64
	LogKeep       int
	Metrics       string // address of the Prometheus endpoint; empty: none
}

// listenSpec is one listening socket: -l [name=]address.
type listenSpec struct {
	Name    string // LISTEN_FDNAMES entry
	Network string // tcp or unix
	Address string
}

// parseListen reads "[name=]address": ":8080", "127.0.0.1:8080",
// "unix:/run/app.sock", "web=:8080".
func parseListen(s string) (listenSpec, error) {
	l := listenSpec{Name: "unknown", Network: "tcp"}
	if name, rest, ok := strings.Cut(s, "="); ok {
		if name == "" || strings.ContainsAny(name, ":/") {
			return l, fmt.Errorf("gocluster: listen %q: the name before '=' must be a plain word (web=:8080)", s)
		}
		l.Name, s = name, rest
	}
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if path == "" {
			return l, fmt.Errorf("gocluster: listen %q: give a socket path after unix: (unix:/run/app.sock)", s)
		}
		l.Network, l.Address = "unix", path
		return l, nil
	}
	if _, port, ok := strings.Cut(s, ":"); !ok || port == "" {
		return l, fmt.Errorf("gocluster: listen %q: give host:port or :port (:8080), or unix:/path", s)
	}
	l.Address = s
	return l, nil
}

func (l listenSpec) String() string {
	if l.Network == "unix" {
		return "unix:" + l.Address
	}
	return l.Address
}

// readySpec is when a worker counts as ready: on READY=1 (notify), or a
// delay after it started unless READY=1 comes first.
type readySpec struct {
	Notify bool
	Delay  time.Duration
}

// parseReady reads "notify" (wait for the program's READY=1) or a delay
// ("1s"): ready that long after the start, or on READY=1 if sooner.
func parseReady(s string) (readySpec, error) {
	if s == "notify" {
		return readySpec{Notify: true}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return readySpec{}, fmt.Errorf("gocluster: ready %q: say notify (the program sends READY=1) or a delay such as 1s", s)
	}
	return readySpec{Delay: d}, nil
}

func (r readySpec) String() string {
	if r.Notify {
		return "notify"
	}
	return r.Delay.String()
}

// checkProgram fails with a one-line message when the program cannot be
// run: missing, a directory, or not executable.
func checkProgram(name, dir string) error {
	path := name
	if !strings.Contains(name, "/") {
		p, err := exec.LookPath(name)
		if err != nil {
			return fmt.Errorf("gocluster: program %q: not found in PATH (give its path, e.g. ./%s)", name, name)
		}
		path = p
	} else if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	fi, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("gocluster: program %q: no such file", name)
	case err != nil:
		return fmt.Errorf("gocluster: program %q: %w", name, err)
	case fi.IsDir():
		return fmt.Errorf("gocluster: program %q is a directory: give the program to run", name)
	case fi.Mode()&0o111 == 0:
		interp := map[string]string{".py": "python3", ".js": "node", ".mjs": "node", ".cjs": "node", ".sh": "sh", ".rb": "ruby", ".pl": "perl"}[filepath.Ext(name)]
		if interp == "" {
			interp = "its interpreter"
		}
		return fmt.Errorf("gocluster: program %q is not executable: chmod +x %s, or run it through %s (-- %s %s)", name, name, interp, cmp.Or(interp, "sh"), name)
	}
	return nil
}

// parseSize reads "300MiB", "1GB", "512M", "1048576".
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if v, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	var n int64
	if _, err := fmt.Sscan(t, &n); err != nil || n < 0 || fmt.Sprint(n) != t || n > (1<<62)/mult {
		return 0, fmt.Errorf("gocluster: size %q: give bytes or a number with KiB, MiB or GiB (300MiB)", s)
	}
	return n * mult, nil
}
