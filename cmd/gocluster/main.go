// Command gocluster runs any program as a cluster, like pm2 does for Node:
// N workers share the listening sockets the primary binds, restarted when
// they crash, reloaded without dropping a request, controlled and watched
// from outside.
//
//	gocluster run -n 4 -l :8080 -- ./app args...   # sockets from fd 3 (LISTEN_FDS)
//	gocluster run                                  # the apps of ./gocluster.toml
//	gocluster status [--json]                      # the workers of the cluster run from here
//	gocluster reload | scale N | stop
//	gocluster send ID|all MESSAGE
//	gocluster kv get|put|del|list|watch ...
//	gocluster logs [-f] [ID]
//	gocluster top
//
// A program gets its sockets the systemd way: LISTEN_FDS from fd 3,
// LISTEN_FDNAMES, LISTEN_PID equal to its own pid. It is ready when it
// sends READY=1 to NOTIFY_SOCKET (or process.send('ready') in Node), or
// after a delay (--ready). Its worker id is in GOCLUSTER_WORKER_ID.
//
// The other commands find the cluster started from the same directory by
// the same user through its control socket (or --socket PATH).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: gocluster COMMAND [flags] [args]

commands:
  run [flags] [-- program args...]   run a program (or the apps of gocluster.toml) as a cluster
  status [--json]                    the workers: id, pid, state, restarts, CPU, memory
  top                                a live view of the workers
  scale N                            keep N workers
  reload                             replace every worker, a few at a time, dropping no request
  stop                               stop the cluster gracefully
  send ID|all MESSAGE                send a message to a worker (or all)
  kv get|put|del|list|watch ...      the cluster's shared state
  logs [-f] [-n LINES] [ID]          the workers' output

Run 'gocluster COMMAND -h' for a command's flags.
`

// dispatch runs one command and returns the exit code.
func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case launcherCmd:
		return launch(rest)
	case execCmd:
		return execProgram(rest)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	run, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "gocluster: unknown command %q (commands: run, status, top, scale, reload, stop, send, kv, logs; gocluster help)\n", cmd)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cmd == "run" {
		stop() // run handles its signals itself
		ctx = context.Background()
	}
	err := run(ctx, rest, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, err)
		return 2
	default:
		msg := err.Error()
		if !strings.HasPrefix(msg, "gocluster") {
			msg = "gocluster: " + msg // a library's error: control: ..., cluster: ...
		}
		fmt.Fprintln(stderr, msg)
		return 1
	}
}

// synopsis is each command's usage line.
var synopsis = map[string]string{
	"gocluster run":    "gocluster run [flags] [-- program args...]   (no program: the apps of ./gocluster.toml)",
	"gocluster status": "gocluster status [--json] [--socket PATH] [--app NAME]",
	"gocluster top":    "gocluster top [--no-color] [--socket PATH] [--app NAME]",
	"gocluster scale":  "gocluster scale N [--socket PATH] [--app NAME]",
	"gocluster reload": "gocluster reload [--socket PATH] [--app NAME]",
	"gocluster stop":   "gocluster stop [--socket PATH] [--app NAME]",
	"gocluster send":   "gocluster send ID|all MESSAGE [--socket PATH] [--app NAME]",
	"gocluster kv":     "gocluster kv [--json] get KEY | put KEY VALUE | del KEY | list [PREFIX] | watch [PREFIX]",
	"gocluster logs":   "gocluster logs [-f] [-n LINES] [ID] [--socket PATH] [--app NAME]",
}

// errUsage marks an error in how a command was called (exit code 2).
var errUsage = errors.New("usage")

// usageErr is a one-line message about the command line.
func usageErr(format string, a ...any) error {
	return &usageError{fmt.Sprintf(format, a...)}
}

type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == errUsage }

// commands are the subcommands but the hidden ones.
var commands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"run":    cmdRun,
	"status": cmdStatus,
	"top":    cmdTop,
	"scale":  cmdScale,
	"reload": cmdReload,
	"stop":   cmdStop,
	"send":   cmdSend,
	"kv":     cmdKV,
	"logs":   cmdLogs,
}

// newFlags is a flag set whose errors are one line (see parseFlags).
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("gocluster "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args, flags before and between the other arguments
// (gocluster scale 3 --socket s) up to "--"; -h prints the flags to stdout
// and returns flag.ErrHelp, a bad flag a one-line usage error.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	var rest []string
	err := fs.Parse(args)
	// run's flags end at its program, whose own flags follow it.
	for err == nil && fs.NArg() > 0 && fs.Name() != "gocluster run" {
		if i := len(args) - fs.NArg() - 1; i >= 0 && args[i] == "--" { // the rest is arguments only
			rest = append(rest, fs.Args()...)
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
		err = fs.Parse(args)
	}
	if err == nil && fs.Name() != "gocluster run" {
		fs.Parse(append([]string{"--"}, rest...)) // fs.Args() is now rest
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "usage: %s\n\nflags:\n", synopsis[fs.Name()])
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return err
	}
	if err != nil {
		return usageErr("%s: %v (see %s -h)", fs.Name(), err, fs.Name())
	}
	return nil
}
