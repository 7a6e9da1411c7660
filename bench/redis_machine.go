package main

// A "machine" of the Redis section: this bench binary re-executed as a
// primary of its own, with Store: redis.Store, and its own workers. Several
// run at once against one redis-server, as several machines would. The
// bench drives each through its stdin and stdout, one line per command
// and per reply:
//
//	ready                 (printed once its workers are ready; "error: ..." if not)
//	writes K S G          every worker Puts random keys among K from G goroutines for S seconds: "writes/s"
//	get K                 ns per Get of random keys among K, in its first worker
//	watch N               its first worker records N visibility samples, acknowledging each
//	visloop N             its first worker writes N time stamps, one in flight
//	visresult             "p50 p99 n" in ns of the samples recorded
//	loads                 the origin calls of its workers (warm mode), summed
//
// End of input stops it.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/redis"
)

// Environment of a machine process (and, inherited, of its workers).
const (
	envRedisMachine = "BENCH_REDIS_MACHINE" // the store's redis:// URL: this process is a machine
	envRedisName    = "BENCH_REDIS_NAME"    // the store's name
	envRedisWorkers = "BENCH_REDIS_WORKERS" // workers of the machine
	envRedisFill    = "BENCH_REDIS_FILL"    // keys to write before the workers start (stateKey, stateValue)
	envRedisDelay   = "BENCH_REDIS_DELAY"   // warm mode: the origin's latency
	warmMode        = "warm"                // BENCH_MODE of the cold-start workers
	warmKey         = "warm/config"         // the key they load
)

// redisRole runs this process as a machine of the Redis section or as a
// cold-start worker, and reports whether it was one.
func redisRole() bool {
	switch {
	case cluster.IsWorker() && os.Getenv(envBenchMode) == warmMode:
		warmWorker()
		return true
	case !cluster.IsWorker() && os.Getenv(envRedisMachine) != "":
		redisMachine()
		return true
	}
	return false
}

// redisMachine is the primary of one machine.
func redisMachine() {
	workers, _ := strconv.Atoi(os.Getenv(envRedisWorkers))
	fill, _ := strconv.Atoi(os.Getenv(envRedisFill))
	mode := os.Getenv(envBenchMode)
	rc := redis.Config{URL: os.Getenv(envRedisMachine), Name: os.Getenv(envRedisName)}
	cfg := cluster.Config{Workers: workers, Store: redis.Store(rc),
		Settings: cluster.Settings{Env: []string{envBenchMode + "=" + mode}}}
	p, ctx, stop, err := runClusterWith(cfg, func(p *cluster.Primary) error { return fillStore(p, fill) })
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer stop()
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		rep, err := machineCommand(ctx, p, strings.Fields(sc.Text()))
		if err != nil {
			rep = "error: " + err.Error()
		}
		fmt.Println(rep)
	}
}

