package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/cluster/kv"
	"github.com/redis/rueidis"
)

// Backend is a [kv.Backend] whose store lives in Redis: one total order of
// revisions kept by Redis, every machine's copy fed by the store's change
// log. In a cluster only the primary holds one (see [Store]); its workers
// read their replicas as with the embedded store. Create it with [New].
type Backend struct {
	cfg    Config
	limits kv.Limits
	log    *slog.Logger
	client rueidis.Client
	mirror *kv.Mirror
	k      keys

	stop    context.CancelFunc
	ctx     context.Context
	wg      sync.WaitGroup
	checked time.Time // when the follower last checked the store; the follower's alone

	mu         sync.Mutex
	machine    uint64   // this machine's number in the store
	leaseToken string   // the value of its lease key
	orphans    []string // owners whose keys are still to delete (the server was unreachable)
	epoch      string
	last       uint64        // the revision of the log applied
	moved      chan struct{} // closed and replaced when last, down or closed change
	down       error         // why the log is not being followed, nil while it is
	kicked     bool          // check the store before the next read of the log
	closed     bool
	seq        uint64
	pending    map[uint64]*pendingWrite // by writer token
	loads      map[string]*load
	exp        expiries
}

// pendingWrite is a write of this machine on its way through the log: its
// change gets the write's Origin and Tag.
type pendingWrite struct {
	origin, tag uint64
	handed      bool // its change was handed over with them
}

// keys are the names of the store's keys in Redis.
type keys struct {
	prefix, meta, log, fence string
}

func (k keys) data(key string) string { return k.prefix + "k:" + key }
func (k keys) lock(key string) string { return k.prefix + "lock:" + key }

// New connects to the Redis server cfg names, checks that it can hold a
// store (Redis 7.0 or later), registers this machine and reads the store's
// content before it returns. It fails with [ErrConfig], [ErrUnavailable]
// or [ErrServerTooOld]. l are the limits of the writes (see [kv.Limits]).
func New(ctx context.Context, cfg Config, l kv.Limits) (*Backend, error) {
	cfg = cfg.withDefaults()
	opt, err := cfg.options()
	if err != nil {
		return nil, err
	}
	client, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, unavailable("connecting", err)
	}
	p := "{" + cfg.Name + "}:"
	b := &Backend{cfg: cfg, limits: l, log: cfg.Logger, client: client, mirror: kv.NewMirror(),
		k:       keys{prefix: p, meta: p + "meta", log: p + "log", fence: p + "fence"},
		moved:   make(chan struct{}),
		pending: make(map[uint64]*pendingWrite),
		loads:   make(map[string]*load),
	}
	if err := b.checkServer(ctx); err != nil {
		client.Close()
		return nil, err
	}
	if err := b.register(ctx); err != nil {
		client.Close()
		return nil, err
	}
	if err := b.resync(ctx); err != nil {
		client.Close()
		return nil, err
	}
	b.ctx, b.stop = context.WithCancel(context.Background())
	b.wg.Add(4)
	go b.follow()
	go b.watchLoads()
	go b.sweep()
	go b.keepLease()
	return b, nil
}

// checkServer fails unless the server is Redis 7.0 or later (Valkey says
// it is Redis 7.2).
func (b *Backend) checkServer(ctx context.Context) error {
	info, err := b.client.Do(ctx, b.client.B().Info().Section("server").Build()).ToString()
	if err != nil {
		return unavailable("connecting", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			major, _, _ := strings.Cut(v, ".")
			if n, err := strconv.Atoi(major); err != nil || n < 7 {
				return fmt.Errorf("%w: the server is %s", ErrServerTooOld, v)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: the server does not say its version", ErrServerTooOld)
}

// Mirror returns the copy of the store this machine keeps (a [kv.KV] on
// the Backend reads it directly).
func (b *Backend) Mirror() *kv.Mirror { return b.mirror }

// Subscribe registers sink; see [kv.Backend.Subscribe].
func (b *Backend) Subscribe(id uint64, sink kv.Sink) error { return b.mirror.Subscribe(id, sink) }

// Unsubscribe removes the sink of id; see [kv.Backend.Unsubscribe].
func (b *Backend) Unsubscribe(id uint64) { b.mirror.Unsubscribe(id) }

// Close stops following the store, releases the locks of the loads this
// machine leads (their waiters get [kv.ErrClosed]) and closes the
// connection. The keys this machine's workers own stay until its lease
// ends. Later calls fail with kv.ErrClosed.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.wake()
	b.mu.Unlock()
	b.stop()
	b.wg.Wait()
	b.abortLoads(func(*load) bool { return true }, kv.ErrClosed)
	b.mirror.Close()
	b.client.Close()
	return nil
}

// wake tells the writers waiting that something moved; b.mu is held.
func (b *Backend) wake() {
	close(b.moved)
	b.moved = make(chan struct{})
}

// epochCandidate is a fresh random epoch, for a store that has none.
func epochCandidate() string {
	var r [8]byte
	rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// args returns the arguments every script of the prelude starts with.
func (b *Backend) args(n int) []string {
	a := make([]string, 3, 3+n)
	a[0], a[1], a[2] = b.k.prefix, strconv.Itoa(b.cfg.LogLength), epochCandidate()
	return a
}

// errLost is why a write or a sync of an epoch the follower went past
// failed: the store lost that epoch's data.
var errLost = errors.New("the store lost its data meanwhile")

// waitRev returns once the log of epoch is applied up to rev, or the error
// that keeps it from being. from is the epoch followed before the write
// (or the sync) that returned epoch and rev: while the follower is still
// on from, it has yet to move to epoch; on a third one, epoch is lost.
func (b *Backend) waitRev(ctx context.Context, rev uint64, epoch, from string) error {
	for {
		b.mu.Lock()
		last, cur, moved, down, closed := b.last, b.epoch, b.moved, b.down, b.closed
		b.mu.Unlock()
		switch {
		case cur == epoch && last >= rev:
			return nil
		case closed:
			return kv.ErrClosed
		case down != nil:
			return unavailable("following the log", down)
		case cur != epoch && cur != from:
			return unavailable("following the log", errLost)
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second): // a safety net: the log may move without a wake
		}
	}
}

// Sync returns the revision of the store's last change, once it is
// applied here; see [kv.Syncer]. After the store lost data (a new epoch),
// that is once this machine has read the store again.
func (b *Backend) Sync(ctx context.Context) (uint64, error) {
	from := b.currentEpoch()
	epoch, rev, err := b.hello(ctx)
	if err != nil {
		return 0, unavailable("sync", err)
	}
	if epoch != from {
		b.kick()
	}
	if err := b.waitRev(ctx, rev, epoch, from); err != nil {
		return 0, err
	}
	return rev, nil
}
