package cluster

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/internal/wire"
	"github.com/gocluster/cluster/kv"
)

// TestMinMessageSizeHoldsEveryLibraryFrame: at MinMessageSize, the
// handshake and every frame of the shared store for a key of kv.MaxKeySize
// (its numbers at their longest encodings) fit, and the value limit accepts
// that key.
func TestMinMessageSizeHoldsEveryLibraryFrame(t *testing.T) {
	key := strings.Repeat("k", kv.MaxKeySize)
	const big = math.MaxUint64
	entry := state.Entry{Key: key, Rev: big, Created: big, Expires: math.MaxInt64, Owner: big}
	frames := map[string][]byte{
		"hello":    wire.HelloPayload(),
		"write":    wire.AppendWrite([]byte{wire.StateWrite}, state.Write{Kind: state.KindPut, Key: key, PrevRev: big, TTL: time.Duration(math.MaxInt64), Owner: big}),
		"change":   wire.AppendEvent([]byte{wire.DeltaChange}, state.Event{Op: state.OpPut, Key: key, Rev: big, Created: big, Expires: math.MaxInt64, Owner: big}),
		"snapshot": wire.AppendSnapshot([]byte{wire.DeltaSnapshot}, big, []state.Entry{entry}),
		"load": wire.AppendStateReply(nil, big, wire.AppendEvent([]byte{wire.LoadHave},
			state.Event{Op: state.OpPut, Key: key, Rev: big, Created: big, Expires: math.MaxInt64})),
	}
	for name, f := range frames {
		if len(f) > MinMessageSize {
			t.Errorf("%s frame of %d bytes is over MinMessageSize (%d)", name, len(f), MinMessageSize)
		}
	}
	if n := len(key) + kv.ChangeOverhead; n > MinMessageSize {
		t.Errorf("the value limit needs %d bytes for a key of kv.MaxKeySize", n)
	}
}
