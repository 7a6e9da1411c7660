//go:build unix

package cluster_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// httpLoad keeps requests going from keep-alive clients that never retry:
// each request is a POST whose body cannot be replayed, so the transport
// does not retry it and every failure is counted.
type httpLoad struct {
	t        *testing.T
	tr       *http.Transport
	stop     chan struct{}
	wg       sync.WaitGroup
	total    atomic.Int64
	failures atomic.Int64
}

// startHTTPLoad starts clients goroutines sending to addr until finish, for
// at most limit. tag is called before each request and check with its
// result and the body of each successful answer.
func startHTTPLoad(t *testing.T, addr string, clients int, limit time.Duration, tag func() int64, check func(tag int64, body string)) *httpLoad {
	l := &httpLoad{t: t, stop: make(chan struct{}),
		tr: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}}
	client := &http.Client{Transport: l.tr, Timeout: 10 * time.Second}
	deadline := time.Now().Add(limit)
	for range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := 0; n < 1_000_000 && time.Now().Before(deadline); n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", io.NopCloser(strings.NewReader("x")))
				tg := tag()
				resp, err := client.Do(req)
				l.total.Add(1)
				if err != nil {
					l.failures.Add(1)
					t.Logf("request failed: %v", err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					l.failures.Add(1)
					t.Logf("request failed: status %d, %v", resp.StatusCode, err)
					continue
				}
				check(tg, string(body))
			}
		}()
	}
	return l
}

// finish stops the clients and fails the test if any request failed; it
// returns how many were made.
func (l *httpLoad) finish(what string) int64 {
	close(l.stop)
	l.wg.Wait()
	l.tr.CloseIdleConnections()
	if n := l.failures.Load(); n != 0 {
		l.t.Fatalf("%d of %d requests failed %s", n, l.total.Load(), what)
	}
	return l.total.Load()
}
