package redis

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gocluster/cluster/kv"
)

// writeKinds are the script's names of the kinds of writes.
var writeKinds = [...]string{kv.WritePut: "p", kv.WriteCreate: "c", kv.WriteUpdate: "u", kv.WriteDelete: "d"}

// Apply applies ws in order, in one script call, and returns once their
// changes are applied here; see [kv.Backend.Apply]. While the server
// cannot be reached it fails at once with [ErrUnavailable]. A write whose
// change was not handed to the sinks with its Origin and Tag (a fresh
// content covered it) gets its Tag cleared, so the transport answers it.
func (b *Backend) Apply(ctx context.Context, ws []kv.Write, res []kv.Result, errs []error) {
	keys := []string{b.k.meta, b.k.log}
	args := append(b.args(1+6*len(ws)), strconv.FormatInt(grace.Milliseconds(), 10))
	sent := make([]int, 0, len(ws))
	toks := make([]uint64, 0, len(ws))
	b.mu.Lock()
	closed, machine, from := b.closed, b.machine, b.epoch
	b.mu.Unlock()
	for i := range ws {
		w := &ws[i]
		res[i], errs[i] = kv.Result{}, nil
		switch {
		case closed:
			errs[i] = kv.ErrClosed
		case w.Kind < kv.WritePut || w.Kind > kv.WriteDelete:
			errs[i] = kvErrorf(kv.ErrInvalid, "invalid write: unknown kind %d", w.Kind)
		case w.Key == "" || len(w.Key) > kv.MaxKeySize:
			errs[i] = kvErrorf(kv.ErrInvalid, "invalid write: key of %d bytes (1 to %d)", len(w.Key), kv.MaxKeySize)
		case w.Kind != kv.WriteDelete:
			errs[i] = b.limits.Check(w.Key, w.Value)
		}
		if errs[i] != nil {
			continue
		}
		tok := b.expect(w.Origin, w.Tag, machine)
		sent, toks = append(sent, i), append(toks, tok)
		keys = append(keys, b.k.data(w.Key))
		args = append(args, writeKinds[w.Kind], strconv.FormatUint(w.PrevRev, 10), pxat(w.Expires),
			b.globalOwner(w.Owner, machine), strconv.FormatUint(tok, 10), string(w.Value))
	}
	if len(sent) == 0 {
		return
	}
	out, epoch, err := b.runWrite(ctx, keys, args, len(sent))
	if err != nil {
		b.forget(toks)
		for _, i := range sent {
			errs[i] = err
		}
		return
	}
	var top uint64
	for j, i := range sent {
		res[i].Rev, errs[i] = outcome(&ws[i], out[j])
		top = max(top, res[i].Rev)
	}
	if top > 0 {
		err = b.waitRev(ctx, top, epoch, from)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for j, i := range sent {
		p := b.pending[toks[j]]
		delete(b.pending, toks[j])
		switch {
		case res[i].Rev == 0:
		case p != nil && p.handed:
			// Its change went out with the Tag: it is the answer.
		case err != nil:
			res[i], errs[i] = kv.Result{}, err
		default:
			ws[i].Tag = 0 // covered by a fresh content: answer it
		}
	}
}

// runWrite runs the write script and returns its results, one per write,
// and the store's epoch they are of.
func (b *Backend) runWrite(ctx context.Context, keys, args []string, n int) ([]string, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	msgs, err := writeScript.Exec(ctx, b.client, keys, args).ToArray()
	if err != nil {
		return nil, "", unavailable("write", err)
	}
	if len(msgs) != n+1 {
		return nil, "", fmt.Errorf("redis: write: %d results for %d writes", len(msgs)-1, n)
	}
	out := make([]string, n)
	for i := range out {
		if v, err := msgs[i+1].AsInt64(); err == nil {
			out[i] = strconv.FormatInt(v, 10)
		} else {
			out[i], _ = msgs[i+1].ToString()
		}
	}
	epoch, _ := msgs[0].ToString()
	if epoch != b.currentEpoch() && b.kick() {
		b.log.Warn("redis: the store has a new epoch: its data was lost; reading it again", "store", b.cfg.Name)
	}
	return out, epoch, nil
}

// outcome turns the script's result of w into its revision or error.
func outcome(w *kv.Write, r string) (uint64, error) {
	if r == "" {
		return 0, fmt.Errorf("redis: write %q: no result", w.Key)
	}
	cur, _ := strconv.ParseUint(r[1:], 10, 64)
	switch r[0] {
	case 'e':
		return 0, kvErrorf(kv.ErrExists, "create %q: key exists (revision %d)", w.Key, cur)
	case 'c':
		if cur == 0 {
			return 0, kvErrorf(kv.ErrConflict, "%v %q: revision conflict: key absent, expected revision %d", w.Kind, w.Key, w.PrevRev)
		}
		return 0, kvErrorf(kv.ErrConflict, "%v %q: revision conflict: key at revision %d, expected %d", w.Kind, w.Key, cur, w.PrevRev)
	case 'l':
		return 0, kvErrorf(kv.ErrLoadAborted, "load %q: aborted: its lock was lost (the load took longer than the lease)", w.Key)
	}
	rev, err := strconv.ParseUint(r, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("redis: write %q: result %q", w.Key, r)
	}
	return rev, nil
}

// expect registers a write of this machine whose change must carry origin
// and tag, and returns its writer token.
func (b *Backend) expect(origin, tag, machine uint64) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	tok := machine<<40 | b.seq&(1<<40-1)
	b.pending[tok] = &pendingWrite{origin: origin, tag: tag}
	return tok
}

// forget drops the tokens of writes that were not applied.
func (b *Backend) forget(toks []uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range toks {
		delete(b.pending, t)
	}
}

// globalOwner is the store-wide owner of a local owner (a worker of this
// machine): machine<<32 | owner; "0" for none.
func (b *Backend) globalOwner(owner, machine uint64) string {
	if owner == 0 {
		return "0"
	}
	return strconv.FormatUint(machine<<32|owner&(1<<32-1), 10)
}

// localOwner is the owner a change or entry shows here: a worker's id for
// this machine's, the store-wide number for another's.
func localOwner(global, machine uint64) uint64 {
	if global>>32 == machine {
		return global & (1<<32 - 1)
	}
	return global
}
