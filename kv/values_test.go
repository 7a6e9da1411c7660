package kv

import (
	"testing"

	"github.com/gocluster/cluster/internal/state"
)

// TestValuesMatchTheEngine: the public operations and write kinds are
// converted to the engine's by value, so their numbers must be the same.
func TestValuesMatchTheEngine(t *testing.T) {
	ops := map[Op]state.Op{OpPut: state.OpPut, OpDelete: state.OpDelete, OpExpire: state.OpExpire, OpSynced: state.OpSynced}
	for op, s := range ops {
		if uint8(op) != uint8(s) || op.String() != s.String() {
			t.Errorf("kv %v (%d) is not the engine's %v (%d)", op, op, s, s)
		}
	}
	kinds := map[WriteKind]state.Kind{WritePut: state.KindPut, WriteCreate: state.KindCreate,
		WriteUpdate: state.KindUpdate, WriteDelete: state.KindDelete}
	for k, s := range kinds {
		if uint8(k) != uint8(s) {
			t.Errorf("kv write kind %v (%d) is not the engine's %v (%d)", k, k, s, s)
		}
	}
}
