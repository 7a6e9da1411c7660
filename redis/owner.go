package redis

import (
	"context"
	"strconv"
	"time"
)

// register gives this machine a number in the store and its lease: the
// keys its workers own are deleted when a worker exits (DropOwner), or
// when the lease ends (the machine went away).
func (b *Backend) register(ctx context.Context) error {
	token := epochCandidate() // random: a number another machine got after a loss is not ours
	args := append(b.args(3), "0", strconv.FormatInt(b.cfg.Lease.Milliseconds(), 10), token)
	vals, err := helloScript.Exec(ctx, b.client, []string{b.k.meta, b.k.log}, args).ToArray()
	if err != nil || len(vals) != 3 {
		return unavailable("registering this machine", err)
	}
	m, err := vals[2].AsInt64()
	if err != nil {
		return unavailable("registering this machine", err)
	}
	b.mu.Lock()
	b.machine, b.leaseToken = uint64(m), token
	b.mu.Unlock()
	return nil
}

// keepLease renews this machine's lease every third of it, and reaps the
// machines whose lease ended, until Close. A lease found gone (the machine
// was cut off longer than it) means its owned keys were reaped: the
// machine registers again, under a new number.
func (b *Backend) keepLease() {
	defer b.wg.Done()
	t := time.NewTicker(b.cfg.Lease / 3)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		b.mu.Lock()
		lease := b.k.prefix + "lease:" + strconv.FormatUint(b.machine, 10)
		token, orphans := b.leaseToken, b.orphans
		b.orphans = nil
		b.mu.Unlock()
		if len(orphans) > 0 {
			b.dropOwners(orphans...)
		}
		ok, err := lockScript.Exec(b.ctx, b.client, []string{lease},
			[]string{token, strconv.FormatInt(b.cfg.Lease.Milliseconds(), 10), "", "0"}).AsInt64()
		if err != nil {
			continue // unreachable: try again on the next tick
		}
		if ok == 0 {
			b.log.Warn("redis: this machine's lease ended while it was cut off; its workers' owned keys were deleted", "store", b.cfg.Name)
			_ = b.register(b.ctx)
		}
		b.extendLocks()
		if n%3 == 2 {
			b.reap()
		}
	}
}

// reap deletes the owned keys of machines whose lease ended.
func (b *Backend) reap() {
	args := append(b.args(1), "r")
	if err := dropScript.Exec(b.ctx, b.client, []string{b.k.meta, b.k.log}, args).Error(); err != nil {
		b.log.Debug("redis: reaping machines", "err", err)
	}
}

// DropOwner deletes the keys owner (a worker of this machine) owns and
// aborts the loads it leads; see [kv.Backend.DropOwner]. If the server
// cannot be reached, they are deleted once it can.
func (b *Backend) DropOwner(owner uint64) {
	b.abortLoads(func(l *load) bool { return l.leader == owner && l.lock != "" }, nil)
	if owner == 0 {
		return
	}
	b.mu.Lock()
	closed, machine := b.closed, b.machine
	b.mu.Unlock()
	if closed {
		return
	}
	b.dropOwners(b.globalOwner(owner, machine))
}

// dropOwners deletes the keys of owners (store-wide numbers); if the
// server cannot be reached they are tried again on the next renewal of
// the lease.
func (b *Backend) dropOwners(owners ...string) {
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.DialTimeout)
	defer cancel()
	args := append(b.args(1+len(owners)), "o")
	args = append(args, owners...)
	res, err := dropScript.Exec(ctx, b.client, []string{b.k.meta, b.k.log}, args).AsInt64()
	if err != nil {
		b.log.Warn("redis: deleting a worker's owned keys; trying again", "owners", owners, "err", err)
		b.mu.Lock()
		b.orphans = append(b.orphans, owners...)
		b.mu.Unlock()
		return
	}
	if res > 0 {
		_, _ = b.Sync(ctx) // its deletes are applied here when it returns
	}
}
