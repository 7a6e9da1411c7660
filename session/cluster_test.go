//go:build unix

package session

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gocluster/cluster"
)

// The test binary is also the workers' program: a primary started by a
// test re-executes it, and TestMain runs the worker.
func TestMain(m *testing.M) {
	if cluster.IsWorker() {
		os.Exit(sessionWorker())
	}
	os.Exit(m.Run())
}

// sessionWorker serves both stores on a port of its own (its URL is the
// answer to any request from the primary) until told to shut down:
//
//	POST /scs, /gorilla (form field user): logs user in, 200 "ok"
//	GET /scs, /gorilla: 200 and the user, or 404 when not logged in
//
// Every answer carries X-Worker: the worker's id.
func sessionWorker() int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	store, err := cluster.Store(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "store:", err)
		return 1
	}
	sm := scs.New()
	sm.Store = NewSCSStore(store, "")
	gs := NewGorillaStore(store, "", testKey)
	scsMux := http.NewServeMux()
	scsMux.HandleFunc("POST /scs", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "user", r.FormValue("user"))
		io.WriteString(w, "ok")
	})
	scsMux.HandleFunc("GET /scs", func(w http.ResponseWriter, r *http.Request) {
		if user := sm.GetString(r.Context(), "user"); user != "" {
			io.WriteString(w, user)
			return
		}
		http.Error(w, "who are you?", http.StatusNotFound)
	})
	mux := http.NewServeMux()
	mux.Handle("/scs", sm.LoadAndSave(scsMux))
	mux.HandleFunc("POST /gorilla", func(w http.ResponseWriter, r *http.Request) {
		s, _ := gs.Get(r, "sid")
		s.Values["user"] = r.FormValue("user")
		if err := s.Save(r, w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /gorilla", func(w http.ResponseWriter, r *http.Request) {
		s, err := gs.Get(r, "sid")
		if user, _ := s.Values["user"].(string); err == nil && !s.IsNew && user != "" {
			io.WriteString(w, user)
			return
		}
		http.Error(w, fmt.Sprintf("who are you? (%v)", err), http.StatusNotFound)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Worker", strconv.Itoa(cluster.ID()))
		mux.ServeHTTP(w, r)
	})}
	cluster.Handle(func(m *cluster.Message) { m.Reply([]byte("http://" + ln.Addr().String())) })
	cluster.Ready()
	if err := cluster.Serve(srv, ln); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		return 1
	}
	return 0
}

// startWorkers runs a primary with two sessionWorkers until the test ends
// and returns each worker's URL; cleanup stops it and waits for Run.
func startWorkers(t *testing.T) []string {
	t.Helper()
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	p, err := cluster.New(cluster.Config{Workers: 2, NoSignals: true, DrainTimeout: 3 * time.Second,
		KillTimeout: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(out, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := p.Events(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	drained := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return 30 s after its context ended")
		}
		<-drained // the events channel closes once Run has returned
	})
	var ready []*cluster.Worker
	timeout := time.After(30 * time.Second)
	for len(ready) < 2 {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("events closed before two workers were ready")
			}
			switch e.Type {
			case cluster.EventReady:
				ready = append(ready, e.Worker)
			case cluster.EventExit, cluster.EventError:
				t.Fatalf("before two workers were ready: %v", e)
			}
		case <-timeout:
			t.Fatal("two workers not ready in 30 s")
		}
	}
	go func() {
		defer close(drained)
		for range events {
		}
	}()
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	urls := make([]string, len(ready))
	for i, w := range ready {
		rep, err := w.Request(rctx, []byte("url"))
		if err != nil {
			t.Fatalf("worker %d's URL: %v", w.ID(), err)
		}
		urls[i] = string(rep)
	}
	return urls
}

// client makes each request on a new connection: none is left open when
// the workers drain.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// do sends a request to one worker (a form with user if it is not empty)
// and returns the status, the body, the X-Worker header and the cookies
// set.
func do(t *testing.T, method, u, user string, cookies []*http.Cookie) (int, string, string, []*http.Cookie) {
	t.Helper()
	var body io.Reader
	if user != "" {
		body = strings.NewReader(url.Values{"user": {user}}.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get("X-Worker"), resp.Cookies()
}

// A login committed through the scs store by one worker is found at once
// by the other, a different process, whichever of them it went to.
func TestClusterSCS(t *testing.T) {
	testAcrossWorkers(t, "/scs")
}

// A gorilla session saved by one worker is read, with its cookie, at once
// by the other.
func TestClusterGorilla(t *testing.T) {
	testAcrossWorkers(t, "/gorilla")
}

func testAcrossWorkers(t *testing.T, path string) {
	urls := startWorkers(t)
	for i, from := range urls {
		to := urls[1-i]
		user := fmt.Sprint("user-", i)
		status, body, wrote, cookies := do(t, "POST", from+path, user, nil)
		if status != http.StatusOK || len(cookies) != 1 {
			t.Fatalf("login on %s: %d %q, cookies %v", from, status, body, cookies)
		}
		status, body, read, _ := do(t, "GET", to+path, "", cookies)
		if status != http.StatusOK || body != user {
			t.Fatalf("logged in on worker %s, worker %s answers %d %q", wrote, read, status, body)
		}
		if wrote == read || wrote == "" {
			t.Fatalf("written by worker %q and read by worker %q: want two workers", wrote, read)
		}
		if status, body, _, _ := do(t, "GET", to+path, "", nil); status != http.StatusNotFound {
			t.Fatalf("without the cookie: %d %q, want 404", status, body)
		}
	}
}
