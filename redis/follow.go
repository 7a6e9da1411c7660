package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gocluster/cluster/kv"
	"github.com/redis/rueidis"
)

// grace is how long Redis keeps a key past its deadline: the machines
// delete it at the deadline, through the log; Redis drops it by itself
// only if none is there to.
const grace = 5 * time.Minute

// block is how long one read of the log waits for a change; after it, and
// at least that often while changes keep coming, the follower checks that
// the store is still the one it follows.
const block = 2 * time.Second

// follow reads the store's log and applies it, in order, until Close. A
// gap in the log, a new epoch (the store lost its data) or a revision
// that went down makes it read the whole store again (resync). While the
// server cannot be reached, writes fail at once and reads serve the last
// content.
func (b *Backend) follow() {
	defer b.wg.Done()
	fails := 0
	for b.ctx.Err() == nil {
		err := b.followOnce()
		if err == nil {
			fails = 0
			continue
		}
		if b.ctx.Err() != nil {
			return
		}
		b.setDown(err)
		if fails++; fails == 1 {
			b.log.Warn("redis: lost the store's log; writes fail until it is back", "store", b.cfg.Name, "err", err)
		}
		select {
		case <-b.ctx.Done():
			return
		case <-time.After(min(time.Duration(fails)*50*time.Millisecond, time.Second)):
		}
	}
}

// followOnce reads the next changes of the log and applies them, or
// resyncs if they cannot be followed.
func (b *Backend) followOnce() error {
	b.mu.Lock()
	last, down, kicked, epoch := b.last, b.down, b.kicked, b.epoch
	b.kicked = false
	b.mu.Unlock()
	if down != nil || kicked || time.Since(b.checked) >= block {
		if err := b.check(); err != nil {
			return err
		}
		b.mu.Lock()
		last, epoch = b.last, b.epoch
		b.mu.Unlock()
	}
	cmd := b.client.B().Xread().Count(512).Block(block.Milliseconds()).Streams().Key(b.k.log).Id(strconv.FormatUint(last, 10) + "-0").Build()
	// A frozen server is a lost one: the read is cancelled once it is late
	// (a cancel, not a deadline: the client then still stops at Close).
	rctx, cancel := context.WithCancel(b.ctx)
	late := time.AfterFunc(block+b.cfg.DialTimeout, cancel)
	got, err := b.client.Do(rctx, cmd).AsXReadSlices()
	late.Stop()
	cancel()
	if rueidis.IsRedisNil(err) { // nothing new: is it still the same store?
		return b.check()
	}
	if err != nil {
		return err
	}
	cs, err := b.decode(got[b.k.log], last, epoch)
	if err != nil {
		b.log.Warn("redis: the store's log cannot be followed; reading the store again", "store", b.cfg.Name, "why", err)
		return b.resync(b.ctx)
	}
	b.apply(cs)
	return nil
}

// check compares the store's epoch and revision with what was applied:
// a store that lost its data (or is on another server process, see
// helloScript), or moved on past what can be followed, is read again.
func (b *Backend) check() error {
	epoch, rev, err := b.hello(b.ctx)
	if err != nil {
		return err
	}
	b.checked = time.Now()
	b.mu.Lock()
	same := epoch == b.epoch && rev >= b.last
	b.mu.Unlock()
	if same {
		b.setUp()
		return nil
	}
	b.log.Warn("redis: the store is not the one followed (its data was lost or replaced); reading it again", "store", b.cfg.Name)
	return b.resync(b.ctx)
}

// hello returns the store's epoch and revision (see helloScript: a store
// without an epoch, or on another server process than its epoch's, gets
// a new one).
func (b *Backend) hello(ctx context.Context) (string, uint64, error) {
	vals, err := helloScript.Exec(ctx, b.client, []string{b.k.meta, b.k.log}, append(b.args(2), "0", "0")).ToArray()
	if err == nil && len(vals) != 3 {
		err = fmt.Errorf("%d values from the script", len(vals))
	}
	if err != nil {
		return "", 0, err
	}
	epoch, _ := vals[0].ToString()
	rev, _ := vals[1].AsInt64()
	return epoch, uint64(rev), nil
}

