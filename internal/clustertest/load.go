// Package clustertest holds what the project's tests share: a load of
// HTTP clients that never retry, and a real terminal (tmux) to run a
// program in.
package clustertest

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// HTTPLoad keeps requests going from keep-alive clients that never retry:
// each request is a POST whose body cannot be replayed, so the transport
// does not retry it and every failure is counted.
type HTTPLoad struct {
	t    *testing.T
	tr   *http.Transport
	stop chan struct{}
	wg   sync.WaitGroup
	// Total counts the requests made so far.
	Total    atomic.Int64
	failures atomic.Int64
}

// StartHTTPLoad starts clients goroutines sending to addr until finish, for
// at most limit. tag is called before each request and check with its
// result and the body of each successful answer.
func StartHTTPLoad(t *testing.T, addr string, clients int, limit time.Duration, tag func() int64, check func(tag int64, body string)) *HTTPLoad {
	l := &HTTPLoad{t: t, stop: make(chan struct{}),
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
				l.Total.Add(1)
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

// Finish stops the clients and fails the test if any request failed; it
// returns how many were made.
func (l *HTTPLoad) Finish(what string) int64 {
	close(l.stop)
	l.wg.Wait()
	l.tr.CloseIdleConnections()
	if n := l.failures.Load(); n != 0 {
		l.t.Fatalf("%d of %d requests failed %s", n, l.Total.Load(), what)
	}
	return l.Total.Load()
}
