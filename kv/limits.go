package kv

import "fmt"

// Limits of the shared state. A write over them fails with an error
// wrapping [ErrInvalid].
const (
	// MaxKeySize is the longest key: 4096 bytes (4 KiB).
	MaxKeySize = 4096
	// MaxValueSize is the largest value unless [Limits.MaxValueSize] says
	// otherwise (in a cluster, Config.MaxValueSize): 1 MiB (1,048,576
	// bytes).
	MaxValueSize = 1 << 20
	// ChangeOverhead is what a change adds to its key and value on the way
	// to a worker: a key and its value must fit [Limits.MaxChangeSize] with
	// this much to spare.
	ChangeOverhead = 64
)

// Limits bound the writes of an [Engine]. The zero value means the
// defaults: values up to [MaxValueSize], changes of any size.
type Limits struct {
	// MaxValueSize is the largest value in bytes; 0 means [MaxValueSize].
	MaxValueSize int
	// MaxChangeSize, if not 0, is the largest change that can travel to a
	// replica (in a cluster, Config.MaxMessageSize): a key and its value
	// must fit it with [ChangeOverhead] bytes to spare.
	MaxChangeSize int
}

// valueLimit returns the largest value l allows.
func (l Limits) valueLimit() int {
	if l.MaxValueSize > 0 {
		return l.MaxValueSize
	}
	return MaxValueSize
}

// Check fails a write whose value is over the value limit or whose change
// would not fit a message, with an error wrapping [ErrInvalid]; a [Backend]
// calls it on every write. The key's own limit ([MaxKeySize]) it leaves to
// the Backend.
func (l Limits) Check(key string, value []byte) error {
	if limit := l.valueLimit(); len(value) > limit {
		return fmt.Errorf("%w: value of %d bytes, over the limit of %d (Config.MaxValueSize)", ErrInvalid, len(value), limit)
	}
	if l.MaxChangeSize > 0 && len(key)+len(value)+ChangeOverhead > l.MaxChangeSize {
		return fmt.Errorf("%w: key and value of %d bytes do not fit a message of Config.MaxMessageSize (%d)",
			ErrInvalid, len(key)+len(value), l.MaxChangeSize)
	}
	return nil
}
