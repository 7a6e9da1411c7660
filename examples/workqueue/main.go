// Command workqueue is the hand-out-work pattern of Node's cluster docs: the
// primary holds a list of jobs (DATA), gives each worker one job at a time
// as a request, and collects the results (RESULT) the workers reply with.
// When the queue is empty it prints the results and stops the cluster.
//
//	go run ./examples/workqueue -n 4 -jobs 40
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"sync"

	"github.com/gocluster/cluster"
)

// job asks how many primes lie below Limit.
type job struct {
	ID    int `json:"id"`
	Limit int `json:"limit"`
}

type result struct {
	Job    int `json:"job"`
	Primes int `json:"primes"`
	Worker int `json:"worker"`
}

func main() {
	n := flag.Int("n", 0, "workers (0: one per CPU)")
	jobs := flag.Int("jobs", 20, "number of jobs")
	flag.Parse()
	if cluster.IsWorker() {
		work()
		return
	}
	if err := distribute(*n, *jobs); err != nil {
		log.Fatal(err)
	}
}

func distribute(n, count int) error {
	p, err := cluster.New(cluster.Config{Workers: n})
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	queue := make(chan job, count)
	for i := range count {
		queue <- job{ID: i, Limit: 100_000 + 50_000*i}
	}
	// The queue stays open: a job whose worker died goes back on it.

	var mu sync.Mutex
	var results []result
	var wg sync.WaitGroup
	events := p.Events(ctx)
	go func() {
		// One feeder per worker that says it is ready (replacements of
		// crashed workers too): it takes the next job, sends it, waits for
		// the result. If the worker dies, its job goes back on the queue.
		for e := range events {
			if e.Type != cluster.EventReady {
				continue
			}
			wg.Add(1)
			go func(w *cluster.Worker) {
				defer wg.Done()
				for {
					var j job
					select {
					case j = <-queue:
					case <-ctx.Done():
						return
					}
					data, _ := json.Marshal(j)
					rep, err := w.Request(ctx, data)
					if err != nil {
						queue <- j // room: at most count jobs exist
						if ctx.Err() == nil {
							log.Printf("job %d on worker %d: %v; requeued", j.ID, w.ID(), err)
						}
						return
					}
					var r result
					if err := json.Unmarshal(rep, &r); err != nil {
						log.Printf("job %d: bad result: %v", j.ID, err)
						continue
					}
					mu.Lock()
					results = append(results, r)
					done := len(results) == count
					mu.Unlock()
					if done {
						stop() // every job answered: shut the cluster down
					}
				}
			}(e.Worker)
		}
	}()
	if err := p.Run(ctx); err != nil {
		return err
	}
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return results[i].Job < results[j].Job })
	perWorker := map[int]int{}
	for _, r := range results {
		fmt.Printf("job %2d: %6d primes (worker %d)\n", r.Job, r.Primes, r.Worker)
		perWorker[r.Worker]++
	}
	fmt.Printf("%d jobs done; jobs per worker: %v\n", len(results), perWorker)
	if len(results) != count {
		return fmt.Errorf("%d of %d jobs done", len(results), count)
	}
	return nil
}

// work answers each job request with its result. Handle runs on the IPC
// reading goroutine, so the counting goes to its own goroutine.
func work() {
	cluster.Handle(func(m *cluster.Message) {
		go func() {
			var j job
			if err := json.Unmarshal(m.Data, &j); err != nil {
				m.ReplyError(err)
				return
			}
			out, _ := json.Marshal(result{Job: j.ID, Primes: countPrimes(j.Limit), Worker: cluster.ID()})
			m.Reply(out)
		}()
	})
	cluster.Ready()
	<-cluster.Shutdown()
	os.Exit(0)
}

func countPrimes(limit int) int {
	composite := make([]bool, limit)
	n := 0
	for i := 2; i < limit; i++ {
		if composite[i] {
			continue
		}
		n++
		for k := i * i; k < limit; k += i {
			composite[k] = true
		}
	}
	return n
}
