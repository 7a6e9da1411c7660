package main

import (
	"os"
	"path/filepath"

	"github.com/gocluster/cluster/control"
)

// socketPath is the control socket: the one given, or the default for this
// directory (and app, when the config file has several).
func socketPath(given, app string, perApp bool) (string, error) {
	if given != "" {
		// Absolute: the launchers run in the program's directory.
		return filepath.Abs(given)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	if perApp {
		dir = filepath.Join(dir, "@"+app)
	}
	return control.DefaultPath(dir)
}

// logDirFor is where an app's log files go: the one it names, or a
// directory beside its control socket's name in the user's state directory.
func logDirFor(spec appSpec, socket string) (string, error) {
	if spec.LogDir != "" {
		return spec.LogDir, nil
	}
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return filepath.Join(os.TempDir(), "gocluster-logs", filepath.Base(socket)), nil
		}
		base = filepath.Join(home, ".local", "state")
	}
	name := filepath.Base(socket)
	return filepath.Join(base, "gocluster", name[:len(name)-len(filepath.Ext(name))]), nil
}
