//go:build unix

package cluster

import (
	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/internal/wire"
)

// WriteRawToPrimary writes bytes outside the framing on this worker's
// channel, to test how the primary treats a misbehaving worker.
func WriteRawToPrimary(b []byte) error {
	if self == nil {
		return ErrNotWorker
	}
	_, err := self.ep.Conn().WriteRaw(b)
	return err
}

// WriteStateThenGarbage sends, in one write on this worker's channel, a
// shared-state Put of value to each key, then bytes that are no frame: the
// primary reads them together, as one batch and a protocol error.
func WriteStateThenGarbage(keys []string, value []byte) error {
	if self == nil {
		return ErrNotWorker
	}
	var b []byte
	for i, k := range keys {
		req := wire.AppendWrite([]byte{wire.StateWrite}, state.Write{Kind: state.KindPut, Key: k, Value: value})
		b = wire.AppendFrame(b, wire.TypeState, 0, 1<<40+uint64(i), req)
	}
	b = append(b, "this is not a frame, not at all"...)
	_, err := self.ep.Conn().WriteRaw(b)
	return err
}

// EnvWorkerID is the environment variable that carries a worker's id.
const EnvWorkerID = envWorkerID
