package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/alexedwards/scs/v2"
	"github.com/gocluster/cluster"
)

// maxUser bounds the user name a login stores.
const maxUser = 256

// routes returns the server's handler: the endpoints, in sm's sessions,
// every answer with X-Worker.
func routes(sm *scs.SessionManager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.PostFormValue("user")
		if user == "" || len(user) > maxUser {
			http.Error(w, fmt.Sprintf("form field user: 1 to %d bytes", maxUser), http.StatusBadRequest)
			return
		}
		// A new token for a new login: a token known before it (session
		// fixation) is worth nothing after it.
		if err := sm.RenewToken(r.Context()); err != nil {
			sm.ErrorFunc(w, r, err)
			return
		}
		sm.Put(r.Context(), "user", user)
		fmt.Fprintf(w, "hello %s\n", user)
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		user := sm.GetString(r.Context(), "user")
		if user == "" {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s\n", user)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.Destroy(r.Context()); err != nil {
			sm.ErrorFunc(w, r, err)
			return
		}
		io.WriteString(w, "bye\n")
	})
	h := sm.LoadAndSave(mux)
	id := strconv.Itoa(cluster.ID())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Worker", id)
		h.ServeHTTP(w, r)
	})
}
