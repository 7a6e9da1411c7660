//go:build unix

package cluster

// WriteRawToPrimary writes bytes outside the framing on this worker's
// channel, to test how the primary treats a misbehaving worker.
func WriteRawToPrimary(b []byte) error {
	if self == nil {
		return ErrNotWorker
	}
	_, err := self.ep.conn.WriteRaw(b)
	return err
}
