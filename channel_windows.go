package cluster

import (
	"io"
	"os"
)

// Windows has no worker processes here: programs run as one process (see
// IsPrimary).
const supported = false

func newChannel() (io.ReadWriteCloser, []*os.File, error) { return nil, nil, ErrUnsupported }

func openChannel([]int) (io.ReadWriteCloser, error) { return nil, ErrUnsupported }

func dupFile(*os.File) (*os.File, error) { return nil, ErrUnsupported }
