package main

// The MemoryStore check of the sessions section: express-session's default
// store keeps each worker's sessions in that worker, so under Node's cluster
// a session is lost whenever a request lands on another worker than the
// login. The check logs in once, then sends sessionsMemRequests GET /whoami
// with the cookie, each on a new connection, and counts the 401s, against
// Node's cluster with the MemoryStore and against gocluster (which should
// answer every one).

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// sessionsMemRequests is the number of requests after the login.
const sessionsMemRequests = 100

// memResult is one server's answers.
type memResult struct {
	name            string
	skipped         string            // why it was not checked
	ok, lost, other int               // 200 with the user, 401, anything else (or no answer)
	workers         map[string][2]int // X-Worker -> 200s, 401s
	note            string            // the first unexpected answer
}

// memoryStoreCheck checks Node's cluster with its MemoryStore and, when it
// builds, gocluster, each started fresh.
func memoryStoreCheck(ctx context.Context, dir string, redis *redisServer, ours *sessionServer) ([]memResult, error) {
	var out []memResult
	node, why := nodeSessions("memory")
	if node == nil {
		out = append(out, memResult{name: "Node cluster + MemoryStore", skipped: why})
	} else {
		r, err := memCheckOne(ctx, node, dir, redis)
		if err != nil {
			return nil, fmt.Errorf("MemoryStore check, %s: %w", node.name, err)
		}
		out = append(out, r)
	}
	if ours == nil {
		out = append(out, memResult{name: "gocluster (examples/sessions)", skipped: "examples/sessions does not build"})
	} else {
		r, err := memCheckOne(ctx, ours, dir, redis)
		if err != nil {
			return nil, fmt.Errorf("MemoryStore check, %s: %w", ours.name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// memCheckOne starts s, logs in once and sends the requests.
func memCheckOne(ctx context.Context, s *sessionServer, dir string, redis *redisServer) (memResult, error) {
	fmt.Fprintf(os.Stderr, "sessions: MemoryStore check, %s\n", s.name)
	r := memResult{name: s.name, workers: map[string][2]int{}}
	port, err := freePort()
	if err != nil {
		return r, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := s.start(dir, addr, redis.url())
	if err != nil {
		return r, err
	}
	defer p.stop()
	sctx, cancel := context.WithTimeout(ctx, sessionsStartLimit)
	defer cancel()
	if err := waitWorkers(sctx, p, addr, s.workers); err != nil {
		return r, err
	}
	cookie, err := sessionLogin(sctx, addr, sessionsUser)
	if err != nil {
		return r, err
	}
	for range sessionsMemRequests {
		a, err := sessionDo(sctx, http.MethodGet, "http://"+addr+"/whoami", nil, cookie)
		w := r.workers[a.worker]
		switch {
		case err != nil:
			r.other++
			if r.note == "" {
				r.note = err.Error()
			}
		case a.status == http.StatusOK && a.body == sessionsUser+"\n":
			r.ok++
			w[0]++
		case a.status == http.StatusUnauthorized:
			r.lost++
			w[1]++
		default:
			r.other++
			if r.note == "" {
				r.note = fmt.Sprintf("status %d, body %q", a.status, a.body)
			}
		}
		if err == nil {
			r.workers[a.worker] = w
		}
	}
	return r, nil
}

// printMemoryStore prints the check.
func printMemoryStore(rs []memResult) {
	fmt.Printf("\nSessions across workers: log in once, then %d GET /whoami with the cookie, each on a new connection\n\n", sessionsMemRequests)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "server\t200 (logged in)\t401 (session lost)\tother\tper worker: 200/401\tgoal")
	for _, r := range rs {
		if r.skipped != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\t\n", r.name, r.skipped)
			continue
		}
		ids := make([]string, 0, len(r.workers))
		for id := range r.workers {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		var per []string
		for _, id := range ids {
			per = append(per, fmt.Sprintf("worker %s: %d/%d", id, r.workers[id][0], r.workers[id][1]))
		}
		goal := ""
		if strings.HasPrefix(r.name, "gocluster") {
			goal = "0 lost"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", r.name, r.ok, r.lost, r.other, strings.Join(per, ", "), goal)
	}
	tw.Flush()
	for _, r := range rs {
		if r.note != "" {
			fmt.Printf("%s, first unexpected answer: %s\n", r.name, r.note)
		}
	}
	fmt.Println("express-session's MemoryStore keeps a session in the worker that made it: a request on the other worker is 401.")
}
