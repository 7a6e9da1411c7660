package cluster

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// maxMessageSize is the largest Config.MaxMessageSize (1 GiB), and so the
// largest value Config.MaxValueSize may allow.
const maxMessageSize = 1 << 30

// frameOverhead bounds what a change frame adds to its key and value.
const frameOverhead = 64

// kvLimits are the sizes the writes to this process's store must respect:
// those of every primary made in the process and not stopped (a program
// has one; tests make many, one after the other). Every change is sent to
// the workers of all of them, so the smallest limits hold.
var kvLimits struct {
	mu        sync.Mutex
	primaries []*Primary // made and not seen stopped

	// The limits the fast path checks: never above the true ones (a primary
	// that stopped is dropped, and the limits raised, only when a write
	// over them looks again). frame is 0 while no primary is known.
	frame, value atomic.Int64
}

func init() { kvLimits.value.Store(MaxValueSize) }

// useKVLimits adds the limits of a new primary.
func useKVLimits(p *Primary) {
	kvLimits.mu.Lock()
	defer kvLimits.mu.Unlock()
	kvLimits.primaries = append(kvLimits.primaries, p)
	setKVLimitsLocked()
}

// setKVLimitsLocked drops the primaries whose Run returned and sets the
// limits to the smallest of the others', or to the defaults if none is left.
func setKVLimitsLocked() {
	live := kvLimits.primaries[:0]
	frame, value := 0, MaxValueSize
	for _, p := range kvLimits.primaries {
		select {
		case <-p.done:
			continue
		default:
		}
		v := p.cfg.MaxValueSize
		if v == 0 {
			v = MaxValueSize
		}
		if len(live) == 0 || v < value {
			value = v
		}
		if frame == 0 || p.cfg.MaxMessageSize < frame {
			frame = p.cfg.MaxMessageSize
		}
		live = append(live, p)
	}
	clear(kvLimits.primaries[len(live):])
	kvLimits.primaries = live
	kvLimits.frame.Store(int64(frame))
	kvLimits.value.Store(int64(value))
}

// checkSize fails a write whose value is over the value limit, or whose
// change would not fit a message to the workers. The key's own limit is
// the store's.
func checkSize(key string, value []byte) error {
	frame, n := kvLimits.frame.Load(), int64(len(key)+len(value)+frameOverhead)
	if int64(len(value)) <= kvLimits.value.Load() && (frame == 0 || n <= frame) {
		return nil
	}
	kvLimits.mu.Lock()
	setKVLimitsLocked() // a primary may have stopped since
	frame, limit := kvLimits.frame.Load(), kvLimits.value.Load()
	kvLimits.mu.Unlock()
	switch {
	case int64(len(value)) > limit:
		return fmt.Errorf("%w: value of %d bytes, over the limit of %d (Config.MaxValueSize)", ErrInvalidKV, len(value), limit)
	case frame != 0 && n > frame:
		return fmt.Errorf("%w: key and value of %d bytes do not fit a message of Config.MaxMessageSize (%d)",
			ErrInvalidKV, len(key)+len(value), frame)
	}
	return nil
}
