package metrics_test

import (
	"context"
	"errors"
	"log"
	"net/http"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// A primary serves every worker's metrics on :9100; each worker counts its
// requests and hands its registry to the primary.
func Example() {
	if cluster.IsPrimary() {
		p, err := cluster.New(cluster.Config{Workers: 4})
		if err != nil {
			log.Fatal(err)
		}
		c, err := metrics.New(p, metrics.Options{Gatherer: prometheus.DefaultGatherer})
		if err != nil {
			log.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		collected := make(chan error, 1)
		go func() { collected <- c.Run(ctx) }()
		srv := &http.Server{Addr: ":9100", Handler: c.Handler()}
		go srv.ListenAndServe()
		err = p.Run(ctx) // until SIGINT or SIGTERM
		srv.Close()
		cancel()
		<-collected
		if err != nil {
			log.Fatal(err)
		}
		return
	}

	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_requests_total", Help: "Requests served."})
	reg.MustRegister(requests)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- metrics.Serve(ctx, reg) }()

	ln, err := cluster.Listen("tcp", ":8080")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Inc()
		w.Write([]byte("hello\n"))
	})}
	cluster.Ready()
	if err := cluster.Serve(srv, ln); err != nil {
		log.Print(err)
	}
	cancel() // drained: Serve sends the last counts and returns
	if err := <-served; err != nil && !errors.Is(err, metrics.ErrNotWorker) {
		log.Print(err)
	}
}
