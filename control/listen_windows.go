package control

import (
	"errors"
	"net"

	"github.com/gocluster/cluster"
)

// Listen fails on Windows, where clusters do not run worker processes.
func Listen(p *cluster.Primary, opts Options) (*Server, error) {
	return nil, errors.New("control: control sockets are not supported on Windows")
}

func peerUID(*net.UnixConn) (int, error) {
	return -1, errors.New("control: peer credentials are not supported on Windows")
}
