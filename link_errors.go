package cluster

import (
	"fmt"
	"os"

	"github.com/gocluster/cluster/internal/link"
)

// linkErrors are the errors of this package's links: their callers get the
// package's sentinels.
var linkErrors = link.Errors{
	Encode: encodeErr,
	Decode: decodeErr,
	Disconnected: func(cause error) error {
		if cause == nil {
			return ErrDisconnected
		}
		return &causeError{ErrDisconnected, cause}
	},
	TooLarge: tooLarge,
	Op:       opErr,
}

// tooLarge is the error of a message of size bytes over the limit.
func tooLarge(size, limit int) error {
	return fmt.Errorf("%w: %d bytes, the limit is %d (Config.MaxMessageSize)", ErrTooLarge, size, limit)
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}
