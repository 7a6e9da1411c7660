package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// cmdRun is gocluster run: the program after "--", or the apps of the
// config file.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run")
	var listen, env listFlag
	n := fs.Int("n", 0, "workers (0: one per CPU)")
	fs.Var(&listen, "l", "listen on `[name=]address` (:8080, 127.0.0.1:8080, unix:/run/app.sock); repeatable")
	fs.Var(&env, "e", "add `KEY=value` to the program's environment; repeatable")
	name := fs.String("name", "", "the app's name (default: the program's)")
	ready := fs.String("ready", "1s", "when a worker is ready: notify (it sends READY=1) or a delay")
	dir := fs.String("cwd", "", "the program's working directory")
	maxMem := fs.String("max-memory", "", "recycle a worker over this memory (300MiB)")
	drain := fs.Duration("drain-timeout", 10*time.Second, "how long a worker may drain after the stop signal before SIGTERM, then SIGKILL")
	stopSig := fs.String("stop-signal", "TERM", "the signal that asks the program to drain")
	kill := fs.Duration("kill-timeout", 5*time.Second, "how long a worker still running after the drain timeout has after SIGTERM, before SIGKILL")
	maxRestarts := fs.Int("max-restarts", 5, "deaths of one worker within --restart-window that make a crash loop (restarts then wait up to 30s)")
	restartWindow := fs.Duration("restart-window", time.Minute, "the window of --max-restarts")
	readyTimeout := fs.Duration("ready-timeout", time.Minute, "a worker not ready this long after its start is killed (and replaced, or the reload aborted)")
	logDir := fs.String("log-dir", "", "the directory of the workers' log files (default: a directory per app in the user's state directory)")
	logSize := fs.String("log-size", "10MiB", "rotate a worker's log file past this size")
	logKeep := fs.Int("log-keep", 3, "rotated files kept per worker")
	metrics := fs.String("metrics", "", "serve Prometheus metrics on `address` (:9100)")
	socket := fs.String("socket", "", "the control socket (default: one per directory and user)")
	config := fs.String("config", "", "the config file (default ./gocluster.toml when no program is given)")
	envName := fs.String("env", "", "the environment of the config file to apply (its env_NAME)")
	app := fs.String("app", "", "run only this app of the config file")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	prog := fs.Args()
	if i := len(args) - len(prog) - 1; len(prog) > 0 && (i < 0 || args[i] != "--") && strings.HasPrefix(prog[0], "-") {
		return usageErr("gocluster run: put the program after --: gocluster run -n 2 -l :8080 -- ./app")
	}
	if len(prog) == 0 {
		file := *config
		if file == "" {
			file = defaultConfig
		}
		apps, err := loadConfig(file, *envName)
		if err != nil {
			return err
		}
		if *app != "" {
			if apps, err = pickApp(apps, *app, file); err != nil {
				return err
			}
		}
		if len(apps) > 1 {
			return runApps(ctx, apps, file, *envName, stderr)
		}
		return runApp(ctx, apps[0], runOptions{Socket: *socket, App: os.Getenv(envPerApp) == "1"}, stderr)
	}
	if *config != "" || *envName != "" || *app != "" {
		return usageErr("gocluster run: --config, --env and --app are for the config file: give either them or a program")
	}
	spec := appSpec{Name: *name, Command: prog, Workers: *n, Dir: *dir, Env: env, DrainTimeout: *drain, KillTimeout: *kill, ReadyTimeout: *readyTimeout,
		MaxRestarts: *maxRestarts, RestartWindow: *restartWindow,
		StopSignal: *stopSig, LogDir: *logDir, LogKeep: *logKeep, Metrics: *metrics}
	var err error
	if spec.Ready, err = parseReady(*ready); err != nil {
		return err
	}
	if *maxMem != "" {
		if spec.MaxMemory, err = parseSize(*maxMem); err != nil {
			return err
		}
	}
	if spec.LogSize, err = parseSize(*logSize); err != nil {
		return err
	}
	for _, l := range listen {
		ls, err := parseListen(l)
		if err != nil {
			return err
		}
		spec.Listen = append(spec.Listen, ls)
	}
	if err := spec.check(); err != nil {
		return err
	}
	return runApp(ctx, spec, runOptions{Socket: *socket}, stderr)
}

// check says what to change in a spec, in one line.
func (s *appSpec) check() error {
	if len(s.Command) == 0 {
		return fmt.Errorf("gocluster: app %q: no command", s.Name)
	}
	if s.Name == "" {
		s.Name = baseName(s.Command[0])
	}
	if s.DrainTimeout <= 0 || s.KillTimeout <= 0 || s.ReadyTimeout <= 0 {
		return fmt.Errorf("gocluster: app %q: drain, kill and ready timeouts must be above 0", s.Name)
	}
	if s.MaxRestarts < 1 || s.RestartWindow <= 0 {
		return fmt.Errorf("gocluster: app %q: max restarts and restart window must be above 0", s.Name)
	}
	if s.Workers < 0 {
		return fmt.Errorf("gocluster: app %q: workers %d: give 0 (one per CPU) or more", s.Name, s.Workers)
	}
	if _, err := parseSignal(s.StopSignal); err != nil {
		return err
	}
	for _, kv := range s.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("gocluster: app %q: env %q: give KEY=value", s.Name, kv)
		}
	}
	if s.Dir != "" {
		if fi, err := os.Stat(s.Dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("gocluster: app %q: working directory %q does not exist", s.Name, s.Dir)
		}
	}
	return checkProgram(s.Command[0], s.Dir)
}

func baseName(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		path = path[i+1:]
	}
	return path
}
