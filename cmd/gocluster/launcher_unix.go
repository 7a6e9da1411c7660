//go:build unix

package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/internal/proc"
	"github.com/gocluster/cluster/internal/systemd"
)

// launch is the worker side of gocluster run: a worker of the library that
// runs the program beside it. The program gets the listening sockets from
// fd 3 (LISTEN_FDS), a NOTIFY_SOCKET, and a message channel (NODE_CHANNEL_FD,
// so that a Node program's process.send and process.on('message') work).
// The launcher turns READY=1 or process.send('ready') into cluster.Ready,
// the shutdown notice into the stop signal, passes messages both ways, and
// exits as the program did. It returns the exit code.
func launch(args []string) int {
	prog := afterDashes(args)
	if len(prog) == 0 || !cluster.IsWorker() {
		fmt.Fprintln(os.Stderr, "gocluster: "+launcherCmd+" is started by gocluster run, not by hand")
		return 2
	}
	// The program is started from this goroutine's thread, which stays
	// locked: Pdeathsig fires when the thread that forked ends.
	runtime.LockOSThread()
	runtime.GOMAXPROCS(1) // a relay: one thread is plenty
	l, err := newLauncher(prog)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return l.run()
}

type launcher struct {
	cmd     *exec.Cmd
	ready   readySpec
	stop    syscall.Signal
	notify  *systemd.Receiver
	channel *os.File // our end of the program's message channel
	// maxMemory: over it the program is stopped, and the launcher's exit
	// has it replaced (pm2's max_memory_restart).
	maxMemory int64
}

// memoryCheck is how often a program is checked against its memory limit;
// one over it that has not ended memoryKill after its stop signal is killed.
const (
	memoryCheck = 2 * time.Second
	memoryKill  = 30 * time.Second
)

func newLauncher(prog []string) (*launcher, error) {
	n, _ := strconv.Atoi(os.Getenv(envListenFDs))
	names := os.Getenv(envListenNames)
	ready, err := parseReady(cmp.Or(os.Getenv(envReady), "0s"))
	if err != nil {
		return nil, err
	}
	stop, err := parseSignal(cmp.Or(os.Getenv(envStopSignal), "TERM"))
	if err != nil {
		return nil, err
	}
	// Only the files named here go to the program: the library's own
	// channel, and whatever gocluster itself inherited, close on exec.
	closeOnExecAll()
	files := make([]*os.File, 0, n+1)
	for i := range n {
		files = append(files, os.NewFile(uintptr(3+i), "listener"))
	}
	syscall.ForkLock.RLock() // no fork between the pair and its close-on-exec (SOCK_CLOEXEC is not on macOS)
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(pair[0])
		syscall.CloseOnExec(pair[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("gocluster: message channel: %w", err)
	}
	maxMemory, _ := strconv.ParseInt(os.Getenv(envMaxMemory), 10, 64)
	l := &launcher{ready: ready, stop: stop, maxMemory: maxMemory, channel: os.NewFile(uintptr(pair[0]), "channel")}
	child := os.NewFile(uintptr(pair[1]), "channel-child")
	files = append(files, child)
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("gocluster: find this program: %w", err)
	}
	env := append(systemd.WithoutServiceEnv(os.Environ()),
		envProgWorker+"="+strconv.Itoa(cluster.ID()), envProgGeneration+"="+strconv.Itoa(cluster.Generation()),
		"NODE_CHANNEL_FD="+strconv.Itoa(3+n), "NODE_CHANNEL_SERIALIZATION_MODE=json", envProgMessageFD+"="+strconv.Itoa(3+n))
	if n > 0 {
		env = append(env, "LISTEN_FDS="+strconv.Itoa(n), "LISTEN_FDNAMES="+names)
	}
	if dir := os.Getenv(envNotifyDir); dir != "" {
		r, err := systemd.ListenNotify(filepath.Join(dir, strconv.Itoa(cluster.ID())+".sock"))
		if err != nil {
			return nil, fmt.Errorf("gocluster: worker %d: notify socket: %w", cluster.ID(), err)
		}
		l.notify = r
		env = append(env, "NOTIFY_SOCKET="+r.Path())
	}
	env = withoutEnv(env, envListenFDs, envListenNames, envReady, envNotifyDir, envStopSignal, envMaxMemory)
	l.cmd = exec.Command(self, append([]string{execCmd, "--"}, prog...)...)
	l.cmd.Env, l.cmd.ExtraFiles = env, files
	l.cmd.Stdin, l.cmd.Stdout, l.cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	l.cmd.SysProcAttr = childAttr()
	if err := l.cmd.Start(); err != nil {
		l.close()
		return nil, fmt.Errorf("gocluster: start %s: %w", prog[0], err)
	}
	for _, f := range files {
		f.Close()
	}
	return l, nil
}

func (l *launcher) close() {
	if l.notify != nil {
		l.notify.Close()
	}
	l.channel.Close()
}

