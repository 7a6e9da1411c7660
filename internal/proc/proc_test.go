//go:build unix

package proc

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func sh(t *testing.T, script string, spec Spec) Process {
	t.Helper()
	spec.Name, spec.Args = "/bin/sh", []string{"-c", script}
	p, err := Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExitStatusAndSignal(t *testing.T) {
	st, err := sh(t, "exit 3", Spec{}).Wait()
	if err != nil || st.ExitCode() != 3 || st.Signal() != nil || st.Success() || st.String() != "exit status 3" {
		t.Fatalf("exit 3: %v, %v", st, err)
	}
	var ee *exec.ExitError
	if !errors.As(st.Err(), &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Err of exit 3: %v, want an *exec.ExitError", st.Err())
	}
	p := sh(t, "exec sleep 30", Spec{})
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st, _ = p.Wait()
	if st.Signal() != syscall.SIGKILL || st.ExitCode() != -1 || st.Sys() == nil || p.OS() == nil || p.Pid() != p.OS().Pid {
		t.Fatalf("killed: code %d signal %v", st.ExitCode(), st.Signal())
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("Signal after the end: %v", err)
	}
	if st, _ := sh(t, "true", Spec{}).Wait(); !st.Success() || st.Err() != nil {
		t.Fatalf("true: %v", st)
	}
}

// syncBuffer is a bytes.Buffer for the copying goroutines of two streams.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestPrefixedOutputEnvDirAndFiles(t *testing.T) {
	dir := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out, errOut syncBuffer
	p := sh(t, `echo "$X in $PWD"; printf 'no newline' >&2; echo hi >&3`, Spec{Env: []string{"X=x"}, Dir: dir,
		Files: []*os.File{w}, Stdout: &out, Stderr: &errOut, Prefix: "[p] "})
	w.Close()
	if st, err := p.Wait(); err != nil || !st.Success() {
		t.Fatalf("Wait: %v, %v", st, err)
	}
	if want := "[p] x in " + dir + "\n"; out.b.String() != want {
		t.Errorf("stdout %q, want %q", out.b.String(), want)
	}
	if errOut.b.String() != "[p] no newline\n" {
		t.Errorf("stderr %q: the last line, without a newline, is flushed at the end", errOut.b.String())
	}
	var b [8]byte
	if n, _ := r.Read(b[:]); string(b[:n]) != "hi\n" {
		t.Errorf("descriptor 3 got %q", b[:n])
	}
}

func TestLongLinesAreSplit(t *testing.T) {
	var out bytes.Buffer
	l := &lineWriter{out: &out, prefix: "> "}
	l.Write(bytes.Repeat([]byte("a"), maxLine+10))
	l.Write([]byte("\nb"))
	l.flush()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 || len(lines[0]) != 2+maxLine || lines[1] != "> aaaaaaaaaa" || lines[2] != "> b" {
		t.Fatalf("%d lines: %.20q...", len(lines), lines)
	}
}

// TestStartErrorNamesTheProgram: a start from another path (a pinned file)
// fails naming the program, not that path.
func TestStartErrorNamesTheProgram(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := Start(Spec{Name: "my-program", Path: missing})
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != "my-program" {
		t.Fatalf("start of a missing file: %v", err)
	}
	if _, err := Resolve("no-such-program-anywhere"); !errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("Resolve of a missing program: %v", err)
	}
	if path, err := Resolve("sh"); err != nil || !filepath.IsAbs(path) {
		t.Fatalf("Resolve(sh) = %q, %v", path, err)
	}
}

func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		dir  string
		want error
	}{{dir, nil}, {file, syscall.ENOTDIR}, {filepath.Join(dir, "gone"), syscall.ENOENT}} {
		if err := CheckDir(tt.dir); !errors.Is(err, tt.want) {
			t.Errorf("CheckDir(%s) = %v, want %v", tt.dir, err, tt.want)
		}
	}
}

func TestRSS(t *testing.T) {
	rss, err := RSS(os.Getpid())
	if _, statm := os.Stat("/proc/self/statm"); statm != nil {
		if err == nil {
			t.Fatalf("RSS without /proc: %d, nil", rss)
		}
		return
	}
	if err != nil || rss < 1<<20 {
		t.Fatalf("RSS of this process: %d, %v", rss, err)
	}
	if _, err := RSS(1<<22 + 1); err == nil {
		t.Fatal("RSS of a pid above PID_MAX_LIMIT succeeded")
	}
}
