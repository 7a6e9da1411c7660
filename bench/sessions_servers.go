package main

// The servers of the sessions section and the HTTP contract they share:
//
//	POST /login   form field user -> 200 "hello NAME\n" and a session cookie
//	GET  /whoami  -> 200 "NAME\n" with a logged-in session, 401 otherwise
//	POST /logout  -> 200; the session is destroyed
//	every response carries X-Worker: <id>
//
// Each is started as a process of its own, on a loopback port, with its
// sessions in the bench's redis-server:
//
//   - gocluster: examples/sessions with 2 workers, built by the bench;
//   - Node: Node's cluster with 2 workers, express-session in Redis through
//     connect-redis (bench/node/session/app.js, packages from npm: make
//     bench-deps installs them);
//   - Go + scs: one net/http process with scs's Redis store
//     (bench/peers/scsredis, a module of its own, built by the bench).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// sessionsWorkers is the number of workers of each clustered server.
const sessionsWorkers = 2

// sessionServer is one server under test.
type sessionServer struct {
	name    string // column of the tables
	short   string // in the ratios' column
	workers int    // distinct X-Worker values it answers with
	// start runs the server on addr with its sessions at redisURL, its
	// log in dir.
	start func(dir, addr, redisURL string) (*proc, error)
}

// sessionsGo is the go command.
func sessionsGo() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// oursSessions builds examples/sessions into dir. While it does not build
// (or exist), the server is nil and the string says why.
func oursSessions(ctx context.Context, dir string) (*sessionServer, string) {
	bin := filepath.Join(dir, "sessions")
	cmd := exec.CommandContext(ctx, sessionsGo(), "build", "-o", bin, "./examples/sessions")
	cmd.Dir = filepath.Join(benchDir(), "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Sprintf("gocluster skipped: go build ./examples/sessions failed (%v): %s", err, firstLine(out))
	}
	return &sessionServer{name: "gocluster (examples/sessions)", short: "gocluster", workers: sessionsWorkers,
		start: func(dir, addr, redisURL string) (*proc, error) {
			return startProc(filepath.Join(dir, "ours.log"), nil, bin, "-addr", addr,
				"-workers", strconv.Itoa(sessionsWorkers), "-redis", redisURL)
		}}, ""
}

// sessionsNodeDir is the Node peer's directory.
func sessionsNodeDir() (string, error) {
	return filepath.Abs(filepath.Join(benchDir(), "node", "session"))
}

// nodeSessions is the Node peer with the given store ("redis" or
// "memory"), or nil and why it is skipped.
func nodeSessions(store string) (*sessionServer, string) {
	dir, err := sessionsNodeDir()
	if err != nil {
		return nil, "Node peer skipped: " + err.Error()
	}
	if _, err := exec.LookPath(nodeBin()); err != nil {
		return nil, "Node peer skipped: Node.js not found (apt-get install -y nodejs)"
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "connect-redis")); err != nil {
		return nil, "Node peer skipped: its npm packages are not installed (make bench-deps, or npm ci in bench/node/session)"
	}
	name, short := "Node cluster + connect-redis", "Node"
	if store == "memory" {
		name, short = "Node cluster + MemoryStore", "Node memory"
	}
	return &sessionServer{name: name, short: short, workers: sessionsWorkers,
		start: func(logDir, addr, redisURL string) (*proc, error) {
			_, port, _ := strings.Cut(addr, ":")
			return startProc(filepath.Join(logDir, "node-"+store+".log"), nil, nodeBin(), filepath.Join(dir, "app.js"),
				"--port", port, "--workers", strconv.Itoa(sessionsWorkers), "--store", store, "--redis", redisURL)
		}}, ""
}

// scsSessions builds the Go + scs peer into dir, or says why it is skipped.
func scsSessions(ctx context.Context, dir string) (*sessionServer, string) {
	src, err := filepath.Abs(filepath.Join(benchDir(), "peers", "scsredis"))
	if err != nil {
		return nil, "Go + scs peer skipped: " + err.Error()
	}
	bin := filepath.Join(dir, "scsredis")
	cmd := exec.CommandContext(ctx, sessionsGo(), "build", "-o", bin, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Sprintf("Go + scs peer skipped: go build in bench/peers/scsredis failed (%v): %s", err, firstLine(out))
	}
	return &sessionServer{name: "Go net/http + scs + redis", short: "scs", workers: 1,
		start: func(logDir, addr, redisURL string) (*proc, error) {
			return startProc(filepath.Join(logDir, "scs.log"), nil, bin, "-addr", addr, "-redis", redisURL)
		}}, ""
}

// sessionReply is what the bench reads of a response.
type sessionReply struct {
	status       int
	body, worker string
	cookie       string // "name=value; ..." of the Set-Cookie headers that set a value
}

