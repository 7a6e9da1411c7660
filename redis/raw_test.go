//go:build unix

package redis_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/redistest"
	"github.com/redis/rueidis"
)

// raw reads a store's keys in Redis directly, beside the backend, to check
// what the machines show against what Redis holds.
type raw struct {
	t      *testing.T
	c      rueidis.Client
	prefix string // "{store}:"
}

// newRaw connects to srv for the store name, until the test ends.
func newRaw(t *testing.T, srv *redistest.Server, store string) *raw {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr()}, DisableCache: true,
		ForceSingleClient: true}) // reads are tried again on a lost connection
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &raw{t: t, c: c, prefix: "{" + store + "}:"}
}

func rawCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// rev returns the store's revision.
func (r *raw) rev() (uint64, error) {
	ctx, cancel := rawCtx()
	defer cancel()
	s, err := r.c.Do(ctx, r.c.B().Hget().Key(r.prefix+"meta").Field("rev").Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(s, 10, 64)
}

// mustRev is rev, failing the test on an error.
func (r *raw) mustRev() uint64 {
	r.t.Helper()
	rev, err := r.rev()
	if err != nil {
		r.t.Fatalf("reading the store's revision: %v", err)
	}
	return rev
}

// rawEntry is a key as the store holds it in Redis.
type rawEntry struct {
	value        string
	rev, created uint64
	owner        uint64 // machine<<32 | worker; 0: none
	expires      uint64 // Unix ms; 0: none
}

// String is the entry as a dump shows it ("value@rev/created").
func (e rawEntry) String() string { return fmt.Sprintf("%s@%d/%d", e.value, e.rev, e.created) }

// content returns every key of the store, by key.
func (r *raw) content() map[string]rawEntry {
	r.t.Helper()
	ctx, cancel := rawCtx()
	defer cancel()
	m := make(map[string]rawEntry)
	var cursor uint64
	for range 100000 {
		e, err := r.c.Do(ctx, r.c.B().Scan().Cursor(cursor).Match(r.prefix+"k:*").Count(1000).Build()).AsScanEntry()
		if err != nil {
			r.t.Fatalf("scanning the store: %v", err)
		}
		if len(e.Elements) > 0 {
			vals, err := r.c.Do(ctx, r.c.B().Mget().Key(e.Elements...).Build()).ToArray()
			if err != nil {
				r.t.Fatalf("reading the store: %v", err)
			}
			for i, v := range vals {
				if s, err := v.ToString(); err == nil {
					key := strings.TrimPrefix(e.Elements[i], r.prefix+"k:")
					m[key] = parseRaw(r.t, key, s)
				}
			}
		}
		if cursor = e.Cursor; cursor == 0 {
			return m
		}
	}
	r.t.Fatal("scanning the store: the cursor never came back to 0")
	return nil
}

// parseRaw decodes a stored value: "rev created pxat owner value".
func parseRaw(t *testing.T, key, s string) rawEntry {
	f := strings.SplitN(s, " ", 5)
	var n [4]uint64
	for i := range n {
		var err error
		if len(f) != 5 {
			err = fmt.Errorf("%d fields", len(f))
		} else {
			n[i], err = strconv.ParseUint(f[i], 10, 64)
		}
		if err != nil {
			t.Fatalf("the value of %q in Redis, %q: %v", key, s, err)
		}
	}
	return rawEntry{value: f[4], rev: n[0], created: n[1], expires: n[2], owner: n[3]}
}

// entries returns content as a dump lists it: "key=value@rev/created", in
// key order.
func entries(content map[string]rawEntry) []string {
	var es []string
	for _, k := range slices.Sorted(maps.Keys(content)) {
		es = append(es, k+"="+content[k].String())
	}
	return es
}

// leaseAndKey reports at once (one script) whether machine m's lease and
// the data key of key exist.
func (r *raw) leaseAndKey(m uint64, key string) (lease, exists bool) {
	r.t.Helper()
	ctx, cancel := rawCtx()
	defer cancel()
	const script = `return {redis.call('EXISTS', KEYS[1]), redis.call('EXISTS', KEYS[2])}`
	vals, err := r.c.Do(ctx, r.c.B().Eval().Script(script).Numkeys(2).
		Key(r.prefix+"lease:"+strconv.FormatUint(m, 10), r.prefix+"k:"+key).Build()).AsIntSlice()
	if err != nil || len(vals) != 2 {
		r.t.Fatalf("reading machine %d's lease and %q: %v", m, key, err)
	}
	return vals[0] == 1, vals[1] == 1
}

// logLength returns how many entries the store's log has.
func (r *raw) logLength() (int64, error) {
	ctx, cancel := rawCtx()
	defer cancel()
	return r.c.Do(ctx, r.c.B().Xlen().Key(r.prefix+"log").Build()).AsInt64()
}
