//go:build unix

package redis_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/redistest"
)

// machine is a primary with two workers in a process of its own (see
// machineMain), all its workers' stores in one Redis store with the other
// machines of the test.
type machine struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	gone  chan struct{} // closed once its stdout ended and it was waited for

	mu      sync.Mutex
	log     strings.Builder // its stderr and its workers' output
	seq     int
	pending map[int]chan reply
	workers map[int]int // the PIDs of the ready workers not seen to exit, by id
	exits   []string    // "ID PID CODE" of each worker that exited
	killed  bool
	changed chan struct{} // closed and replaced on each ready or exit
}

// reply is a machine's answer to one command.
type reply struct {
	text string
	err  error
}

// errGone is the reply to a command of a machine that went away.
var errGone = errors.New("the machine is gone")

// startMachines starts a machine for each name, sharing the store name on
// srv with a lease of lease, and waits until each has two ready workers.
// Cleanup stops each one still running (closing its stdin: it stops its
// workers and exits), kills it if it has not exited 20 s later, and checks
// that none of their workers is left.
func startMachines(t *testing.T, srv *redistest.Server, store string, lease time.Duration, names ...string) []*machine {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ms := make([]*machine, len(names))
	for i, name := range names {
		m := &machine{t: t, name: name, gone: make(chan struct{}), pending: make(map[int]chan reply),
			workers: make(map[int]int), changed: make(chan struct{})}
		m.cmd = exec.Command(exe, "-test.run=^$")
		m.cmd.Env = append(os.Environ(), envMachine+"="+name, envAddr+"="+srv.Addr(), envStore+"="+store,
			envLease+"="+lease.String())
		m.cmd.Stderr = &lockedWriter{m: m}
		stdout, err := m.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if m.stdin, err = m.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := m.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go m.read(stdout)
		t.Cleanup(m.stop)
		ms[i] = m
	}
	for _, m := range ms {
		m.waitWorkers(2, 30*time.Second)
	}
	return ms
}

// lockedWriter appends a machine's stderr to its log.
type lockedWriter struct{ m *machine }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	return w.m.log.Write(p)
}

// read parses the machine's stdout until it ends, then waits for the
// process and fails the commands still pending.
func (m *machine) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), machineOut)
		if !ok { // a worker's output
			m.mu.Lock()
			m.log.WriteString(sc.Text() + "\n")
			m.mu.Unlock()
			continue
		}
		m.line(line)
	}
	m.cmd.Wait()
	m.mu.Lock()
	for seq, ch := range m.pending {
		ch <- reply{err: errGone}
		delete(m.pending, seq)
	}
	m.mu.Unlock()
	close(m.gone)
}

// line handles one line of the machine's.
func (m *machine) line(line string) {
	f := strings.SplitN(line, " ", 4)
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case f[0] == "ready" && len(f) == 3:
		id, _ := strconv.Atoi(f[1])
		pid, _ := strconv.Atoi(f[2])
		m.workers[id] = pid
	case f[0] == "exit" && len(f) == 4:
		id, _ := strconv.Atoi(f[1])
		delete(m.workers, id)
		m.exits = append(m.exits, f[1]+" "+f[2]+" "+f[3])
	case f[0] == "r" && len(f) == 4:
		seq, _ := strconv.Atoi(f[1])
		text, err := strconv.Unquote(f[3])
		if err != nil {
			text = f[3]
		}
		r := reply{text: text}
		if f[2] != "ok" {
			r = reply{err: errors.New(text)}
		}
		if ch := m.pending[seq]; ch != nil {
			ch <- r
			delete(m.pending, seq)
		}
		return
	default:
		m.log.WriteString("unexpected line: " + line + "\n")
		return
	}
	close(m.changed)
	m.changed = make(chan struct{})
}

// waitWorkers waits until the machine has n ready workers (failing the
// test after timeout) and returns their ids, in order.
func (m *machine) waitWorkers(n int, timeout time.Duration) []int {
	m.t.Helper()
	deadline := time.After(timeout)
	for {
		m.mu.Lock()
		ids, changed := make([]int, 0, len(m.workers)), m.changed
		for id := range m.workers {
			ids = append(ids, id)
		}
		m.mu.Unlock()
		if len(ids) >= n {
			slices.Sort(ids)
			return ids
		}
		select {
		case <-changed:
		case <-m.gone:
			m.t.Fatalf("machine %s exited with %d of %d workers ready:\n%s", m.name, len(ids), n, m.logs())
		case <-deadline:
			m.t.Fatalf("machine %s has %d of %d workers ready after %v:\n%s", m.name, len(ids), n, timeout, m.logs())
		}
	}
}

