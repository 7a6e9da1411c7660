//go:build unix

package control

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/logs"
)

// envDial makes the test binary a client that dials the socket it names,
// says hello and prints the first line it gets (the foreign-user test).
const envDial = "GOCONTROL_TEST_DIAL"

// The test binary is also the workers' program (a primary started by a
// test re-executes it) and the foreign user's client.
func TestMain(m *testing.M) {
	if cluster.IsWorker() {
		os.Exit(testWorker())
	}
	if path := os.Getenv(envDial); path != "" {
		os.Exit(dialAndPrint(path))
	}
	os.Exit(m.Run())
}

// testWorker prints a line on each stream, becomes ready, then for each
// message "say:X" prints "said X", and stores any other message at
// got/<its id>.
func testWorker() int {
	ctx := context.Background()
	fmt.Printf("hello from worker %d\n", cluster.ID())
	fmt.Fprintf(os.Stderr, "stderr of worker %d\n", cluster.ID())
	store, err := cluster.Store(ctx)
	if err != nil {
		return 2
	}
	msgs := cluster.Messages()
	cluster.Ready()
	for {
		select {
		case <-cluster.Shutdown():
			return 0
		case m, ok := <-msgs:
			if !ok {
				return 0
			}
			if s, ok := strings.CutPrefix(string(m.Data), "say:"); ok {
				fmt.Printf("said %s\n", s)
				continue
			}
			if _, err := store.Put(ctx, "got/"+strconv.Itoa(cluster.ID()), m.Data); err != nil {
				return 3
			}
		}
	}
}

func dialAndPrint(path string) int {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		fmt.Printf("dial: %v\n", err)
		return 1
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "{\"cmd\":\"hello\"}\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	fmt.Print(line)
	if err != nil {
		fmt.Printf("read: %v\n", err)
	}
	if _, err := io.ReadAll(c); err != nil { // the server closes: EOF
		fmt.Printf("after: %v\n", err)
	}
	return 0
}

// testServer is a primary running its workers, with a control server.
type testServer struct {
	p    *cluster.Primary
	srv  *Server
	path string
	logs *logs.Dir
	stop context.CancelFunc
	done chan struct{} // closed once Run and Serve returned
}

// startServer runs a primary with workers workers (their output in log
// files if withLogs) and serves its control socket in a temporary
// directory, until the test ends or the stop command.
func startServer(t *testing.T, workers int, withLogs bool) *testServer {
	t.Helper()
	ts := &testServer{path: shortSocketPath(t), done: make(chan struct{})}
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	cfg := cluster.Config{Workers: workers, NoSignals: true, DrainTimeout: 3 * time.Second,
		KillTimeout: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(out, nil))}
	if withLogs {
		d, err := logs.Open(logs.Config{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		ts.logs = d
		cfg.Silent, cfg.Stdout, cfg.Stderr = true, d.Stdout(), d.Stderr()
	}
	p, err := cluster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.p = p
	ctx, cancel := context.WithCancel(context.Background())
	ts.stop = cancel
	srv, err := Listen(p, Options{Path: ts.path, Name: "test", Stop: cancel, Logs: ts.logs,
		Logger: slog.New(slog.NewTextHandler(out, nil))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ts.srv = srv
	runErr, serveErr := make(chan error, 1), make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()
	go func() { serveErr <- srv.Serve(ctx) }()
	go func() {
		<-ctx.Done()
		<-runErr
		<-serveErr
		close(ts.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ts.done:
		case <-time.After(30 * time.Second):
			t.Errorf("Run or Serve did not return 30 s after the context ended")
		}
		for _, w := range p.Workers() {
			if !w.IsDead() {
				t.Errorf("worker %d still alive after Run returned", w.ID())
				w.Process().Kill()
			}
		}
		if ts.logs != nil {
			ts.logs.Close()
		}
	})
	ts.ready(t, workers)
	return ts
}

// ready waits until n live workers are ready.
func (ts *testServer) ready(t *testing.T, n int) []*cluster.Worker {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ws []*cluster.Worker
		for _, w := range ts.p.Workers() {
			if w.IsReady() && !w.IsDead() {
				ws = append(ws, w)
			}
		}
		if len(ws) >= n {
			return ws
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d workers ready after 15 s", len(ws), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// shortSocketPath returns a socket path in a new directory of mode 0700,
// short enough for sun_path (t.TempDir's paths can be long).
func shortSocketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir + "/c.sock"
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
