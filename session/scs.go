package session

import (
	"bytes"
	"context"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gocluster/cluster/kv"
)

// DefaultSCSPrefix is the key prefix of an [SCSStore] made with an empty
// prefix: the one scs's own Redis stores use.
const DefaultSCSPrefix = "scs:session:"

// SCSStore is a session store for github.com/alexedwards/scs/v2 on the
// shared state: set SessionManager.Store to it. It implements
// [scs.Store], [scs.IterableStore], [scs.CtxStore] and
// [scs.IterableCtxStore]; scs calls the Ctx methods, with the request's
// context.
//
// A session is the key prefix+token, its value the bytes scs encoded, and
// its deadline scs's expiry, as the key's TTL: the store deletes it then.
// Find reads this process's replica and, on a miss, waits for
// [kv.KV.Sync] before it says the session is missing (see the package
// documentation). An SCSStore may be used from any goroutine.
type SCSStore struct {
	store  *kv.KV
	prefix string
}

// The interfaces scs looks for.
var (
	_ scs.Store            = (*SCSStore)(nil)
	_ scs.IterableStore    = (*SCSStore)(nil)
	_ scs.CtxStore         = (*SCSStore)(nil)
	_ scs.IterableCtxStore = (*SCSStore)(nil)
)

// NewSCSStore returns an scs store that keeps each session in store under
// the key prefix+token; an empty prefix means [DefaultSCSPrefix]. Stores
// with different prefixes share a [kv.KV] without seeing each other's
// sessions.
func NewSCSStore(store *kv.KV, prefix string) *SCSStore {
	if prefix == "" {
		prefix = DefaultSCSPrefix
	}
	return &SCSStore{store: store, prefix: prefix}
}

// FindCtx returns the data of the session token. A session that is
// missing, expired or whose token is malformed is found false with a nil
// error; the error is for a failed [kv.KV.Sync] (ctx's end, a lost
// store). A local miss waits for the sync before it is believed; a hit
// does no IPC. The bytes are the caller's own.
func (s *SCSStore) FindCtx(ctx context.Context, token string) (b []byte, found bool, err error) {
	e, ok, err := find(ctx, s.store, s.prefix+token)
	if err != nil {
		return nil, false, wrap("scs find", err)
	}
	if !ok {
		return nil, false, nil
	}
	return bytes.Clone(e.Value), true, nil
}

// CommitCtx stores b as the data of the session token until expiry,
// replacing its data and expiry if it exists. An expiry that has passed
// deletes the session. When it returns, a Find in any process finds the
// session.
func (s *SCSStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	ttl := time.Until(expiry)
	if ttl <= 0 {
		return wrap("scs commit", s.delete(ctx, token))
	}
	_, err := s.store.Put(ctx, s.prefix+token, b, kv.WithTTL(ttl))
	return wrap("scs commit", err)
}

// DeleteCtx deletes the session token; deleting a missing session is not
// an error.
func (s *SCSStore) DeleteCtx(ctx context.Context, token string) error {
	return wrap("scs delete", s.delete(ctx, token))
}

func (s *SCSStore) delete(ctx context.Context, token string) error {
	_, err := s.store.Delete(ctx, s.prefix+token)
	return err
}

// AllCtx returns the data of every live session, by token: an empty (not
// nil) map if there is none. It syncs first ([kv.KV.Sync]), then reads
// this process's replica.
func (s *SCSStore) AllCtx(ctx context.Context) (map[string][]byte, error) {
	if err := s.store.Sync(ctx); err != nil {
		return nil, wrap("scs all", err)
	}
	all := make(map[string][]byte)
	now := time.Now()
	for key, e := range s.store.Range(s.prefix) {
		if !expired(e, now) {
			all[key[len(s.prefix):]] = bytes.Clone(e.Value)
		}
	}
	return all, nil
}

// Find is [SCSStore.FindCtx] with context.Background.
func (s *SCSStore) Find(token string) (b []byte, found bool, err error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is [SCSStore.CommitCtx] with context.Background.
func (s *SCSStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is [SCSStore.DeleteCtx] with context.Background.
func (s *SCSStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// All is [SCSStore.AllCtx] with context.Background.
func (s *SCSStore) All() (map[string][]byte, error) {
	return s.AllCtx(context.Background())
}