// ids returns the ids of the machine's ready workers, in order.
func (m *machine) ids() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]int, 0, len(m.workers))
	for id := range m.workers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// pid returns the PID of the worker id.
func (m *machine) pid(id int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.workers[id]
}

// exited returns "ID PID CODE" of each worker that exited so far.
func (m *machine) exited() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.exits)
}

func (m *machine) logs() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.log.String()
}

// ask sends cmd to target ("p": the primary; or a worker's id) and returns
// its reply; it fails with errGone if the machine goes away first.
func (m *machine) ask(target, cmd string) (string, error) {
	ch := make(chan reply, 1)
	m.mu.Lock()
	m.seq++
	seq := m.seq
	m.pending[seq] = ch
	m.mu.Unlock()
	select {
	case <-m.gone:
		return "", errGone
	default:
	}
	if _, err := fmt.Fprintf(m.stdin, "%d %s %s\n", seq, target, cmd); err != nil {
		return "", fmt.Errorf("%w: %w", errGone, err)
	}
	t := time.NewTimer(askTimeout + 5*time.Second)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.text, r.err
	case <-t.C:
		m.mu.Lock()
		delete(m.pending, seq)
		m.mu.Unlock()
		return "", fmt.Errorf("machine %s: no reply to %q", m.name, cmd)
	}
}

// askJSON sends cmd to target and decodes its JSON reply into v, failing
// the test if it cannot (call it on the test's goroutine).
func (m *machine) askJSON(target, cmd string, v any) {
	m.t.Helper()
	text, err := m.ask(target, cmd)
	if err == nil {
		err = json.Unmarshal([]byte(text), v)
	}
	if err != nil {
		m.t.Fatalf("machine %s, %s: %q: %v (reply %q)", m.name, target, cmd, err, text)
	}
}

// kill SIGKILLs the machine's primary and its workers, and waits until
// they are gone (15 s at most: it reports whether they are).
func (m *machine) kill() bool {
	m.mu.Lock()
	m.killed = true
	pids := m.live()
	m.mu.Unlock()
	m.cmd.Process.Kill()
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	select {
	case <-m.gone:
		return true
	case <-time.After(15 * time.Second):
		m.t.Errorf("machine %s: its output still open 15 s after it was killed", m.name)
		return false
	}
}

// stop ends the machine (cleanup): closing its stdin makes it stop its
// workers and exit; after 20 s it is killed. Its workers must be gone.
func (m *machine) stop() {
	m.stdin.Close()
	select {
	case <-m.gone:
	case <-time.After(20 * time.Second):
		m.t.Errorf("machine %s did not exit 20 s after its stdin closed", m.name)
		if !m.kill() {
			return
		}
	}
	m.mu.Lock()
	pids, killed := m.live(), m.killed
	m.mu.Unlock()
	if code := m.cmd.ProcessState.ExitCode(); !killed && code != 0 {
		m.t.Errorf("machine %s exited with status %d", m.name, code)
	}
	for _, ex := range m.exited() { // 0, or -1 for a worker the test killed
		if code := ex[strings.LastIndexByte(ex, ' ')+1:]; code != "0" && code != "-1" {
			m.t.Errorf("machine %s: worker (id pid status) %s", m.name, ex)
		}
	}
	for _, pid := range pids {
		if !waitGone(pid, 10*time.Second) {
			m.t.Errorf("machine %s: worker %d still alive after the machine exited", m.name, pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if m.t.Failed() {
		m.t.Logf("machine %s's log:\n%s", m.name, m.logs())
	}
}

// live returns the PIDs of the workers not seen to exit; m.mu is held.
func (m *machine) live() []int {
	var pids []int
	for _, pid := range m.workers {
		pids = append(pids, pid)
	}
	return pids
}

// waitGone reports whether process pid is gone (or a zombie) within d.
func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if syscall.Kill(pid, 0) != nil {
			return true
		}
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			if _, after, ok := strings.Cut(string(b), ") "); ok && strings.HasPrefix(after, "Z") {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}