// fillStore writes keys keys from the primary, 64 at a time.
func fillStore(p *cluster.Primary, keys int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var next atomic.Int64
	errs := make(chan error, 64)
	for range 64 {
		go func() {
			for i := int(next.Add(1)) - 1; i < keys; i = int(next.Add(1)) - 1 {
				if _, err := p.Store().Put(ctx, stateKey(i), stateValue); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var err error
	for range 64 {
		err = errors.Join(err, <-errs)
	}
	return err
}

// machineCommand runs one command of the bench on this machine.
func machineCommand(ctx context.Context, p *cluster.Primary, f []string) (string, error) {
	ws := p.Workers()
	if len(f) == 0 || len(ws) == 0 {
		return "", fmt.Errorf("no command, or no worker")
	}
	ask := func(w *cluster.Worker, req string) (string, error) {
		rep, err := w.Request(ctx, []byte(req))
		return string(rep), err
	}
	arg := func(i int) int {
		if i >= len(f) {
			return 0
		}
		n, _ := strconv.Atoi(f[i])
		return n
	}
	switch f[0] {
	case "writes":
		rate, err := writeRate(ctx, ws, arg(1), arg(2), arg(3))
		return strconv.FormatFloat(rate, 'f', 0, 64), err
	case "get":
		return ask(ws[0], "get:"+strconv.Itoa(arg(1)))
	case "watch":
		return ask(ws[0], "watch:"+strconv.Itoa(arg(1))+":1")
	case "visloop":
		return ask(ws[0], "visloop:"+strconv.Itoa(arg(1)))
	case "visresult":
		return ask(ws[0], "visresult")
	case "loads":
		total := 0
		for _, w := range ws {
			rep, err := ask(w, "loads")
			if err != nil {
				return "", err
			}
			n, _ := strconv.Atoi(rep)
			total += n
		}
		return strconv.Itoa(total), nil
	}
	return "", fmt.Errorf("unknown command %q", f[0])
}

// warmWorker loads warmKey from an origin that takes BENCH_REDIS_DELAY,
// then is ready, and answers "loads" with the origin calls it made.
func warmWorker() {
	delay, _ := time.ParseDuration(os.Getenv(envRedisDelay))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := cluster.Store(ctx)
	if err != nil {
		log.Fatal(err)
	}
	var calls atomic.Int64
	_, err = store.Load(ctx, warmKey, time.Hour, func(ctx context.Context) ([]byte, error) {
		calls.Add(1)
		time.Sleep(delay)
		return []byte("the origin's cache"), nil
	})
	if err != nil {
		log.Fatal(err)
	}
	cluster.Handle(func(m *cluster.Message) {
		if m.IsRequest() && string(m.Data) == "loads" {
			m.Reply([]byte(strconv.FormatInt(calls.Load(), 10)))
		}
	})
	cluster.Ready()
	<-cluster.Shutdown()
}

// machine is the bench's side of a machine process.
type machine struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	rest   io.Reader  // what out reads: stop drains it
	mu     sync.Mutex // one command at a time
	exited chan struct{}
}

// startMachine starts a machine of workers workers (BENCH_MODE mode) on
// the store name of srv; ready waits for its workers.
func startMachine(srv *redisServer, name string, workers int, mode string, extra ...string) (*machine, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	m := &machine{cmd: exec.Command(exe), exited: make(chan struct{})}
	m.cmd.Env = append(os.Environ(), envRedisMachine+"="+srv.url(), envRedisName+"="+name,
		envRedisWorkers+"="+strconv.Itoa(workers), envBenchMode+"="+mode)
	m.cmd.Env = append(m.cmd.Env, extra...)
	m.cmd.Stderr = os.Stderr
	if m.in, err = m.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	// Its output goes through a pipe of ours, which Wait has copied in
	// full when it returns: its last line is read even after it exited.
	pr, pw := io.Pipe()
	m.cmd.Stdout, m.out, m.rest = pw, bufio.NewScanner(pr), pr
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		m.cmd.Wait()
		pw.Close()
		close(m.exited)
	}()
	return m, nil
}

// ready waits for the machine's first line: its workers are ready.
func (m *machine) ready() error {
	rep, err := m.line()
	if err == nil && rep != "ready" {
		err = errors.New(rep)
	}
	return err
}

// do sends one command and returns its reply.
func (m *machine) do(cmd string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := io.WriteString(m.in, cmd+"\n"); err != nil {
		return "", fmt.Errorf("machine: %s: %w", cmd, err)
	}
	rep, err := m.line()
	if err != nil {
		return "", fmt.Errorf("machine: %s: %w", cmd, err)
	}
	if msg, ok := strings.CutPrefix(rep, "error: "); ok {
		return "", fmt.Errorf("machine: %s: %s", cmd, msg)
	}
	return rep, nil
}

func (m *machine) line() (string, error) {
	if m.out.Scan() {
		return m.out.Text(), nil
	}
	if err := m.out.Err(); err != nil {
		return "", err
	}
	return "", io.ErrUnexpectedEOF // it exited
}

// stop ends the machine's input (it stops its workers and exits) and
// waits for it; after 20 s it is killed by its PID.
func (m *machine) stop() {
	m.in.Close()
	drained := make(chan struct{})
	go func() { io.Copy(io.Discard, m.rest); close(drained) }() // until the pipe closes, after Wait
	defer func() { <-drained }()
	select {
	case <-m.exited:
	case <-time.After(20 * time.Second):
		fmt.Fprintf(os.Stderr, "redis: machine %d still running 20 s after its input ended: killed\n", m.cmd.Process.Pid)
		m.cmd.Process.Kill()
		<-m.exited
	}
}
