package control_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/gocluster/cluster"
	"github.com/gocluster/cluster/control"
	"github.com/gocluster/cluster/logs"
)

// A program that runs its own cluster gets the control socket the
// gocluster CLI would give it: gocluster status, scale, reload, logs and
// stop then work from its directory.
func Example() {
	if !cluster.IsPrimary() {
		// The worker's code.
		cluster.Ready()
		<-cluster.Shutdown()
		return
	}
	d, err := logs.Open(logs.Config{Dir: "logs", Echo: os.Stdout})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	p, err := cluster.New(cluster.Config{
		Workers:  2,
		Settings: cluster.Settings{Silent: true},
		Stdout:   d.Stdout(),
		Stderr:   d.Stderr(),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	srv, err := control.Listen(p, control.Options{Name: "hello", Stop: stop, Logs: d})
	if err != nil {
		log.Fatal(err) // say, a cluster already runs from this directory
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	err = p.Run(ctx) // until SIGINT, SIGTERM or gocluster stop
	stop()
	if serr := <-served; serr != nil {
		log.Print(serr)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// A client, as the gocluster CLI is one: the cluster started from the
// working directory, and its status.
func ExampleDial() {
	path, err := control.DefaultPath(".")
	if err != nil {
		log.Fatal(err)
	}
	c, err := control.Dial(context.Background(), path)
	if err != nil {
		log.Fatal(err) // control: no cluster runs from this directory (socket ...): ...
	}
	st, err := c.Status(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, w := range st.Workers {
		fmt.Printf("worker %d pid %d %s cpu %.0f%% rss %d MiB\n", w.ID, w.PID, w.State, w.CPU, w.RSS>>20)
	}
}
