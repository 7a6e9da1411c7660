//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/gocluster/cluster"
)

// The examples that start a cluster with Args are whole programs: the
// primary runs the program again as each worker, which takes the
// cluster.IsWorker branch. Here the program is the test binary, whose
// workers run TestMain instead of main; the argument names the example
// they run.
var exampleWorkers = map[string]func(){
	"listen": ExampleListen,
	"reload": ExamplePrimary_Reload,
	"scale":  ExamplePrimary_Scale,
	"load":   ExampleStore,
}

func init() {
	if cluster.IsWorker() && len(os.Args) == 2 && exampleWorkers[os.Args[1]] != nil {
		exampleWorkers[os.Args[1]]()
		os.Exit(0)
	}
}

// A cluster of two workers, each answering a request. In this test binary
// the workers run TestMain's echo worker; in a program they run the same
// main, which checks cluster.IsWorker.
func Example() {
	p, err := cluster.New(cluster.Config{Workers: 2, NoSignals: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := p.Events(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for ready := 0; ready < 2; {
		if e := <-events; e.Type == cluster.EventReady {
			ready++
		}
	}
	for _, w := range p.Workers() {
		rep, err := w.Request(ctx, []byte("echo:hello"))
		fmt.Printf("worker %d: %s %v\n", w.ID(), rep, err)
	}
	cancel()
	fmt.Println("Run returned", <-done)
	// Output:
	// worker 1: hello <nil>
	// worker 2: hello <nil>
	// Run returned <nil>
}

// New says what to change in a bad Config.
func ExampleNew() {
	_, err := cluster.New(cluster.Config{Workers: -2})
	fmt.Println(err)
	fmt.Println(errors.Is(err, cluster.ErrInvalidConfig))
	// Output:
	// cluster: invalid config: Workers is -2; use 0 for one per CPU, NoWorkers (-1) for none, or a positive count
	// true
}

// A worker serving requests on the reading goroutine: the fastest path.
func ExampleHandle() {
	cluster.Handle(func(m *cluster.Message) {
		if m.IsRequest() {
			m.Reply(append([]byte("echo: "), m.Data...))
		}
	})
	cluster.Ready()
	<-cluster.Shutdown() // the primary asks this worker to drain
}

// A worker reading its messages from a channel.
func ExampleMessages() {
	for {
		select {
		case m, ok := <-cluster.Messages():
			if !ok {
				return // the primary is gone
			}
			fmt.Printf("from %d: %s\n", m.From, m.Data)
		case <-cluster.Shutdown():
			return
		}
	}
}

// Sending to another worker, routed by the primary.
func ExampleRequestTo() {
	ctx := context.Background()
	rep, err := cluster.RequestTo(ctx, 2, []byte("echo:hi"))
	if errors.Is(err, cluster.ErrNoWorker) {
		fmt.Println("worker 2 is not running")
		return
	}
	fmt.Printf("worker 2 says %s\n", rep)
}

// Events of a running primary, as Node's cluster.on(...).
func ExamplePrimary_Events() {
	p, _ := cluster.New(cluster.Config{})
	go func() {
		for e := range p.Events(context.Background()) {
			switch e.Type {
			case cluster.EventExit:
				fmt.Printf("worker %d exited: code %d signal %v\n", e.Worker.ID(), e.ExitCode, e.Signal)
			case cluster.EventError:
				fmt.Println("error:", e.Err)
			}
		}
	}()
	p.Run(context.Background())
}

// Every worker serves HTTP on one address: the primary binds it (port 0 is
// picked once, for all) and, by default, hands each connection to the next
// worker. Serve drains a worker without failing a request when the primary
// stops it, here when ctx ends.
func ExampleListen() {
	if cluster.IsWorker() {
		ln, err := cluster.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		srv := &http.Server{
			ReadHeaderTimeout: 5 * time.Second,
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "hello from worker %d", cluster.ID())
			}),
		}
		cluster.Ready()
		if err := cluster.Serve(srv, ln); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}

	// The primary. (Args only tells the test binary running this example
	// which example its workers run: a program's workers run its main.)
	p, err := cluster.New(cluster.Config{Workers: 2, NoSignals: true,
		Settings: cluster.Settings{Args: []string{"listen"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events := p.Events(ctx) // before Run: no event is missed
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var addr string
	for ready := 0; ready < 2; {
		e, ok := <-events
		if !ok {
			fmt.Println("timed out; Run returned", <-done)
			return
		}
		switch e.Type {
		case cluster.EventListening:
			addr = e.Addr.String()
		case cluster.EventReady:
			ready++
		}
	}

	// One connection per request, to see them shared out.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	answers := map[string]int{}
	for range 4 {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			fmt.Println(err)
			break
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers[string(body)]++
	}
	for _, a := range slices.Sorted(maps.Keys(answers)) {
		fmt.Printf("%s: %d requests\n", a, answers[a])
	}
	cancel()
	fmt.Println("Run returned", <-done)
	// Output:
	// hello from worker 1: 2 requests
	// hello from worker 2: 2 requests
	// Run returned <nil>
}

// A rolling reload replaces every worker with one of the next generation,
// a new one ready before an old one drains.
func ExamplePrimary_Reload() {
	if cluster.IsWorker() {
		// Serve until told to stop; see ExampleListen.
		cluster.Ready()
		<-cluster.Shutdown()
		return
	}

	// The primary. (Args only tells the test binary running this example
	// which example its workers run: a program's workers run its main.)
	p, err := cluster.New(cluster.Config{Workers: 2, NoSignals: true,
		Settings: cluster.Settings{Args: []string{"reload"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events := p.Events(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for ready := 0; ready < 2; {
		e, ok := <-events
		if !ok {
			fmt.Println("timed out; Run returned", <-done)
			return
		}
		if e.Type == cluster.EventReady {
			ready++
		}
	}
	show := func() {
		for _, w := range p.Workers() {
			fmt.Printf("worker %d, generation %d\n", w.ID(), w.Generation())
		}
	}
	show()
	if err := p.Reload(ctx); err != nil { // a program would rather send SIGHUP
		fmt.Println(err)
	}
	show()
	cancel()
	fmt.Println("Run returned", <-done)
	// Output:
	// worker 1, generation 1
	// worker 2, generation 1
	// worker 3, generation 2
	// worker 4, generation 2
	// Run returned <nil>
}

// Scale forks workers, or stops the newest, until the count is reached;
// Events tell when they are ready or gone.
func ExamplePrimary_Scale() {
	if cluster.IsWorker() {
		cluster.Ready()
		<-cluster.Shutdown()
		return
	}

	// The primary. (Args only tells the test binary running this example
	// which example its workers run: a program's workers run its main.)
	p, err := cluster.New(cluster.Config{Workers: 1, NoSignals: true,
		Settings: cluster.Settings{Args: []string{"scale"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events := p.Events(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	wait := func(t cluster.EventType, n int) bool {
		for n > 0 {
			e, ok := <-events
			if !ok {
				return false
			}
			if e.Type == t {
				n--
			}
		}
		return true
	}
	ids := func() (ids []int) {
		for _, w := range p.Workers() {
			ids = append(ids, w.ID())
		}
		return ids
	}
	if wait(cluster.EventReady, 1) {
		fmt.Println("workers", ids())
	}
	if err := p.Scale(ctx, 3); err != nil {
		fmt.Println(err)
	}
	if wait(cluster.EventReady, 2) {
		fmt.Println("workers", ids())
	}
	if err := p.Scale(ctx, 1); err != nil {
		fmt.Println(err)
	}
	if wait(cluster.EventExit, 2) {
		fmt.Println("workers", ids())
	}
	cancel()
	fmt.Println("Run returned", <-done)
	// Output:
	// workers [1]
	// workers [1 2 3]
	// workers [1]
	// Run returned <nil>
}

// Every worker's Store reads a replica of the primary's: here Load fills a
// cache once for the whole cluster: every worker asks for the key, one runs
// the loader, and the others get its value.
func ExampleStore() {
	if cluster.IsWorker() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		store, err := cluster.Store(ctx) // waits for the primary's content
		if err != nil {
			cluster.Send([]byte(err.Error()))
			return
		}
		e, err := store.Load(ctx, "example/config", time.Hour, func(ctx context.Context) ([]byte, error) {
			cluster.Send([]byte("loading")) // a program would read a file or ask a database
			return []byte("max_conns=100"), nil
		})
		if err != nil {
			cluster.Send([]byte(err.Error()))
		} else {
			cluster.Send(e.Value)
		}
		cluster.Ready()
		<-cluster.Shutdown()
		return
	}

	// The primary. (Args only tells the test binary running this example
	// which example its workers run: a program's workers run its main.)
	p, err := cluster.New(cluster.Config{Workers: 3, NoSignals: true,
		Settings: cluster.Settings{Args: []string{"load"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs := p.Messages() // before Run: no message is dropped
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	loads, got := 0, map[string]int{}
	for n := 0; n < 3; {
		m, ok := <-msgs
		if !ok {
			fmt.Println("timed out; Run returned", <-done)
			return
		}
		if string(m.Data) == "loading" {
			loads++
		} else {
			got[string(m.Data)]++
			n++
		}
	}
	fmt.Println("the loader ran", loads, "time")
	fmt.Println("the workers got", got)
	cancel()
	fmt.Println("Run returned", <-done)
	// The store lives in the primary and outlives the workers.
	e, _ := p.Store().Get("example/config")
	fmt.Printf("the primary holds %s\n", e.Value)
	// Output:
	// the loader ran 1 time
	// the workers got map[max_conns=100:3]
	// Run returned <nil>
	// the primary holds max_conns=100
}
