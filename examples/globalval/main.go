// Command globalval is the seed's globalVal example done with the shared
// state: four workers set the same key at once and count visits with
// compare-and-set, and every process ends with the same data.
//
//	go run ./examples/globalval
//
// In Node, globalVal.set sends the whole object to the primary, which sends
// it to every worker: concurrent sets can leave workers with different data,
// and the cost grows with the object. Here the primary orders every write
// (one revision each), sends each worker only the change, and each worker
// reads its own replica.
package main

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/kv"
)

const workers = 4

func main() {
	if cluster.IsPrimary() {
		if err := primary(); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := worker(); err != nil {
		log.Fatal(err)
	}
}

func primary() error {
	p, err := cluster.New(cluster.Config{Workers: workers})
	if err != nil {
		return err
	}
	// The primary owns the store: it is there before any worker starts.
	greetings := kv.NewMap[string](p.Store(), "globalVal/")
	if _, err := greetings.Set(context.Background(), "greeting", "Hi!, from the primary"); err != nil {
		return err
	}
	ctx, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	var mu sync.Mutex
	done := 0
	p.Handle(func(m *cluster.Message) { // each worker says when it has written
		mu.Lock()
		defer mu.Unlock()
		if done++; done == workers {
			go report(ctx, p, stop)
		}
	})
	return p.Run(ctx)
}

// report asks every worker what its replica holds, prints it beside the
// primary's, and stops the cluster.
func report(ctx context.Context, p *cluster.Primary, stop func()) {
	defer stop()
	greetings := kv.NewMap[string](p.Store(), "globalVal/")
	visits := kv.NewMap[int](p.Store(), "globalVal/")
	g, _ := greetings.Get("greeting")
	v, _ := visits.Get("visits")
	fmt.Printf("primary:  greeting=%q visits=%d (revision %d)\n", g, v, p.Store().Rev())
	for _, w := range p.Workers() {
		rep, err := w.Request(ctx, []byte("get"))
		if err != nil {
			fmt.Printf("worker %d: %v\n", w.ID(), err)
			continue
		}
		fmt.Printf("worker %d: %s\n", w.ID(), rep)
	}
	// Range lists what the store holds, in key order, without knowing the keys.
	for key, e := range p.Store().Range("globalVal/") {
		fmt.Printf("stored:   %s = %s (revision %d)\n", key, e.Value, e.Rev)
	}
}

func worker() error {
	// Every call that waits for the primary takes a context: here, the
	// snapshot of the shared state and the writes get 10 s in all.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := cluster.Store(ctx) // waits for the primary's content
	if err != nil {
		return err
	}
	greetings := kv.NewMap[string](store, "globalVal/")
	visits := kv.NewMap[int](store, "globalVal/")
	// globalVal.set('greeting', ...) from every worker at once: one of the
	// writes is last in the one order, and every replica ends with it.
	if _, err := greetings.Set(ctx, "greeting", fmt.Sprintf("Hi!, from worker %d", cluster.ID())); err != nil {
		return err
	}
	// A counter every worker increments: compare-and-set loses no increment.
	if _, err := visits.Update(ctx, "visits", func(n int, _ bool) (int, error) { return n + 1, nil }); err != nil {
		return err
	}
	cluster.Handle(func(m *cluster.Message) {
		g, _ := greetings.Get("greeting") // a local read, no IPC
		v, _ := visits.Get("visits")
		m.Reply([]byte(fmt.Sprintf("greeting=%q visits=%d (revision %d)", g, v, store.Rev())))
	})
	cluster.Ready()
	if err := cluster.Send([]byte("written")); err != nil {
		return err
	}
	<-cluster.Shutdown()
	return nil
}
