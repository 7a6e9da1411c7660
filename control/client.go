package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/gocluster/cluster/logs"
)

// ErrNoCluster is matched (errors.Is) by the error of [Dial] and of the
// [Client] calls when nothing listens at the socket.
var ErrNoCluster = errors.New("control: no cluster runs there")

// noClusterError says that nothing listens at a socket, and how to start
// something there.
type noClusterError struct {
	path string
	err  error
}

func (e *noClusterError) Error() string {
	return "control: no cluster runs from this directory (socket " + e.path + "): start one with gocluster run, or give --socket"
}

func (e *noClusterError) Unwrap() []error { return []error{ErrNoCluster, e.err} }

// Client talks to a cluster's control socket. Each call opens its own
// connection, so calls may run at once from several goroutines.
type Client struct {
	path string
	pid  int
	name string
}

// Dial checks that a cluster answers at path and returns a Client for it.
// When nothing listens there the error (matching [ErrNoCluster]) says how
// to start one.
func Dial(ctx context.Context, path string) (*Client, error) {
	c := &Client{path: path}
	err := c.call(ctx, request{Cmd: "hello"}, func(r response) (bool, error) {
		c.pid, c.name = r.PID, r.Name
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Path returns the socket's path.
func (c *Client) Path() string { return c.path }

// PID returns the primary's process id, as Dial found it.
func (c *Client) PID() int { return c.pid }

// Name returns the cluster's name, as Dial found it.
func (c *Client) Name() string { return c.name }

// Close releases the Client; it holds no connection between calls.
func (c *Client) Close() error { return nil }

// Status returns the cluster's status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var st *Status
	err := c.call(ctx, request{Cmd: "status"}, func(r response) (bool, error) {
		st = r.Status
		return false, nil
	})
	if err == nil && st == nil {
		err = errors.New("control: status: the answer holds no status")
	}
	return st, err
}

// Scale sets the number of workers, and returns once the cluster has them
// (see [cluster.Primary.Scale]).
//
// [cluster.Primary.Scale]: https://pkg.go.dev/github.com/gocluster/cluster#Primary.Scale
func (c *Client) Scale(ctx context.Context, n int) error {
	return c.call(ctx, request{Cmd: "scale", N: n}, nil)
}

// Reload replaces every worker with a new generation, and returns the
// reload's result (see [cluster.Primary.Reload]).
//
// [cluster.Primary.Reload]: https://pkg.go.dev/github.com/gocluster/cluster#Primary.Reload
func (c *Client) Reload(ctx context.Context) error {
	return c.call(ctx, request{Cmd: "reload"}, nil)
}

// Stop asks the cluster to stop ([Options.Stop]); it returns once the
// request is taken, while the cluster stops its workers.
func (c *Client) Stop(ctx context.Context) error {
	return c.call(ctx, request{Cmd: "stop"}, nil)
}

// Send sends msg to worker id, or to every worker if id is 0.
func (c *Client) Send(ctx context.Context, id int, msg []byte) error {
	return c.call(ctx, request{Cmd: "send", ID: id, Message: msg}, nil)
}

// KVGet reads key from the cluster's shared state; found is false if it
// does not exist.
func (c *Client) KVGet(ctx context.Context, key string) (e Entry, found bool, err error) {
	err = c.call(ctx, request{Cmd: "kv", Op: "get", Key: key}, func(r response) (bool, error) {
		if r.Found && r.Entry != nil {
			e, found = *r.Entry, true
		}
		return false, nil
	})
	return e, found, err
}

// KVPut sets key to value and returns the write's revision.
func (c *Client) KVPut(ctx context.Context, key string, value []byte) (rev uint64, err error) {
	err = c.call(ctx, request{Cmd: "kv", Op: "put", Key: key, Value: value}, func(r response) (bool, error) {
		rev = r.Rev
		return false, nil
	})
	return rev, err
}

// KVDelete deletes key and returns the write's revision.
func (c *Client) KVDelete(ctx context.Context, key string) (rev uint64, err error) {
	err = c.call(ctx, request{Cmd: "kv", Op: "del", Key: key}, func(r response) (bool, error) {
		rev = r.Rev
		return false, nil
	})
	return rev, err
}

// KVList returns the entries whose key starts with prefix, in key order.
func (c *Client) KVList(ctx context.Context, prefix string) ([]Entry, error) {
	var es []Entry
	err := c.call(ctx, request{Cmd: "kv", Op: "list", Prefix: prefix}, func(r response) (bool, error) {
		if r.Done {
			return false, nil
		}
		if r.Entry != nil {
			es = append(es, *r.Entry)
		}
		return true, nil
	})
	return es, err
}

// KVWatch calls fn with every entry whose key starts with prefix, then an
// event with Op "synced", then each change of such a key (see
// [kv.KV.Watch]), until ctx ends (it returns ctx's error), fn fails (its
// error) or the cluster closes the connection.
//
// [kv.KV.Watch]: https://pkg.go.dev/github.com/gocluster/cluster/kv#KV.Watch
func (c *Client) KVWatch(ctx context.Context, prefix string, fn func(WatchEvent) error) error {
	return c.call(ctx, request{Cmd: "kv", Op: "watch", Prefix: prefix}, func(r response) (bool, error) {
		if r.Event == nil {
			return true, nil
		}
		return true, fn(*r.Event)
	})
}

// Logs calls fn with the last n lines (0: 15, less than 0: none) of
// worker id's output (0: every worker's), then, if follow, with each new
// line until ctx ends (it returns ctx's error) or fn fails (its error). It
// needs a cluster that keeps log files ([Options.Logs]).
func (c *Client) Logs(ctx context.Context, id, n int, follow bool, fn func(logs.Line) error) error {
	return c.call(ctx, request{Cmd: "logs", ID: id, N: n, Follow: follow}, func(r response) (bool, error) {
		if r.Done {
			return false, nil
		}
		if r.Line == nil {
			return true, nil
		}
		return true, fn(*r.Line)
	})
}

// call sends req on a new connection and hands each OK answer to fn (nil:
// one answer expected), until fn returns false or an error. An error
// answer ends it with that error.
func (c *Client) call(ctx context.Context, req request, fn func(response) (bool, error)) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return &noClusterError{path: c.path, err: err}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("control: %w", ctx.Err())
		}
		return fmt.Errorf("control: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	ctxErr := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("control: %s: %w", req.Cmd, ctx.Err())
		}
		return err
	}
	b, _ := json.Marshal(req)
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return ctxErr(fmt.Errorf("control: %s: %w", req.Cmd, err))
	}
	dec := json.NewDecoder(conn)
	for {
		var r response
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the cluster closed the connection")
			}
			return ctxErr(fmt.Errorf("control: %s: %w", req.Cmd, err))
		}
		if r.Error != "" {
			return errors.New(r.Error)
		}
		if fn == nil {
			return nil
		}
		more, err := fn(r)
		if err != nil || !more {
			return err
		}
	}
}
