//go:build unix

package cluster_test

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

func extraFileWorker() int {
	f := os.NewFile(3, "extra")
	fmt.Fprintf(f, "worker %d\n", cluster.ID())
	f.Close()
	cluster.Ready() // the channel, after the extra file, still works
	<-cluster.Shutdown()
	return 0
}

// TestExtraFiles: every worker inherits Settings.ExtraFiles from fd 3 with
// its channel after them; a worker that replaces a killed one counts a
// restart.
func TestExtraFiles(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	tc := startCluster(t, cluster.Config{Workers: 1, Settings: cluster.Settings{Env: env("extrafile"), ExtraFiles: []*os.File{w}}})
	lines := bufio.NewReader(r)
	readLine := func() string {
		t.Helper()
		r.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("reading what the worker wrote to fd 3: %v", err)
		}
		return strings.TrimSpace(l)
	}
	first := tc.ready(1)[0]
	if l := readLine(); l != fmt.Sprintf("worker %d", first.ID()) {
		t.Fatalf("fd 3 of the worker got %q", l)
	}
	if first.Restarts() != 0 || time.Since(first.Started()) > time.Minute {
		t.Fatalf("first worker: %d restarts, started %v", first.Restarts(), first.Started())
	}
	first.Process().Kill()
	next := tc.waitFor(10*time.Second, "the replacement ready", func(e cluster.Event) bool {
		return e.Type == cluster.EventReady && e.Worker.ID() != first.ID()
	}).Worker
	if l := readLine(); l != fmt.Sprintf("worker %d", next.ID()) {
		t.Fatalf("fd 3 of the replacement got %q", l)
	}
	if next.Restarts() != 1 || !next.Started().After(first.Started()) {
		t.Fatalf("replacement: %d restarts (want 1), started %v (first %v)", next.Restarts(), next.Started(), first.Started())
	}
}
