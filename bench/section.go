package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"syscall"
)

// startSection returns a context that SIGINT and SIGTERM end and a new
// temporary directory named after the section; end removes the directory,
// then releases the context.
func startSection(name string) (ctx context.Context, dir string, end func(), err error) {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	dir, err = os.MkdirTemp("", "bench-"+name+"-")
	if err != nil {
		cancel()
		return nil, "", nil, err
	}
	return ctx, dir, func() {
		os.RemoveAll(dir)
		cancel()
	}, nil
}

// goBuild builds pkg (a path from the module root, say ./examples/hello)
// into dir and returns the binary's path; $GO names the go command.
func goBuild(ctx context.Context, dir, pkg string) (string, error) {
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	bin := filepath.Join(dir, path.Base(pkg))
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, pkg)
	cmd.Dir = filepath.Join(benchDir(), "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}
