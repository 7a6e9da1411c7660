package session

import (
	"context"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster/kv"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// The tests of gorilla/sessions' stores (TestFlashes, the GH-2 and GH-8
// tests) and of boj/redistore (TestRediStore's rounds,
// TestSessionCookieMaxAgeZero), on a GorillaStore. Each round makes a new
// store on the same kv store, as the Redis store's rounds make a new one
// on the same Redis.

type FlashMessage struct {
	Type    int
	Message string
}

func init() { gob.Register(FlashMessage{}) }

var testKey = []byte("secret-key")

func newRequest(t *testing.T, cookie string) *http.Request {
	t.Helper()
	req := httptest.NewRequestWithContext(testCtx(t), "GET", "http://localhost:8080/", nil)
	if cookie != "" {
		req.Header.Add("Cookie", cookie)
	}
	return req
}

func getSession(t *testing.T, store sessions.Store, req *http.Request) *sessions.Session {
	t.Helper()
	session, err := store.Get(req, "session-key")
	if err != nil {
		t.Fatalf("Error getting session: %v", err)
	}
	return session
}

func saveSession(t *testing.T, req *http.Request, rsp http.ResponseWriter) {
	t.Helper()
	if err := sessions.Save(req, rsp); err != nil {
		t.Fatalf("Error saving session: %v", err)
	}
}

func getCookie(t *testing.T, rsp *httptest.ResponseRecorder) string {
	t.Helper()
	cookies := rsp.Header()["Set-Cookie"]
	if len(cookies) != 1 {
		t.Fatalf("want one cookie; header: %v", rsp.Header())
	}
	return cookies[0]
}

func TestGorillaFlashes(t *testing.T) {
	store := newKV(t)
	var cookie string
	t.Run("Round 1", func(t *testing.T) {
		req, rsp := newRequest(t, ""), httptest.NewRecorder()
		session := getSession(t, NewGorillaStore(store, "", testKey), req)
		if flashes := session.Flashes(); len(flashes) != 0 {
			t.Errorf("Expected empty flashes; Got %v", flashes)
		}
		session.AddFlash("foo")
		session.AddFlash("bar")
		session.AddFlash("baz", "custom_key")
		saveSession(t, req, rsp)
		cookie = getCookie(t, rsp)
		if _, err := NewGorillaStore(store, "", testKey).Get(req, "session:key"); err == nil ||
			err.Error() != "sessions: invalid character in cookie name: session:key" {
			t.Fatalf("Get with an invalid name: %v", err)
		}
	})
	t.Run("Round 2", func(t *testing.T) {
		session := getSession(t, NewGorillaStore(store, "", testKey), newRequest(t, cookie))
		flashes := session.Flashes()
		if len(flashes) != 2 || flashes[0] != "foo" || flashes[1] != "bar" {
			t.Fatalf("Expected foo,bar; Got %v", flashes)
		}
		if flashes = session.Flashes(); len(flashes) != 0 {
			t.Errorf("Expected dumped flashes; Got %v", flashes)
		}
		if flashes = session.Flashes("custom_key"); len(flashes) != 1 || flashes[0] != "baz" {
			t.Errorf("Expected baz; Got %v", flashes)
		}
		if flashes = session.Flashes("custom_key"); len(flashes) != 0 {
			t.Errorf("Expected dumped flashes; Got %v", flashes)
		}
	})
	t.Run("Round 3", func(t *testing.T) { // a custom type
		req, rsp := newRequest(t, ""), httptest.NewRecorder()
		session := getSession(t, NewGorillaStore(store, "", testKey), req)
		if flashes := session.Flashes(); len(flashes) != 0 {
			t.Errorf("Expected empty flashes; Got %v", flashes)
		}
		session.AddFlash(&FlashMessage{42, "foo"})
		saveSession(t, req, rsp)
		cookie = getCookie(t, rsp)
	})
	t.Run("Round 4", func(t *testing.T) {
		req, rsp := newRequest(t, cookie), httptest.NewRecorder()
		session := getSession(t, NewGorillaStore(store, "", testKey), req)
		flashes := session.Flashes()
		if len(flashes) != 1 {
			t.Fatalf("Expected flashes; Got %v", flashes)
		}
		if custom := flashes[0].(FlashMessage); custom.Type != 42 || custom.Message != "foo" {
			t.Errorf("Expected %#v, got %#v", FlashMessage{42, "foo"}, custom)
		}
		session.Options.MaxAge = -1 // redistore's round 4: delete it
		id := session.ID
		saveSession(t, req, rsp)
		if _, ok := store.Get(DefaultGorillaPrefix + id); ok {
			t.Fatal("the session is still stored after Save with MaxAge -1")
		}
		if c := getCookie(t, rsp); !strings.Contains(c, "Max-Age=0") {
			t.Fatalf("cookie %q does not delete the browser's", c)
		}
		if session := getSession(t, NewGorillaStore(store, "", testKey), newRequest(t, cookie)); !session.IsNew || len(session.Values) != 0 {
			t.Fatalf("the deleted session is found: IsNew %v, values %v", session.IsNew, session.Values)
		}
	})
	t.Run("Round 5", func(t *testing.T) { // a shallow copy of the request keeps the registry
		gs := NewGorillaStore(store, "", testKey)
		req := newRequest(t, "")
		getSession(t, gs, req).Values["test"] = "test-value"
		req = req.WithContext(req.Context())
		if v := getSession(t, gs, req).Values["test"]; v != "test-value" {
			t.Fatalf("Session test value is %v after a shallow copy of the request", v)
		}
	})
}

// boj/redistore's round 7: a session saved is read back by the next
// request, with another store sharing the data.
func TestGorillaSaveThenGet(t *testing.T) {
	store := newKV(t)
	req, rsp := newRequest(t, ""), httptest.NewRecorder()
	session := getSession(t, NewGorillaStore(store, "", testKey), req)
	session.AddFlash("foo")
	saveSession(t, req, rsp)
	req = newRequest(t, getCookie(t, rsp))
	session = getSession(t, NewGorillaStore(store, "", testKey), req)
	if flashes := session.Flashes(); len(flashes) != 1 || flashes[0] != "foo" {
		t.Fatalf("Expected foo; Got %v", flashes)
	}
	if session.IsNew || len(session.ID) != 52 {
		t.Fatalf("IsNew %v, id %q: want a stored session with a 52-character id", session.IsNew, session.ID)
	}
}

// gorilla's GH-2 and redistore's round 6: values over MaxLength fail.
func TestGorillaMaxLength(t *testing.T) {
	gs := NewGorillaStore(newKV(t), "", testKey)
	req, w := newRequest(t, ""), httptest.NewRecorder()
	session, err := gs.New(req, "my session")
	if err != nil {
		t.Fatal("failed to create session", err)
	}
	session.Values["big"] = make([]byte, base64.StdEncoding.DecodedLen(4096*2))
	if err := session.Save(req, w); err == nil || !strings.HasPrefix(err.Error(), "session: gorilla save: ") {
		t.Fatalf("Save over the length limit: %v, want an error", err)
	}
	gs.MaxLength(4096 * 3)
	if err := session.Save(req, w); err != nil {
		t.Fatal("failed to Save:", err)
	}
}

// gorilla's GH-8: a session's options are a copy of the store's.
func TestGorillaOptionsCopied(t *testing.T) {
	gs := NewGorillaStore(newKV(t), "", testKey)
	gs.Options.Path = "/"
	session, err := gs.New(newRequest(t, ""), "hello")
	if err != nil {
		t.Fatal(err)
	}
	gs.Options.Path = "/foo"
	if session.Options.Path != "/" {
		t.Fatalf("bad session path: got %q, want %q", session.Options.Path, "/")
	}
}

// redistore's TestSessionCookieMaxAgeZero: MaxAge 0 is a cookie without
// Max-Age, stored for DefaultMaxAge; MaxAge -1 deletes it (and a session
// without an id deletes nothing and fails not).
func TestGorillaMaxAge(t *testing.T) {
	store := newKV(t)
	req, rsp := newRequest(t, ""), httptest.NewRecorder()
	session := getSession(t, NewGorillaStore(store, "", testKey), req)
	session.Options.MaxAge = 0
	session.Values["user"] = "testuser"
	session.Values["authenticated"] = true
	saveSession(t, req, rsp)
	cookie := getCookie(t, rsp)
	if strings.Contains(cookie, "Max-Age") {
		t.Errorf("a session cookie has a Max-Age: %s", cookie)
	}
	e, ok := store.Get(DefaultGorillaPrefix + session.ID)
	if !ok {
		t.Fatal("a session with MaxAge 0 is not stored")
	}
	if ttl := time.Until(e.Expires); ttl < DefaultMaxAge*time.Second-10*time.Second || ttl > DefaultMaxAge*time.Second {
		t.Fatalf("stored for %v, want DefaultMaxAge (%ds)", ttl, DefaultMaxAge)
	}

	req, rsp = newRequest(t, cookie), httptest.NewRecorder()
	session = getSession(t, NewGorillaStore(store, "", testKey), req)
	if session.IsNew || session.Values["user"] != "testuser" || session.Values["authenticated"] != true {
		t.Fatalf("read back: IsNew %v, values %v", session.IsNew, session.Values)
	}
	id := session.ID
	session.Options.MaxAge = -1
	saveSession(t, req, rsp)
	if _, ok := store.Get(DefaultGorillaPrefix + id); ok {
		t.Fatal("Session should be deleted when MaxAge=-1")
	}

	fresh, err := NewGorillaStore(store, "", testKey).New(newRequest(t, ""), "hello")
	if err != nil {
		t.Fatal(err)
	}
	fresh.Options.MaxAge = -1
	if err := fresh.Save(newRequest(t, ""), httptest.NewRecorder()); err != nil {
		t.Fatalf("deleting a session never saved: %v", err)
	}
}

// A stored session expires with its Max-Age: then it is new again, with no
// error, and its next Save makes a new id.
func TestGorillaExpiry(t *testing.T) {
	store := newKV(t)
	gs := NewGorillaStore(store, "", testKey)
	req, rsp := newRequest(t, ""), httptest.NewRecorder()
	session := getSession(t, gs, req)
	session.Options.MaxAge = 1
	session.Values["n"] = 1
	saveSession(t, req, rsp)
	cookie, id := getCookie(t, rsp), session.ID
	waitExpired(t, store, DefaultGorillaPrefix+id)
	req = newRequest(t, cookie)
	session = getSession(t, gs, req)
	if !session.IsNew || session.ID != "" || len(session.Values) != 0 {
		t.Fatalf("after its expiry: IsNew %v, id %q, values %v", session.IsNew, session.ID, session.Values)
	}
	saveSession(t, req, httptest.NewRecorder())
	if session.ID == id || session.ID == "" {
		t.Fatalf("saved again with id %q (was %q): want a new one", session.ID, id)
	}
}

// A cookie signed with another key, or tampered with, gives a new session
// and securecookie's error, as gorilla's stores do; rotated keys still
// decode.
func TestGorillaBadCookie(t *testing.T) {
	store := newKV(t)
	other := NewGorillaStore(store, "", []byte("another-key"))
	req, rsp := newRequest(t, ""), httptest.NewRecorder()
	session := getSession(t, other, req)
	session.Values["user"] = "mallory"
	saveSession(t, req, rsp)
	cookie := getCookie(t, rsp)

	session, err := NewGorillaStore(store, "", testKey).New(newRequest(t, cookie), "session-key")
	var scErr securecookie.Error
	if !errors.As(err, &scErr) || !scErr.IsDecode() || !strings.HasPrefix(err.Error(), "session: gorilla cookie: ") {
		t.Fatalf("a cookie with another key: %v, want a securecookie decode error", err)
	}
	if !session.IsNew || session.ID != "" || len(session.Values) != 0 {
		t.Fatalf("a cookie with another key gives IsNew %v, id %q, values %v", session.IsNew, session.ID, session.Values)
	}
	rotated := NewGorillaStore(store, "", testKey, nil, []byte("another-key"), nil)
	if session, err := rotated.New(newRequest(t, cookie), "session-key"); err != nil || session.Values["user"] != "mallory" {
		t.Fatalf("with the old key second: %v, %v", session.Values, err)
	}
}

func TestGorillaErrors(t *testing.T) {
	gs := NewGorillaStore(newKV(t), "", testKey)
	gs.MaxLength(0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
	session, _ := gs.New(req, "s")
	if err := gs.Save(req, httptest.NewRecorder(), session); !errors.Is(err, context.Canceled) {
		t.Fatalf("Save with an ended context: %v", err)
	}
	session.Values["big"] = make([]byte, kv.MaxValueSize)
	err := gs.Save(newRequest(t, ""), httptest.NewRecorder(), session)
	if !errors.Is(err, kv.ErrInvalid) || strings.Contains(err.Error(), session.ID) || strings.Count(err.Error(), "kv:") > 0 {
		t.Fatalf("Save over the value limit: %v", err)
	}
}
