// Command scsredis is the Go peer of the sessions benchmark: one process,
// net/http, with sessions kept by github.com/alexedwards/scs/v2 in Redis
// through its redisstore (the Redis store scs documents, on the redigo
// client).
//
//	go run . -addr 127.0.0.1:8080 -redis redis://127.0.0.1:6379
//
// The HTTP contract, the same for every server of the benchmark:
//
//	POST /login   form field user -> 200 "hello NAME\n" and a session cookie
//	GET  /whoami  -> 200 "NAME\n" with a logged-in session, 401 otherwise
//	POST /logout  -> 200 "bye\n"; the session is destroyed
//	every response carries X-Worker: 1 (the one process)
//
// The session manager has scs's defaults (no idle timeout): a logged-in
// GET /whoami is one Redis GET, as the session is read and not changed.
// SIGINT or SIGTERM shuts the server down (at most 5 s for requests in
// flight).
//
// It is a module of its own, so that its dependencies stay out of the
// gocluster module.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gomodule/redigo/redis"
)

func main() {
	log.SetPrefix("scsredis: ")
	log.SetFlags(0)
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

// run serves until SIGINT or SIGTERM.
func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve HTTP on")
	redisURL := flag.String("redis", "redis://127.0.0.1:6379", "Redis server URL")
	idle := flag.Int("redis-idle", 128, "idle Redis connections kept in the pool (at least the concurrent requests, or the pool dials on most requests)")
	flag.Parse()

	pool := &redis.Pool{
		MaxIdle:     *idle,
		IdleTimeout: 5 * time.Minute,
		Dial:        func() (redis.Conn, error) { return redis.DialURL(*redisURL) },
	}
	defer pool.Close()
	if err := ping(pool); err != nil {
		return fmt.Errorf("redis %s: %w", *redisURL, err)
	}

	sessions := scs.New()
	sessions.Store = redisstore.New(pool)
	sessions.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		log.Printf("%s %s: %v", r.Method, r.URL.Path, err)
		http.Error(w, "session store error", http.StatusInternalServerError)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.PostFormValue("user")
		if user == "" {
			http.Error(w, "form field user is required", http.StatusBadRequest)
			return
		}
		// scs's README: a new token when the privilege level changes
		if err := sessions.RenewToken(r.Context()); err != nil {
			sessions.ErrorFunc(w, r, err)
			return
		}
		sessions.Put(r.Context(), "user", user)
		fmt.Fprintf(w, "hello %s\n", user)
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		user := sessions.GetString(r.Context(), "user")
		if user == "" {
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s\n", user)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.Destroy(r.Context()); err != nil {
			sessions.ErrorFunc(w, r, err)
			return
		}
		fmt.Fprint(w, "bye\n")
	})

	withSession := sessions.LoadAndSave(mux)
	worker := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Worker", "1")
		withSession.ServeHTTP(w, r)
	})
	srv := &http.Server{Addr: *addr, Handler: worker, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	log.Printf("serving on %s, sessions in Redis at %s", *addr, *redisURL)
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		log.Printf("shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ping checks that Redis answers, with one connection of the pool.
func ping(pool *redis.Pool) error {
	c := pool.Get()
	defer c.Close()
	_, err := c.Do("PING")
	return err
}