// run relays until the program exits, then exits as it did.
func (l *launcher) run() int {
	pid := l.cmd.Process.Pid
	report, _ := json.Marshal(launcherReport{PID: pid})
	cluster.Send(report)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGQUIT)
	exited := make(chan error, 1)
	go func() { exited <- l.cmd.Wait() }()
	readyCh := make(chan struct{}, 2)
	if l.notify != nil {
		go l.readNotify(readyCh)
	}
	go l.readChannel(readyCh)
	go l.writeChannel()
	var delay <-chan time.Time
	if !l.ready.Notify {
		delay = time.After(l.ready.Delay)
	}
	shutdown := cluster.Shutdown()
	var memory <-chan time.Time
	if l.maxMemory > 0 {
		t := time.NewTicker(memoryCheck)
		defer t.Stop()
		memory = t.C
	}
	var kill <-chan time.Time
	for {
		select {
		case <-kill: // over its memory, and not draining
			l.cmd.Process.Kill()
		case <-memory:
			if rss, err := proc.RSS(pid); err == nil && rss > l.maxMemory {
				fmt.Fprintf(os.Stderr, "gocluster: worker %d: program over its memory (%d MiB > %d MiB): restarting it\n",
					cluster.ID(), rss>>20, l.maxMemory>>20)
				memory = nil
				l.cmd.Process.Signal(l.stop)
				kill = time.After(memoryKill)
			}
		case <-delay:
			delay = nil
			cluster.Ready()
		case <-readyCh:
			delay = nil
			cluster.Ready()
		case <-shutdown:
			shutdown = nil
			l.cmd.Process.Signal(l.stop)
		case s := <-sigs:
			l.cmd.Process.Signal(s)
		case <-exited:
			signal.Stop(sigs)
			l.close()
			return exitAs(l.cmd.ProcessState)
		}
	}
}

// readNotify turns READY=1 into readiness and passes STATUS= on to the
// primary, which relays it to systemd.
func (l *launcher) readNotify(ready chan<- struct{}) {
	for {
		n, err := l.notify.Read()
		if err != nil {
			return
		}
		if n.Ready {
			select {
			case ready <- struct{}{}:
			default:
			}
		}
		if n.Status != "" {
			b, _ := json.Marshal(launcherReport{Status: n.Status})
			cluster.Send(b)
		}
	}
}

// readChannel reads the program's messages, one JSON value a line (Node's
// process.send): "ready" (pm2's wait_ready) marks it ready, the rest go to
// the primary.
func (l *launcher) readChannel(ready chan<- struct{}) {
	r := bufio.NewReaderSize(l.channel, 64<<10)
	for {
		line, err := readLine(r, maxChannelLine)
		if err != nil {
			return
		}
		if line == nil {
			fmt.Fprintf(os.Stderr, "gocluster: worker %d: a message over %d MiB from the program was dropped\n", cluster.ID(), maxChannelLine>>20)
			continue
		}
		var s string
		if json.Unmarshal(line, &s) == nil && s == "ready" {
			select {
			case ready <- struct{}{}:
			default:
			}
			continue
		}
		var internal struct {
			Cmd string `json:"cmd"`
		}
		if json.Unmarshal(line, &internal) == nil && strings.HasPrefix(internal.Cmd, "NODE_") {
			continue // Node's own handshakes
		}
		b, _ := json.Marshal(launcherReport{Message: line})
		cluster.Send(b)
	}
}

// maxChannelLine is the longest message a program may send on its channel.
const maxChannelLine = 16 << 20

// readLine reads one line without its newline, in a new slice; a line
// over limit is skipped to its end and returned as nil.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) <= limit {
			line = append(line, chunk...)
		} else {
			line = line[:0:0] // over: drop what came, keep reading to the end
			limit = -1
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err != nil:
			return nil, err
		case limit < 0:
			return nil, nil
		}
		return line[:len(line)-1], nil
	}
}

// writeChannel gives the program the primary's messages, one a line: JSON
// as it is, anything else as a JSON string.
func (l *launcher) writeChannel() {
	for m := range cluster.Messages() {
		b := m.Data
		if !json.Valid(b) {
			b, _ = json.Marshal(string(b))
		}
		if _, err := l.channel.Write(append(b, '\n')); err != nil {
			return
		}
	}
}

// exitAs ends this process the way the program ended: the same code, or
// the same signal. A signal the Go runtime turns into a crash of its own
// (SIGQUIT, SIGABRT, SIGSEGV...) is said as the shell says it, 128+N.
func exitAs(st *os.ProcessState) int {
	ws, ok := st.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		sig := ws.Signal()
		switch sig {
		case syscall.SIGQUIT, syscall.SIGABRT, syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL,
			syscall.SIGTRAP, syscall.SIGSYS:
			return 128 + int(sig)
		}
		signal.Reset(sig)
		syscall.Kill(os.Getpid(), sig)
		time.Sleep(100 * time.Millisecond)
		return 128 + int(sig)
	}
	return st.ExitCode()
}

// closeOnExecAll marks every descriptor from 3 on close-on-exec: those
// meant for the program are passed through exec.Cmd.ExtraFiles.
func closeOnExecAll() {
	ents, err := os.ReadDir("/dev/fd")
	if err != nil {
		for fd := 3; fd < 1024; fd++ { // no /dev/fd: the usual range
			syscall.CloseOnExec(fd)
		}
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// execProgram is the program's first step: LISTEN_PID must be its own pid,
// which only the process itself knows before exec.
func execProgram(args []string) int {
	prog := afterDashes(args)
	if len(prog) == 0 {
		fmt.Fprintln(os.Stderr, "gocluster: "+execCmd+" is started by gocluster run, not by hand")
		return 2
	}
	path, err := exec.LookPath(prog[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "gocluster: %s: %v\n", prog[0], err)
		return 127
	}
	env := os.Environ()
	if os.Getenv("LISTEN_FDS") != "" {
		env = append(withoutEnv(env, "LISTEN_PID"), "LISTEN_PID="+strconv.Itoa(os.Getpid()))
	}
	err = syscall.Exec(path, prog, env)
	fmt.Fprintf(os.Stderr, "gocluster: exec %s: %v\n", prog[0], err)
	return 126
}
