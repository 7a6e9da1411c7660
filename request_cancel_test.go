//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/cluster"
)

// TestRequestsGivenUpMidway sends requests whose contexts end while their
// answers are on the way (calls recycle the channels they wait on): every
// answer that does arrive must be the one to its own request, and the
// channel must work for plain requests afterwards.
func TestRequestsGivenUpMidway(t *testing.T) {
	tc := startCluster(t, cluster.Config{Workers: 1})
	w := tc.ready(1)[0]
	var answered, gaveUp atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				want := "echo:" + strconv.Itoa(g*1000+i)
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%10)*100*time.Microsecond)
				rep, err := w.Request(ctx, []byte(want))
				cancel()
				switch {
				case errors.Is(err, context.DeadlineExceeded):
					gaveUp.Add(1)
				case err != nil:
					t.Errorf("request %q: %v", want, err)
					return
				case string(rep) != want[len("echo:"):]:
					t.Errorf("request %q got the answer %q", want, rep)
					return
				default:
					answered.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if gaveUp.Load() == 0 {
		t.Errorf("no request was given up (%d answered): the test did not reach the path it is for", answered.Load())
	}
	for i := range 50 {
		if got, want := ask(t, w, "echo:after"+strconv.Itoa(i)), "after"+strconv.Itoa(i); got != want {
			t.Fatalf("after the given-up requests: answer %q to %q", got, want)
		}
	}
	t.Logf("%d answered, %d given up", answered.Load(), gaveUp.Load())
}
