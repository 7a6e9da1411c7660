//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/gocluster/cluster"
)

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

// Store is the same in the primary, in every worker and in a program on
// its own: a write returns its revision, and Get reads the local replica.
func ExampleStore() {
	ctx := context.Background()
	kv := cluster.Store()
	rev, err := kv.Put(ctx, "example/greeting", []byte("Hi!, from seotory"))
	if err != nil {
		fmt.Println(err)
		return
	}
	e, _ := kv.Get("example/greeting")
	fmt.Println(string(e.Value), e.Rev == rev)
	// Update succeeds only if nobody wrote the key since rev.
	_, err = kv.Update(ctx, "example/greeting", []byte("Hello"), rev-1)
	fmt.Println(errors.Is(err, cluster.ErrConflict))
	// Output:
	// Hi!, from seotory true
	// true
}

// A typed Map counts across every process without losing an increment.
func ExampleMap_Update() {
	ctx := context.Background()
	visits := cluster.NewMap[int]("example/stats/")
	visits.Delete(ctx, "visits")
	for range 3 {
		visits.Update(ctx, "visits", func(n int, _ bool) (int, error) { return n + 1, nil })
	}
	n, _ := visits.Get("visits")
	fmt.Println(n)
	// Output: 3
}
