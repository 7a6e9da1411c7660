package session_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/alexedwards/scs/v2"
	"github.com/gocluster/cluster/kv"
	"github.com/gocluster/cluster/session"
)

// post is a form POST of user to path.
func post(path, user string) *http.Request {
	r := httptest.NewRequest("POST", path, strings.NewReader(url.Values{"user": {user}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// scs sessions on the shared state. In a worker the store is
// cluster.Store(ctx): a login made on one worker is then seen by all of
// them; here the store is one on its own.
func ExampleSCSStore() {
	store := kv.New(kv.NewEngine(kv.Limits{}))
	sm := scs.New()
	sm.Store = session.NewSCSStore(store, "")

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil { // a new token at each login
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "user", r.FormValue("user"))
		fmt.Fprintf(w, "hello %s\n", r.FormValue("user"))
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s\n", sm.GetString(r.Context(), "user"))
	})
	h := sm.LoadAndSave(mux)

	login := httptest.NewRecorder()
	h.ServeHTTP(login, post("/login", "ada"))
	fmt.Print(login.Body)

	whoami := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/whoami", nil)
	r.AddCookie(login.Result().Cookies()[0])
	h.ServeHTTP(whoami, r)
	fmt.Print(whoami.Body)

	for key := range store.Range(session.DefaultSCSPrefix) {
		fmt.Println("stored under", len(key)-len(session.DefaultSCSPrefix), "characters of token")
	}
	// Output:
	// hello ada
	// ada
	// stored under 43 characters of token
}

// gorilla/sessions on the shared state: the cookie holds the signed id,
// the store the values.
func ExampleGorillaStore() {
	store := kv.New(kv.NewEngine(kv.Limits{}))
	gs := session.NewGorillaStore(store, "", []byte("a 32-byte authentication key...."))

	login := httptest.NewRecorder()
	r := post("/login", "ada")
	s, _ := gs.Get(r, "sid") // a new session: there is no cookie
	s.Values["user"] = r.FormValue("user")
	if err := s.Save(r, login); err != nil {
		fmt.Println(err)
		return
	}

	r = httptest.NewRequest("GET", "/whoami", nil)
	r.AddCookie(login.Result().Cookies()[0])
	s, err := gs.Get(r, "sid")
	fmt.Println(s.Values["user"], s.IsNew, err)

	s.Options.MaxAge = -1 // log out: Save deletes the session and the cookie
	if err := s.Save(r, httptest.NewRecorder()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("sessions left:", store.Len())
	// Output:
	// ada false <nil>
	// sessions left: 0
}
