package cluster

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/internal/wire"
)

// TestMinMessageSizeHoldsEveryLibraryFrame: at MinMessageSize, the
// handshake and every frame of the shared store for a key of MaxKeySize
// (its numbers at their longest encodings) fit, and checkFrame accepts
// that key.
func TestMinMessageSizeHoldsEveryLibraryFrame(t *testing.T) {
	key := strings.Repeat("k", MaxKeySize)
	const big = math.MaxUint64
	entry := state.Entry{Key: key, Rev: big, Created: big, Expires: math.MaxInt64, Owner: big}
	frames := map[string][]byte{
		"hello":    wire.HelloPayload(),
		"write":    wire.AppendWrite([]byte{kvWrite}, state.Write{Kind: state.KindPut, Key: key, PrevRev: big, TTL: time.Duration(math.MaxInt64), Owner: big}),
		"change":   wire.AppendEvent([]byte{deltaEvent}, state.Event{Op: state.OpPut, Key: key, Rev: big, Created: big, Expires: math.MaxInt64, Owner: big}),
		"snapshot": wire.AppendSnapshot([]byte{deltaSnapshot}, big, []state.Entry{entry}),
		"load":     loadHaveReply(entry),
	}
	for name, f := range frames {
		if len(f) > MinMessageSize {
			t.Errorf("%s frame of %d bytes is over MinMessageSize (%d)", name, len(f), MinMessageSize)
		}
	}
	if n := len(key) + frameOverhead; n > MinMessageSize {
		t.Errorf("checkFrame needs %d bytes for a key of MaxKeySize", n)
	}
}
