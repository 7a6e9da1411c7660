//go:build unix

package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/redistest"
)

// TestLoginSeenByEveryWorker builds the example, runs it with two workers,
// logs in, and sends 20 requests with the cookie, each on a new
// connection: every one is answered 200 with the user, by both workers in
// turn (the first request to the worker that did not log the user in
// finds the session at once). After a logout the cookie is worth nothing.
func TestLoginSeenByEveryWorker(t *testing.T) {
	base := startExample(t)
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	// One keep-alive connection: the login, the logout and the request
	// after it go to one worker.
	kept := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}, Timeout: 10 * time.Second}
	t.Cleanup(kept.CloseIdleConnections)

	if status, body, _, _ := call(t, kept, "POST", base+"/login", "", nil); status != http.StatusBadRequest {
		t.Fatalf("login without a user: %d %q, want 400", status, body)
	}
	status, body, loginWorker, cookies := call(t, kept, "POST", base+"/login", "ada", nil)
	if status != http.StatusOK || body != "hello ada\n" || loginWorker == "" {
		t.Fatalf("login: %d %q from worker %q", status, body, loginWorker)
	}
	cookie := sessionCookie(t, cookies)
	workers := map[string]int{}
	for i := range 20 {
		status, body, w, _ := call(t, fresh, "GET", base+"/whoami", "", cookie)
		if status != http.StatusOK || body != "ada\n" {
			t.Fatalf("whoami %d, after logging in on worker %s: worker %s answers %d %q", i, loginWorker, w, status, body)
		}
		workers[w]++
	}
	if len(workers) != 2 {
		t.Fatalf("20 new connections answered by workers %v, want both", workers)
	}
	if status, body, _, _ := call(t, fresh, "GET", base+"/whoami", "", nil); status != http.StatusUnauthorized || body != "who are you?\n" {
		t.Fatalf("whoami without a cookie: %d %q", status, body)
	}

	status, body, logoutWorker, cookies := call(t, kept, "POST", base+"/logout", "", cookie)
	if status != http.StatusOK || body != "bye\n" {
		t.Fatalf("logout: %d %q", status, body)
	}
	if len(cookies) != 1 || cookies[0].MaxAge >= 0 {
		t.Fatalf("logout sets cookies %v, want the session's deleted", cookies)
	}
	status, body, w, _ := call(t, kept, "GET", base+"/whoami", "", cookie)
	if status != http.StatusUnauthorized || body != "who are you?\n" || w != logoutWorker {
		t.Fatalf("whoami with the old cookie after logging out on worker %s: worker %s answers %d %q", logoutWorker, w, status, body)
	}
}

// TestTwoMachinesShareLogins runs two copies of the example on two ports
// against one redis-server, as two machines: a login made on one is known
// on the other at once, by both of its workers, and a logout there is seen
// on the first.
func TestTwoMachinesShareLogins(t *testing.T) {
	srv := redistest.Start(t)
	a := startExample(t, "-redis", srv.URL())
	b := startExample(t, "-redis", srv.URL())
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	status, body, _, cookies := call(t, fresh, "POST", a+"/login", "grace", nil)
	if status != http.StatusOK || body != "hello grace\n" {
		t.Fatalf("login on machine A: %d %q", status, body)
	}
	cookie := sessionCookie(t, cookies)
	workers := map[string]int{}
	for i := range 10 {
		status, body, w, _ := call(t, fresh, "GET", b+"/whoami", "", cookie)
		if status != http.StatusOK || body != "grace\n" {
			t.Fatalf("whoami %d on machine B after a login on A: worker %s answers %d %q", i, w, status, body)
		}
		workers[w]++
	}
	if len(workers) != 2 {
		t.Fatalf("machine B's answers came from workers %v, want both", workers)
	}
	if status, _, _, _ := call(t, fresh, "POST", b+"/logout", "", cookie); status != http.StatusOK {
		t.Fatalf("logout on machine B: %d", status)
	}
	// A's workers see the logout once its change reached them: a bounded wait.
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _, _, _ := call(t, fresh, "GET", a+"/whoami", "", cookie)
		if status == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("machine A still knows the session 10s after the logout on B: %d", status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// build compiles the example into the test's temporary directory.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sessions")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// startExample runs the example with two workers on a free loopback port
// until both are ready and returns its URL; cleanup stops it with SIGTERM
// (SIGKILL after 20 s) and waits for it and its workers.
func startExample(t *testing.T, args ...string) string {
	t.Helper()
	bin := build(t)
	addr := freeAddr(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"-workers", "2", "-addr", addr}, args...)...)
	cmd.Stderr = w // the workers write to it too: it ends when all have exited
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	lines := make(chan string, 64)
	var printed []string
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("after SIGTERM: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("still running 20 s after SIGTERM")
			cmd.Process.Kill()
			<-exited
		}
		drain := time.After(20 * time.Second)
	collect:
		for { // until every process has closed stderr
			select {
			case l, ok := <-lines:
				if !ok {
					break collect
				}
				printed = append(printed, l)
			case <-drain:
				t.Errorf("stderr still open 20 s after the primary exited: a worker outlived it")
				break collect
			}
		}
		r.Close()
		if t.Failed() {
			t.Logf("printed:\n%s", strings.Join(printed, "\n"))
		}
	})
	timeout := time.After(30 * time.Second)
	for ready := 0; ready < 2; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("exited before two workers were ready; printed:\n%s", strings.Join(printed, "\n"))
			}
			printed = append(printed, l)
			if strings.Contains(l, "primary: ready ") {
				ready++
			}
		case <-timeout:
			t.Fatalf("two workers not ready in 30 s; printed:\n%s", strings.Join(printed, "\n"))
		}
	}
	return "http://" + addr
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// call sends a request (a form with user if it is not empty, the cookie
// if not nil) and returns the status, the body, X-Worker and the cookies
// set.
func call(t *testing.T, c *http.Client, method, u, user string, cookie *http.Cookie) (int, string, string, []*http.Cookie) {
	t.Helper()
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader(url.Values{"user": {user}}.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header.Get("X-Worker"), resp.Cookies()
}

// sessionCookie returns the session cookie among cookies.
func sessionCookie(t *testing.T, cookies []*http.Cookie) *http.Cookie {
	t.Helper()
	for _, c := range cookies {
		if c.Name == "session" && c.Value != "" {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatalf("no session cookie in %v", cookies)
	return nil
}
