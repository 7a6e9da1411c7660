package session

import (
	"encoding/base32"
	"errors"
	"net/http"
	"time"

	"github.com/gocluster/cluster/kv"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// Defaults of a [GorillaStore].
const (
	// DefaultGorillaPrefix is the key prefix of a GorillaStore made with an
	// empty prefix.
	DefaultGorillaPrefix = "gorilla:session:"
	// DefaultMaxAge is how long, in seconds, the store keeps a session
	// whose cookie has no Max-Age (Options.MaxAge 0, a cookie that lasts
	// until the browser closes): 20 minutes, as boj/redistore does.
	DefaultMaxAge = 20 * 60
	// DefaultCookieMaxAge is a new GorillaStore's Options.MaxAge: 30 days,
	// as gorilla's FilesystemStore has.
	DefaultCookieMaxAge = 86400 * 30
)

// GorillaStore is a github.com/gorilla/sessions Store on the shared state,
// in the shape of gorilla's FilesystemStore: the cookie holds the session's
// id, signed (and encrypted, with a second key) by securecookie; the
// shared state holds the session's values under prefix+id, encoded with
// the same codecs, with the session's Max-Age as the key's TTL.
//
// Save with Options.MaxAge < 0 deletes the session and its cookie; with
// MaxAge 0 the cookie lasts until the browser closes and the store keeps
// the session for DefaultMaxAge seconds (boj/redistore's rule); with
// MaxAge > 0, for MaxAge seconds. New reads this process's replica and, on
// a miss, waits for [kv.KV.Sync] before it says the session is missing
// (see the package documentation). Every call that can wait uses the
// request's context. A GorillaStore may be used from any goroutine; set its
// fields before it is used.
type GorillaStore struct {
	// Codecs sign (and encrypt) the cookie and the stored values; see
	// securecookie.CodecsFromPairs.
	Codecs []securecookie.Codec
	// Options is the default of each new session's options (a copy).
	Options *sessions.Options
	// DefaultMaxAge is how long, in seconds, the store keeps a session
	// whose Options.MaxAge is 0; [DefaultMaxAge] unless set. 0 or less: until
	// it is deleted.
	DefaultMaxAge int

	store  *kv.KV
	prefix string
}

var _ sessions.Store = (*GorillaStore)(nil)

// NewGorillaStore returns a gorilla store that keeps each session in
// store under the key prefix+id; an empty prefix means
// [DefaultGorillaPrefix]. keyPairs are as gorilla's NewFilesystemStore
// takes them: pairs of an authentication key (32 or 64 bytes) and an
// encryption key (16, 24 or 32 bytes, or nil), the first pair used to
// encode and every pair tried to decode, so keys can be rotated. At least
// one key is needed: without one every Save fails. Options start as Path
// "/" and MaxAge [DefaultCookieMaxAge]; encoded values are limited to 4096
// bytes (see [GorillaStore.MaxLength]).
func NewGorillaStore(store *kv.KV, prefix string, keyPairs ...[]byte) *GorillaStore {
	if prefix == "" {
		prefix = DefaultGorillaPrefix
	}
	s := &GorillaStore{
		Codecs:        securecookie.CodecsFromPairs(keyPairs...),
		Options:       &sessions.Options{Path: "/", MaxAge: DefaultCookieMaxAge},
		DefaultMaxAge: DefaultMaxAge,
		store:         store,
		prefix:        prefix,
	}
	s.MaxAge(s.Options.MaxAge)
	return s
}

// MaxAge sets the default Options.MaxAge and the age past which the codecs
// refuse a cookie or stored values, as FilesystemStore.MaxAge does.
// Individual sessions are deleted by setting their Options.MaxAge to -1.
func (s *GorillaStore) MaxAge(age int) {
	s.Options.MaxAge = age
	for _, c := range s.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.MaxAge(age)
		}
	}
}

// MaxLength limits the encoded values of new sessions to l bytes (0: no
// limit; 4096 by default), as FilesystemStore.MaxLength does. The shared
// state limits them too ([kv.MaxValueSize] by default).
func (s *GorillaStore) MaxLength(l int) {
	for _, c := range s.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.MaxLength(l)
		}
	}
}

// Get returns the session of the given name for r, from the request's
// registry (the same session each time during one request), made by
// [GorillaStore.New] the first time.
func (s *GorillaStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New returns the session of the given name for r without registering
// it: the stored one if the request's cookie names a live session (IsNew
// false), else a new one. A cookie that does not decode (a wrong key, a
// tampered or too old cookie) gives a new session and the error, as
// gorilla's stores do; a session that is missing or expired gives a new
// session and no error.
func (s *GorillaStore) New(r *http.Request, name string) (*sessions.Session, error) {
	session := sessions.NewSession(s, name)
	opts := *s.Options
	session.Options = &opts
	session.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return session, nil // no cookie: a new session
	}
	var id string
	if err := securecookie.DecodeMulti(name, c.Value, &id, s.Codecs...); err != nil {
		return session, wrap("gorilla cookie", err)
	}
	e, ok, err := find(r.Context(), s.store, s.prefix+id)
	if err != nil {
		return session, wrap("gorilla load", err)
	}
	if !ok {
		return session, nil // gone: a new session, with a new id when saved
	}
	if err := securecookie.DecodeMulti(name, string(e.Value), &session.Values, s.Codecs...); err != nil {
		return session, wrap("gorilla load", err)
	}
	session.ID = id
	session.IsNew = false
	return session, nil
}

// base32Raw encodes new ids: letters and digits only.
var base32Raw = base32.StdEncoding.WithPadding(base32.NoPadding)

// errNoRandom is the error of a Save that could not make an id.
var errNoRandom = errors.New("no random bytes for a session id")

// Save stores session and sets its cookie on w. With Options.MaxAge < 0 it
// deletes the session from the store and the cookie from the browser.
// Otherwise it gives a new session an id (32 random bytes, in base32),
// stores its values until Options.MaxAge seconds from now (DefaultMaxAge
// if MaxAge is 0) and sets the cookie; once it returns, New in any
// process finds the session.
func (s *GorillaStore) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	ctx := r.Context()
	if session.Options.MaxAge < 0 {
		if session.ID != "" {
			if _, err := s.store.Delete(ctx, s.prefix+session.ID); err != nil {
				return wrap("gorilla delete", err)
			}
		}
		http.SetCookie(w, sessions.NewCookie(session.Name(), "", session.Options))
		return nil
	}
	if session.ID == "" {
		key := securecookie.GenerateRandomKey(32)
		if key == nil {
			return wrap("gorilla save", errNoRandom)
		}
		session.ID = base32Raw.EncodeToString(key)
	}
	values, err := securecookie.EncodeMulti(session.Name(), session.Values, s.Codecs...)
	if err != nil {
		return wrap("gorilla save", err)
	}
	var opts []kv.WriteOption
	age := session.Options.MaxAge
	if age == 0 {
		age = s.DefaultMaxAge
	}
	if age > 0 {
		opts = append(opts, kv.WithTTL(time.Duration(age)*time.Second))
	}
	if _, err := s.store.Put(ctx, s.prefix+session.ID, []byte(values), opts...); err != nil {
		return wrap("gorilla save", err)
	}
	cookie, err := securecookie.EncodeMulti(session.Name(), session.ID, s.Codecs...)
	if err != nil {
		return wrap("gorilla save", err)
	}
	http.SetCookie(w, sessions.NewCookie(session.Name(), cookie, session.Options))
	return nil
}
