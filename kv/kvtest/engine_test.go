package kvtest_test

import (
	"testing"

	"github.com/gocluster/cluster/kv"
	"github.com/gocluster/cluster/kv/kvtest"
)

// TestEngine runs the conformance suite on the embedded Backend.
func TestEngine(t *testing.T) {
	kvtest.TestBackend(t, func(*testing.T) kv.Backend { return kv.NewEngine(kv.Limits{}) })
}
