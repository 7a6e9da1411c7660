//go:build unix

package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadInput: each mistake gets one line that says what to change, a
// non-zero exit, and leaves nothing running.
func TestBadInput(t *testing.T) {
	needProgram(t, "python3")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.toml")
	os.WriteFile(typo, []byte("[[app]]\nname = \"web\"\ncommand = [\"python3\", \"testdata/hello.py\"]\nworker = 2\n"), 0o644)
	badType := filepath.Join(dir, "type.toml")
	os.WriteFile(badType, []byte("[[app]]\ncommand = [\"python3\"]\nworkers = \"two\"\n"), 0o644)
	broken := filepath.Join(dir, "broken.toml")
	os.WriteFile(broken, []byte("[[app]\ncommand = 1\n"), 0o644)
	noExec := filepath.Join(dir, "app.sh")
	os.WriteFile(noExec, []byte("#!/bin/sh\n"), 0o644)
	sock := filepath.Join(dir, "ctl.sock")

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"run", "--workers", "2", "--", "python3"}, 2, "flag provided but not defined: -workers"},
		{"unknown command", []string{"strat"}, 2, `unknown command "strat"`},
		{"missing program", []string{"run", "-l", "127.0.0.1:0", "--", "./no-such-app"}, 1, `program "./no-such-app": no such file`},
		{"program not in PATH", []string{"run", "--", "no-such-app-anywhere"}, 1, "not found in PATH"},
		{"not executable", []string{"run", "--", noExec}, 1, "is not executable: chmod +x"},
		{"port in use", []string{"run", "--socket", sock, "-l", busy.Addr().String(), "--", "python3", "testdata/hello.py"}, 1,
			"address already in use: another program listens there"},
		{"bad listen address", []string{"run", "-l", "8080", "--", "python3"}, 1, "give host:port or :port"},
		{"bad ready", []string{"run", "--ready", "soon", "--", "python3"}, 1, "say notify"},
		{"bad memory", []string{"run", "--max-memory", "lots", "--", "python3"}, 1, "give bytes or a number with KiB"},
		{"config typo", []string{"run", "--config", typo}, 1, `unknown key "worker": did you mean "workers"?`},
		{"config type", []string{"run", "--config", badType}, 1, "workers"},
		{"config syntax", []string{"run", "--config", broken}, 1, "broken.toml: toml: line 2"},
		{"config missing", []string{"run", "--config", filepath.Join(dir, "none.toml")}, 1, "no such file"},
		{"scale garbage", []string{"scale", "--socket", sock, "many"}, 1, "no cluster runs"}, // said first
		{"no cluster", []string{"status", "--socket", sock}, 1, "no cluster runs from this directory"},
	}
	for _, c := range cases {
		_, errOut, code := gocluster(t, c.args...)
		lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
		if code != c.code || !strings.Contains(errOut, c.want) || len(lines) != 1 || !strings.HasPrefix(lines[0], "gocluster") {
			t.Errorf("%s: exit %d (want %d), stderr %q (want one line with %q)", c.name, code, c.code, errOut, c.want)
		}
	}
	if leftovers := processesWith("testdata/hello.py", os.Getpid()); len(leftovers) > 0 {
		t.Fatalf("processes left running: %v", leftovers)
	}
}

// TestSecondRunRefused: a second gocluster run on a live control socket
// fails at once and leaves the first one serving.
func TestSecondRunRefused(t *testing.T) {
	needProgram(t, "python3")
	r := startRun(t, nil, "-n", "1", "-l", "127.0.0.1:0", "--", "python3", "testdata/hello.py")
	_, errOut, code := gocluster(t, "run", "--socket", r.socket, "-n", "1", "-l", "127.0.0.1:0", "--", "python3", "testdata/hello.py", "second")
	if code != 1 || !strings.Contains(errOut, "a cluster already runs at") {
		t.Fatalf("second run: exit %d, %q", code, errOut)
	}
	time.Sleep(200 * time.Millisecond)
	if leftovers := processesWith("second", os.Getpid()); len(leftovers) > 0 {
		t.Fatalf("the second run left %v", leftovers)
	}
	if _, err := get(r.addr); err != nil {
		t.Fatalf("the first cluster stopped serving: %v", err)
	}
}

// processesWith lists the processes whose command line has s as an
// argument, but except.
func processesWith(s string, except int) []string {
	ents, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || e.Name() == itoa(except) {
			continue
		}
		for _, arg := range strings.Split(string(b), "\x00") {
			if arg == s {
				found = append(found, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
			}
		}
	}
	return found
}
