package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"

	"github.com/gocluster/cluster/internal/wire"
)

// ListenConfig holds options for Listen in a worker.
type ListenConfig struct {
	// Policy overrides the cluster's Config.Policy for this listener. Every
	// worker listening on one address must ask for the same policy.
	Policy Policy
}

// Listen returns a listener on a local network address shared by every
// worker of the cluster that listens on the same network and address: the
// primary binds it once ("tcp", "tcp4", "tcp6" or "unix"; port 0 is picked
// once and shared) and workers share it by the cluster's policy. In a
// process that is not a worker it is net.Listen, so the same program runs
// on its own.
func Listen(network, address string) (net.Listener, error) {
	return ListenConfig{}.Listen(context.Background(), network, address)
}

// Listen is Listen with this config; an ended ctx stops it before it asks
// the primary.
func (lc ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	if self == nil {
		var nlc net.ListenConfig
		return nlc.Listen(ctx, network, address)
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return nil, fmt.Errorf("cluster: listen %s %s: network not supported (tcp, tcp4, tcp6, unix)", network, address)
	}
	if lc.Policy >= policyEnd {
		return nil, fmt.Errorf("cluster: listen %s %s: unknown policy %d", network, address, lc.Policy)
	}
	if err := ctx.Err(); err != nil {
		return nil, opErr(fmt.Sprintf("listen %s %s", network, address), err)
	}
	if err := self.mail.inHandler(); err != nil {
		return nil, opErr(fmt.Sprintf("listen %s %s", network, address), err)
	}
	// The wait is not abandoned when ctx ends: the primary registers this
	// worker for the address when it answers, and an answer nobody took
	// would leave that registration behind. It answers at once, or the
	// channel closes.
	req := wire.AppendListen(nil, byte(lc.Policy), network, address)
	r := self.ep.Call(context.Background(), wire.TypeCtl, 0, req)
	if r.Err != nil {
		return nil, opErr(fmt.Sprintf("listen %s %s", network, address), r.Err)
	}
	policy, key, bound, err := parseListenReply(r.Data)
	if err != nil {
		closeFiles(r.Files)
		return nil, opErr(fmt.Sprintf("listen %s %s", network, address), err)
	}
	if policy == RoundRobin {
		closeFiles(r.Files)
		l, err := self.handoff.open(key, network, address, bound)
		if err != nil {
			return nil, err
		}
		// Connections come once the primary has read this, after the
		// listener is registered: none comes back for want of a listener.
		if err := self.ep.Enqueue(wire.TypeCtl, 0, 0, wire.Keyed(wire.CtlAccept, key)); err != nil {
			l.Close()
			return nil, opErr(fmt.Sprintf("listen %s %s", network, address), err)
		}
		return l, nil
	}
	if len(r.Files) != 1 {
		closeFiles(r.Files)
		return nil, fmt.Errorf("cluster: listen %s %s: the primary sent no socket", network, address)
	}
	ln, err := net.FileListener(r.Files[0])
	r.Files[0].Close()
	if err != nil {
		return nil, opErr(fmt.Sprintf("listen %s %s", network, address), err)
	}
	return &sharedListener{Listener: ln, key: key}, nil
}

// listenRefusal is the reply to a listen the primary could not do. The
// reason leaves out what the worker's error says anyway (the operation, the
// network and address, the "cluster: " prefix).
func listenRefusal(err error) []byte {
	var errno syscall.Errno
	errors.As(err, &errno)
	return wire.AppendListenRefusal(nil, uint32(errno), strings.TrimPrefix(listenCause(err).Error(), "cluster: "))
}

// listenCause is what a listen error says beyond "listen tcp :80": for
// a *net.OpError, its cause ("bind: address already in use").
func listenCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// parseListenReply reads the primary's answer to a listen.
func parseListenReply(b []byte) (Policy, uint32, string, error) {
	r, err := wire.ParseListenReply(b)
	switch {
	case err != nil:
		return 0, 0, "", err
	case r.Policy == 0:
		return 0, 0, "", &listenError{reason: r.Reason, errno: syscall.Errno(r.Errno)}
	case Policy(r.Policy) >= policyEnd:
		return 0, 0, "", fmt.Errorf("%w: listen reply of policy %d", wire.ErrMalformed, r.Policy)
	}
	return Policy(r.Policy), r.Key, r.Addr, nil
}

// listenError is why the primary could not listen, as a worker gets it:
// errors.Is matches the system error (syscall.EADDRINUSE...) behind it.
type listenError struct {
	reason string
	errno  syscall.Errno
}

func (e *listenError) Error() string { return e.reason }

func (e *listenError) Unwrap() error {
	if e.errno == 0 {
		return nil
	}
	return e.errno
}

// sharedListener is a worker's copy of a socket the primary bound.
type sharedListener struct {
	net.Listener
	key  uint32
	once sync.Once
}

func (l *sharedListener) Close() error {
	l.once.Do(func() { self.ep.Enqueue(wire.TypeCtl, 0, 0, wire.Keyed(wire.CtlUnlisten, l.key)) })
	return l.Listener.Close()
}
