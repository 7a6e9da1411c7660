package state

import "errors"

// Sentinel errors. Test for them with errors.Is: most are returned wrapped
// with details.
var (
	// ErrExists is returned by a KindCreate write when the key exists.
	ErrExists = errors.New("state: key exists")
	// ErrConflict is returned by a KindUpdate write (or a KindDelete with
	// PrevRev) when the key is absent or its revision is not Write.PrevRev.
	ErrConflict = errors.New("state: revision conflict")
	// ErrKeyTooLarge is returned for a key over StoreOptions.MaxKeySize.
	ErrKeyTooLarge = errors.New("state: key too large")
	// ErrValueTooLarge is returned for a value over StoreOptions.MaxValueSize.
	ErrValueTooLarge = errors.New("state: value too large")
	// ErrEmptyKey is returned for a write or a load of the empty key.
	ErrEmptyKey = errors.New("state: empty key")
	// ErrClosed is returned by the Store after Close, and given to the
	// waiters of the loads that Close abandoned.
	ErrClosed = errors.New("state: store closed")
	// ErrLoadAborted is given to the waiters of a load whose leader was
	// dropped (DropOwner) before it finished. They should try again.
	ErrLoadAborted = errors.New("state: load aborted, its leader is gone")
	// ErrNotLeader is returned by FinishLoad when the requester does not
	// lead a load of that key (it never did, or the load was aborted).
	ErrNotLeader = errors.New("state: not the leader of a load of this key")
	// ErrSinkRemoved is returned by Snapshot.Next once its sink was removed
	// or replaced.
	ErrSinkRemoved = errors.New("state: sink removed")
	// ErrMalformed is wrapped by the errors of the decoders, and by the
	// error of a write that is not well formed (unknown kind, negative TTL).
	ErrMalformed = errors.New("state: malformed data")
)