// kick makes the follower check the store before its next read; it
// reports whether it was not to already.
func (b *Backend) kick() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	was := b.kicked
	b.kicked = true
	return !was
}

func (b *Backend) currentEpoch() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.epoch
}

// setDown records that the log is not followed because of err.
func (b *Backend) setDown(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down == nil {
		b.down = err
		b.wake()
	}
}

// setUp records that the log is followed again.
func (b *Backend) setUp() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down != nil {
		b.down = nil
		b.wake()
	}
}

// decode turns log entries of epoch into changes after last, in order. It
// fails on a gap or another epoch.
func (b *Backend) decode(entries []rueidis.XRangeSlice, last uint64, epoch string) ([]kv.Change, error) {
	var cs []kv.Change
	for _, e := range entries {
		fv := e.FieldValues
		if len(fv) == 0 || fv[0].Field != "epoch" || fv[0].Value != epoch {
			return nil, fmt.Errorf("entry %s is of another epoch", e.ID)
		}
		for _, f := range fv[1:] {
			c, err := b.parseChange(f.Field, f.Value)
			if err != nil {
				return nil, fmt.Errorf("entry %s: %w", e.ID, err)
			}
			if c.Rev <= last {
				continue
			}
			if c.Rev != last+1 {
				return nil, fmt.Errorf("change %d after %d: the log was trimmed past this machine", c.Rev, last)
			}
			last = c.Rev
			cs = append(cs, c)
		}
	}
	return cs, nil
}

// parseChange decodes one change: "op rev created pxat owner writer key"
// and its value. Its Tag holds the writer token until apply.
func (b *Backend) parseChange(header, value string) (kv.Change, error) {
	var c kv.Change
	f := strings.SplitN(header, " ", 7)
	if len(f) != 7 {
		return c, fmt.Errorf("malformed change %.60q", header)
	}
	var n [5]uint64
	for i := range n {
		v, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return c, fmt.Errorf("malformed change %.60q", header)
		}
		n[i] = v
	}
	switch f[0] {
	case "p":
		c.Op = kv.OpPut
		c.Value = []byte(value)
	case "d":
		c.Op = kv.OpDelete
	case "x":
		c.Op = kv.OpExpire
	default:
		return c, fmt.Errorf("change of unknown op %q", f[0])
	}
	c.Key, c.Rev, c.Created, c.Owner, c.Tag = f[6], n[0], n[1], n[3], n[4]
	if n[2] != 0 {
		c.Expires = time.UnixMilli(int64(n[2]))
	}
	return c, nil
}

// apply hands changes (decoded, in order, after b.last) to the mirror,
// with the Origin and Tag of this machine's writes, and wakes the writers.
func (b *Backend) apply(cs []kv.Change) {
	if len(cs) == 0 {
		return
	}
	b.mu.Lock()
	for i := range cs {
		c := &cs[i]
		c.Owner = localOwner(c.Owner, b.machine)
		tok := c.Tag
		c.Origin, c.Tag = 0, 0
		if p := b.pending[tok]; p != nil && tok != 0 {
			c.Origin, c.Tag, p.handed = p.origin, p.tag, true
		}
		if c.Op == kv.OpPut && !c.Expires.IsZero() {
			b.exp.add(c.Key, c.Rev, c.Expires)
		}
	}
	b.mu.Unlock()
	b.mirror.Replicate(cs)
	b.mu.Lock()
	b.last = cs[len(cs)-1].Rev
	b.down = nil
	b.wake()
	b.mu.Unlock()
	b.landed(cs)
}

// resync reads the whole store (its keys, then the log written meanwhile)
// and makes it the mirror's content: every sink gets it fresh.
func (b *Backend) resync(ctx context.Context) error {
	for try := 0; ; try++ {
		err := b.readStore(ctx)
		if err == nil || try == 4 || ctx.Err() != nil {
			return err
		}
	}
}

