package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// runApps runs each app of a config file as its own primary (a child
// gocluster run --app NAME), passes signals on, and waits for all of them.
// One that fails to start stops the others.
func runApps(ctx context.Context, apps []appSpec, file, envName string, stderr io.Writer) error {
	if os.Getenv("NOTIFY_SOCKET") != "" || os.Getenv("LISTEN_FDS") != "" {
		return fmt.Errorf("gocluster: %s has %d apps: under systemd run one unit per app (gocluster run --app NAME)", file, len(apps))
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("gocluster: find this program: %w", err)
	}
	var cmds []*exec.Cmd
	for _, a := range apps {
		args := []string{"run", "--config", file, "--app", a.Name}
		if envName != "" {
			args = append(args, "--env", envName)
		}
		cmd := exec.Command(self, args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, stderr
		cmd.Env = append(os.Environ(), envPerApp+"=1")
		if err := cmd.Start(); err != nil {
			signalAll(cmds, syscall.SIGTERM)
			waitAll(cmds)
			return fmt.Errorf("gocluster: start app %q: %w", a.Name, err)
		}
		cmds = append(cmds, cmd)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	done := make(chan error, len(cmds))
	for _, c := range cmds {
		go func() { done <- c.Wait() }()
	}
	var first error
	cancelled := ctx.Done()
	for remaining := len(cmds); remaining > 0; {
		select {
		case <-cancelled:
			cancelled = nil
			signalAll(cmds, syscall.SIGTERM)
		case s := <-sigs: // SIGHUP reloads each app, SIGINT and SIGTERM stop them
			signalAll(cmds, s.(syscall.Signal))
		case err := <-done:
			remaining--
			if err != nil && first == nil {
				first = fmt.Errorf("gocluster: an app ended: %w", err)
				signalAll(cmds, syscall.SIGTERM)
			}
		}
	}
	return first
}

func signalAll(cmds []*exec.Cmd, s syscall.Signal) {
	for _, c := range cmds {
		c.Process.Signal(s) // fails harmlessly for one that ended
	}
}

func waitAll(cmds []*exec.Cmd) {
	for _, c := range cmds {
		c.Wait()
	}
}
