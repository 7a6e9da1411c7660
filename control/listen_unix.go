//go:build unix

package control

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gocluster/cluster"
)

// Listen binds the control socket of p at opts.Path (default:
// [DefaultPath] of the working directory), mode 0600, in a directory it
// creates with mode 0700 if needed. It refuses a directory or a file that
// belongs to another user, or a directory others may write to, saying what
// to change. A socket left by a cluster that is gone (nothing answers) is
// replaced; one where a cluster answers is an error naming its pid.
func Listen(p *cluster.Primary, opts Options) (*Server, error) {
	if p == nil {
		return nil, errors.New("control: Listen needs a Primary")
	}
	path := opts.Path
	if path == "" {
		var err error
		if path, err = DefaultPath("."); err != nil {
			return nil, err
		}
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if len(path) >= 104 { // sun_path: 108 bytes on Linux, 104 on macOS and the BSDs
		return nil, fmt.Errorf("control: socket path %s is too long (%d bytes; at most 103): give a shorter one", path, len(path))
	}
	if err := prepareDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("control: a cluster already runs at %s (it started just now)", path)
		}
		return nil, fmt.Errorf("control: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	mode := opts.socketMode
	if mode == 0 {
		mode = 0o600
	}
	sock, err := os.Lstat(path)
	if err == nil {
		err = os.Chmod(path, mode)
	}
	if err != nil {
		ln.Close()
		os.Remove(path)
		return nil, fmt.Errorf("control: %w", err)
	}
	wd, _ := os.Getwd()
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Server{p: p, opts: opts, log: log, ln: ln, path: path, sock: sock, dir: wd,
		started: time.Now(), conns: map[net.Conn]struct{}{}, state: clusterState{want: -1}}, nil
}

// prepareDir creates dir (mode 0700) if it does not exist, and checks that
// it is this user's and that no one else may write to it.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("control: %s is not a directory: give a --socket elsewhere", dir)
	}
	if uid := ownerOf(st); uid != os.Getuid() {
		return fmt.Errorf("control: directory %s belongs to uid %d, not to you (uid %d): remove it, or give a --socket in a directory of yours", dir, uid, os.Getuid())
	}
	if m := st.Mode(); m.Perm()&0o022 != 0 {
		return fmt.Errorf("control: directory %s is writable by others (mode %04o): chmod go-w %s, or give a --socket in a directory only you can write to", dir, m.Perm(), dir)
	}
	return nil
}

// clearStale removes a socket at path that nothing answers on, and fails
// if a cluster answers there or path is not this user's socket.
func clearStale(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if st.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("control: %s exists and is not a socket: remove it, or give another --socket", path)
	}
	if uid := ownerOf(st); uid != os.Getuid() {
		return fmt.Errorf("control: socket %s belongs to uid %d, not to you (uid %d): remove it, or give another --socket", path, uid, os.Getuid())
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if errors.Is(err, syscall.ECONNREFUSED) {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("control: remove the stale socket: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("control: %s: %w", path, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	var resp response
	if _, err := c.Write([]byte(`{"cmd":"hello"}` + "\n")); err == nil {
		line, err := bufio.NewReader(c).ReadBytes('\n')
		if err == nil {
			json.Unmarshal(line, &resp)
		}
	}
	if resp.OK && resp.PID > 0 {
		return fmt.Errorf("control: a cluster already runs at %s (pid %d)", path, resp.PID)
	}
	return fmt.Errorf("control: something already listens at %s: stop it, or give another --socket", path)
}

// ownerOf returns the uid that owns a file.
func ownerOf(st os.FileInfo) int {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(sys.Uid)
	}
	return -1
}