// sessionClient sends every request on a new connection, so that each may
// land on another worker.
var sessionClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	Timeout:   5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// sessionDo sends one request; form, when not nil, is the POST body.
func sessionDo(ctx context.Context, method, u string, form url.Values, cookie string) (sessionReply, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return sessionReply{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := sessionClient.Do(req)
	if err != nil {
		return sessionReply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return sessionReply{}, err
	}
	r := sessionReply{status: resp.StatusCode, body: string(b), worker: resp.Header.Get("X-Worker")}
	var cookies []string
	for _, c := range resp.Cookies() {
		if c.Value != "" && c.MaxAge >= 0 {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
	}
	r.cookie = strings.Join(cookies, "; ")
	return r, nil
}

// waitWorkers waits until the server on addr answers GET /whoami from n
// distinct workers (new connection each; at most 15 s and 3000 requests).
func waitWorkers(ctx context.Context, p *proc, addr string, n int) error {
	seen := map[string]bool{}
	deadline := time.Now().Add(15 * time.Second)
	var last string
	for i := 0; i < 3000; i++ {
		r, err := sessionDo(ctx, http.MethodGet, "http://"+addr+"/whoami", nil, "")
		switch {
		case err != nil:
			last = err.Error()
		case r.worker == "":
			return fmt.Errorf("GET /whoami: no X-Worker header (status %d)", r.status)
		case r.status != http.StatusUnauthorized:
			return fmt.Errorf("GET /whoami without a session: status %d, want 401: %q", r.status, r.body)
		default:
			seen[r.worker] = true
		}
		if len(seen) >= n {
			return nil
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case p.exited():
			return fmt.Errorf("the server exited; log ends:\n%s", p.logTail())
		case time.Now().After(deadline):
			return fmt.Errorf("%d of %d workers answered within 15 s (last error: %s); log ends:\n%s", len(seen), n, last, p.logTail())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%d of %d workers answered in 3000 requests", len(seen), n)
}

// sessionLogin logs user in and returns the session cookie.
func sessionLogin(ctx context.Context, addr, user string) (string, error) {
	r, err := sessionDo(ctx, http.MethodPost, "http://"+addr+"/login", url.Values{"user": {user}}, "")
	if err != nil {
		return "", fmt.Errorf("POST /login: %w", err)
	}
	if r.status != http.StatusOK || r.body != "hello "+user+"\n" || r.cookie == "" {
		return "", fmt.Errorf("POST /login: status %d, body %q, cookie %q; want 200, %q and a cookie", r.status, r.body, r.cookie, "hello "+user+"\n")
	}
	return r.cookie, nil
}

// checkSessionContract logs in, asks who is logged in from each worker,
// logs out and checks the session is gone: the contract every server of
// the section keeps. workers is how many distinct X-Worker values to see
// answer for the session (at most 200 requests).
func checkSessionContract(ctx context.Context, addr string, workers int) error {
	cookie, err := sessionLogin(ctx, addr, "contract")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for i := 0; i < 200 && len(seen) < workers; i++ {
		r, err := sessionDo(ctx, http.MethodGet, "http://"+addr+"/whoami", nil, cookie)
		if err != nil {
			return fmt.Errorf("GET /whoami: %w", err)
		}
		if r.status != http.StatusOK || r.body != "contract\n" {
			return fmt.Errorf("GET /whoami logged in (worker %s): status %d, body %q; want 200, %q", r.worker, r.status, r.body, "contract\n")
		}
		seen[r.worker] = true
	}
	if len(seen) < workers {
		return fmt.Errorf("the session was read by %d of %d workers in 200 requests", len(seen), workers)
	}
	r, err := sessionDo(ctx, http.MethodPost, "http://"+addr+"/logout", url.Values{}, cookie)
	if err != nil {
		return fmt.Errorf("POST /logout: %w", err)
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("POST /logout: status %d, body %q", r.status, r.body)
	}
	for i := 0; i < 2*workers; i++ {
		r, err := sessionDo(ctx, http.MethodGet, "http://"+addr+"/whoami", nil, cookie)
		if err != nil {
			return fmt.Errorf("GET /whoami after logout: %w", err)
		}
		if r.status != http.StatusUnauthorized {
			return fmt.Errorf("GET /whoami after logout (worker %s): status %d, body %q; want 401", r.worker, r.status, r.body)
		}
	}
	return nil
}

// firstLine is the first non-empty line of out, for a one-line reason.
func firstLine(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "no output"
}

// sessionsVersions names the peers' versions: Node and its packages as
// installed, scs and redigo as the peer's go.mod requires them.
func sessionsVersions() string {
	var parts []string
	node := "Node " + nodeVersion()
	if dir, err := sessionsNodeDir(); err == nil {
		for _, pkg := range []string{"express", "express-session", "connect-redis", "redis"} {
			b, err := os.ReadFile(filepath.Join(dir, "node_modules", pkg, "package.json"))
			var m struct{ Version string }
			if err == nil && json.Unmarshal(b, &m) == nil {
				node += ", " + pkg + " " + m.Version
			}
		}
	}
	parts = append(parts, node)
	if b, err := os.ReadFile(filepath.Join(benchDir(), "peers", "scsredis", "go.mod")); err == nil {
		var mods []string
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "require "))
			if len(f) >= 2 && strings.Contains(f[0], "/") && strings.HasPrefix(f[1], "v") {
				mods = append(mods, strings.TrimPrefix(f[0], "github.com/")+" "+f[1])
			}
		}
		parts = append(parts, "Go "+strings.TrimPrefix(runtime.Version(), "go")+", "+strings.Join(mods, ", "))
	}
	return strings.Join(parts, "; ")
}