// readStore is one try of resync.
func (b *Backend) readStore(ctx context.Context) error {
	b.mu.Lock()
	raise := b.last
	b.mu.Unlock()
	args := append(b.args(2), strconv.FormatUint(raise, 10), "0")
	vals, err := helloScript.Exec(ctx, b.client, []string{b.k.meta, b.k.log}, args).ToArray()
	if err != nil || len(vals) != 3 {
		return unavailable("reading the store", err)
	}
	epoch, _ := vals[0].ToString()
	r0, _ := vals[1].AsInt64()
	if prev := b.currentEpoch(); prev != "" && prev != epoch {
		// The store lost its data, this machine's registration with it:
		// another machine may hold its number now.
		if err := b.register(ctx); err != nil {
			return err
		}
	}
	content, err := b.scan(ctx)
	if err != nil {
		return err
	}
	got, err := b.client.Do(ctx, b.client.B().Xrange().Key(b.k.log).Start(strconv.FormatInt(r0, 10)+"-1").End("+").Build()).AsXRangeSlices()
	if err != nil {
		return unavailable("reading the log", err)
	}
	cs, err := b.decode(got, uint64(r0), epoch)
	if err != nil {
		return err // trimmed meanwhile: try again
	}
	rev := uint64(r0)
	for _, c := range cs {
		rev = c.Rev
		if e, ok := content[c.Key]; ok && e.Rev >= c.Rev {
			continue
		}
		if c.Op == kv.OpPut {
			content[c.Key] = kv.Entry{Key: c.Key, Value: c.Value, Rev: c.Rev, Created: c.Created, Expires: c.Expires, Owner: c.Owner}
		} else {
			delete(content, c.Key)
		}
	}
	entries := make([]kv.Entry, 0, len(content))
	b.mu.Lock()
	b.exp = expiries{}
	for _, e := range content {
		e.Owner = localOwner(e.Owner, b.machine)
		entries = append(entries, e)
		if !e.Expires.IsZero() {
			b.exp.add(e.Key, e.Rev, e.Expires)
		}
	}
	b.mu.Unlock()
	b.mirror.Reset(rev, entries)
	b.mu.Lock()
	b.epoch, b.last, b.down = epoch, rev, nil
	b.wake()
	b.mu.Unlock()
	b.landed(nil)
	return nil
}

// scan reads every key of the store.
func (b *Backend) scan(ctx context.Context) (map[string]kv.Entry, error) {
	content := make(map[string]kv.Entry)
	match := b.k.prefix + "k:*"
	var cursor uint64
	for {
		e, err := b.client.Do(ctx, b.client.B().Scan().Cursor(cursor).Match(match).Count(1000).Build()).AsScanEntry()
		if err != nil {
			return nil, unavailable("reading the store", err)
		}
		if len(e.Elements) > 0 {
			vals, err := b.client.Do(ctx, b.client.B().Mget().Key(e.Elements...).Build()).ToArray()
			if err != nil {
				return nil, unavailable("reading the store", err)
			}
			for i, v := range vals {
				s, err := v.ToString()
				if err != nil {
					continue // deleted meanwhile
				}
				key := strings.TrimPrefix(e.Elements[i], b.k.prefix+"k:")
				if ent, err := parseEntry(key, s); err == nil {
					content[key] = ent
				}
			}
		}
		if cursor = e.Cursor; cursor == 0 {
			return content, nil
		}
	}
}

// parseEntry decodes a stored value: "rev created pxat owner value".
func parseEntry(key, s string) (kv.Entry, error) {
	f := strings.SplitN(s, " ", 5)
	if len(f) != 5 {
		return kv.Entry{}, fmt.Errorf("redis: malformed value of %q", key)
	}
	var n [4]uint64
	for i := range n {
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return kv.Entry{}, fmt.Errorf("redis: malformed value of %q", key)
		}
		n[i] = v
	}
	e := kv.Entry{Key: key, Value: []byte(f[4]), Rev: n[0], Created: n[1], Owner: n[3]}
	if n[2] != 0 {
		e.Expires = time.UnixMilli(int64(n[2]))
	}
	return e, nil
}

// pxat is a deadline as the scripts take it: Unix milliseconds, "0" for
// none (a deadline already past is one millisecond after the epoch).
func pxat(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(max(t.UnixMilli(), 1), 10)
}
