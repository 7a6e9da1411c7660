// Package logs keeps the output of a cluster's workers in one file per
// worker, rotated by size, for the control socket's logs command (package
// control) and the gocluster CLI.
//
// A primary started with [cluster.Settings.Silent] writes each line its
// workers print, in one Write call, prefixed with "[worker N] ", to
// [cluster.Config.Stdout] and [cluster.Config.Stderr]. Give it [Dir.Stdout]
// and [Dir.Stderr] there:
//
//	d, err := logs.Open(logs.Config{Dir: "logs", Echo: os.Stdout})
//	...
//	p, err := cluster.New(cluster.Config{
//		Settings: cluster.Settings{Silent: true},
//		Stdout:   d.Stdout(),
//		Stderr:   d.Stderr(),
//	})
//
// Each line goes, without its prefix, after a timestamp and a stream
// marker, to <Dir>/worker-N.log ([Dir.Path]); a line without the prefix
// goes to primary.log. A file that would pass [Config.MaxSize] is rotated
// to worker-N.log.1 (.1 to .2, and so on, up to [Config.Keep]) first. On
// disk a line reads
//
//	2025-01-02T15:04:05.123456Z out listening on :8000
//	2025-01-02T15:04:05.123789Z err open config.toml: no such file
//
// (times in UTC). [Dir.Tail] reads the last lines back, [Dir.Follow] follows
// them as they are written. Worker ids start again from 1 when a primary
// starts again, so a new worker 1 appends to the worker-1.log of the
// previous run, as pm2 does with its apps.
//
// [cluster.Settings.Silent]: https://pkg.go.dev/github.com/gocluster/cluster#Settings
// [cluster.Config.Stdout]: https://pkg.go.dev/github.com/gocluster/cluster#Config
// [cluster.Config.Stderr]: https://pkg.go.dev/github.com/gocluster/cluster#Config
package logs
