//go:build unix

package redis_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/redis"
)

// The test binary is also every "machine" of the cluster tests: a test
// starts it with envMachine set, and it runs a primary whose store is in
// Redis, with two workers (the test binary again). The test drives it over
// stdin and stdout (see serveMachine); its workers run the scenarios of
// scenario_test.go.
const (
	envMachine  = "GOCLUSTER_TEST_MACHINE"        // the machine's name ("A")
	envAddr     = "GOCLUSTER_TEST_REDIS"          // the redis-server's host:port
	envStore    = "GOCLUSTER_TEST_REDIS_STORE"    // the store's Name
	envLease    = "GOCLUSTER_TEST_REDIS_LEASE"    // redis.Config.Lease
	envLogLevel = "GOCLUSTER_TEST_REDIS_LOGLEVEL" // "debug": the machines log every line
)

const (
	machineOut = "@ "             // the prefix of the lines the test reads
	askTimeout = 30 * time.Second // bounds a command
)

func TestMain(m *testing.M) {
	switch {
	case cluster.IsWorker():
		os.Exit(workerMain())
	case os.Getenv(envMachine) != "":
		os.Exit(machineMain(os.Getenv(envMachine)))
	}
	os.Exit(m.Run())
}

// out writes the lines the test reads, one at a time.
type out struct {
	mu sync.Mutex
	w  io.Writer
}

func (o *out) printf(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.w, machineOut+format+"\n", args...)
}

// machineMain runs a machine: a primary with two workers and its store in
// Redis, until its stdin closes. It prints "ready ID PID" when a worker is
// ready, "exit ID PID CODE" when one exits (CODE -1: a signal ended it), and "r SEQ ok|err REPLY" for each
// command read from stdin; see serveMachine.
func machineMain(name string) int {
	o := &out{w: os.Stdout}
	lease, err := time.ParseDuration(os.Getenv(envLease))
	if err != nil {
		o.printf("error %q", err.Error())
		return 1
	}
	level := slog.LevelInfo
	if os.Getenv(envLogLevel) == "debug" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("machine", name)
	p, err := cluster.New(cluster.Config{
		Workers: 2, NoSignals: true, DrainTimeout: 3 * time.Second, KillTimeout: time.Second, Logger: logger,
		Store: redis.Store(redis.Config{Addrs: []string{os.Getenv(envAddr)}, Name: os.Getenv(envStore),
			Lease: lease, DialTimeout: time.Second, Logger: logger}),
	})
	if err != nil {
		o.printf("error %q", err.Error())
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := p.Events(context.Background())
	recorded, served := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(recorded)
		for e := range events {
			switch e.Type {
			case cluster.EventReady:
				o.printf("ready %d %d", e.Worker.ID(), e.Worker.PID())
			case cluster.EventExit:
				o.printf("exit %d %d %d", e.Worker.ID(), e.Worker.PID(), e.ExitCode)
			}
		}
	}()
	go func() {
		defer close(served)
		serveMachine(ctx, cancel, p, name, o)
	}()
	err = p.Run(ctx)
	<-recorded
	if err != nil { // stdin may still be open: exit without its reader
		fmt.Fprintln(os.Stderr, "Run:", err)
		return 1
	}
	<-served // Run returned nil: ctx ended, so stdin closed
	return 0
}

// serveMachine reads the test's commands, "SEQ TARGET COMMAND ARGS", until
// stdin closes (the test is done with this machine: it cancels ctx): TARGET
// is "p" (run here, on the primary's store) or a worker's id (sent to it
// as a request). Each runs on its own goroutine, all joined before it
// returns, and its reply is printed with SEQ.
func serveMachine(ctx context.Context, cancel context.CancelFunc, p *cluster.Primary, name string, o *out) {
	sc := bufio.NewScanner(os.Stdin)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for sc.Scan() {
		seq, rest, _ := strings.Cut(sc.Text(), " ")
		target, cmd, _ := strings.Cut(rest, " ")
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply, err := machineCommand(ctx, p, name, target, cmd)
			if err != nil {
				o.printf("r %s err %q", seq, err.Error())
				return
			}
			o.printf("r %s ok %q", seq, reply)
		}()
	}
}

// machineCommand runs cmd on the primary's store (target "p") or has the
// worker of id target run it.
func machineCommand(ctx context.Context, p *cluster.Primary, name, target, cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	if target == "p" {
		return scenario(ctx, p.Store(), name+"/p", cmd), nil
	}
	id, err := strconv.Atoi(target)
	if err != nil {
		return "", fmt.Errorf("bad target %q", target)
	}
	for _, w := range p.Workers() {
		if w.ID() == id {
			rep, err := w.Request(ctx, []byte(cmd))
			return string(rep), err
		}
	}
	return "", fmt.Errorf("no worker %d", id)
}

// workerMain is a worker of a machine: once its replica holds the store's
// content it is ready, and runs each request as a scenario command.
func workerMain() int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	store, err := cluster.Store(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker: store:", err)
		return 2
	}
	cluster.Ready()
	who := os.Getenv(envMachine) + "/" + strconv.Itoa(cluster.ID())
	msgs := cluster.Messages()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return 0
			}
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
				defer cancel()
				m.Reply([]byte(scenario(ctx, store, who, string(m.Data))))
			}()
		case <-cluster.Shutdown():
			return 0
		}
	}
}
