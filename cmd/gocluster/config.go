package main

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// defaultConfig is the file gocluster run reads when given no program.
const defaultConfig = "gocluster.toml"

// configApp is one [[app]] of the config file (pm2's ecosystem file):
//
//	[[app]]
//	name = "web"
//	command = ["node", "server.js"]
//	workers = 4
//	listen = ["http=:8080"]
//	ready = "notify"
//	[app.env]
//	NODE_ENV = "development"
//	[app.env_production]
//	NODE_ENV = "production"
type configApp struct {
	Name         string            `toml:"name"`
	Command      []string          `toml:"command"`
	Workers      int               `toml:"workers"`
	Listen       []string          `toml:"listen"`
	Ready        string            `toml:"ready"`
	Cwd          string            `toml:"cwd"`
	Env          map[string]string `toml:"env"`
	MaxMemory    string            `toml:"max_memory"`
	DrainTimeout string            `toml:"drain_timeout"`
	KillTimeout  string            `toml:"kill_timeout"`
	ReadyTimeout string            `toml:"ready_timeout"`
	MaxRestarts  int               `toml:"max_restarts"`
	RestartWin   string            `toml:"restart_window"`
	StopSignal   string            `toml:"stop_signal"`
	LogDir       string            `toml:"log_dir"`
	LogSize      string            `toml:"log_size"`
	LogKeep      int               `toml:"log_keep"`
	Metrics      string            `toml:"metrics"`
}

// knownKeys are the keys of an app, for the "did you mean" of a typo.
var knownKeys = []string{"name", "command", "workers", "listen", "ready", "cwd", "env", "max_memory",
	"drain_timeout", "kill_timeout", "ready_timeout", "max_restarts", "restart_window", "stop_signal", "log_dir", "log_size", "log_keep", "metrics"}

// loadConfig reads the apps of file with the overrides of env_<envName>.
func loadConfig(file, envName string) ([]appSpec, error) {
	var doc struct {
		App []map[string]toml.Primitive `toml:"app"`
	}
	md, err := toml.DecodeFile(file, &doc)
	if errors.Is(err, fs.ErrNotExist) {
		if file == defaultConfig {
			return nil, usageErr("gocluster run: no program and no %s here: gocluster run -n 2 -l :8080 -- ./app, or write %s", defaultConfig, defaultConfig)
		}
		return nil, fmt.Errorf("gocluster: config %s: no such file", file)
	}
	if err != nil {
		return nil, fmt.Errorf("gocluster: config %s: %w", file, err) // toml's message names the line
	}
	for _, k := range md.Undecoded() {
		if len(k) == 1 {
			return nil, fmt.Errorf("gocluster: config %s: unknown table %q: apps go in [[app]]", file, k[0])
		}
	}
	if len(doc.App) == 0 {
		return nil, fmt.Errorf("gocluster: config %s: no [[app]]", file)
	}
	var specs []appSpec
	seen := map[string]bool{}
	for i, raw := range doc.App {
		spec, err := decodeApp(md, raw, envName)
		if err != nil {
			app := fmt.Sprintf("app %d", i+1)
			var name string
			if p, ok := raw["name"]; ok && md.PrimitiveDecode(p, &name) == nil && name != "" {
				app = fmt.Sprintf("app %q", name)
			}
			return nil, fmt.Errorf("gocluster: config %s: %s: %w", file, app, unprefixed{err})
		}
		if seen[spec.Name] {
			return nil, fmt.Errorf("gocluster: config %s: two apps are named %q: give each its own name", file, spec.Name)
		}
		seen[spec.Name] = true
		specs = append(specs, spec)
	}
	if envName != "" && !usesEnv(doc.App, envName) {
		return nil, fmt.Errorf("gocluster: config %s: no app has env_%s (for --env %s)", file, envName, envName)
	}
	return specs, nil
}

func usesEnv(apps []map[string]toml.Primitive, envName string) bool {
	for _, a := range apps {
		if _, ok := a["env_"+envName]; ok {
			return true
		}
	}
	return false
}

// unprefixed drops the "gocluster: " of a message that goes after another.
type unprefixed struct{ error }

func (u unprefixed) Error() string { return strings.TrimPrefix(u.error.Error(), "gocluster: ") }
func (u unprefixed) Unwrap() error { return u.error }

// decodeApp turns one app table into a spec; its errors lack the prefix.
func decodeApp(md toml.MetaData, raw map[string]toml.Primitive, envName string) (appSpec, error) {
	var a configApp
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	overrides := map[string]string{}
	for _, k := range keys {
		if name, ok := strings.CutPrefix(k, "env_"); ok {
			if name == envName {
				if err := md.PrimitiveDecode(raw[k], &overrides); err != nil {
					return appSpec{}, fmt.Errorf("%s: %w", k, err)
				}
			}
			continue
		}
		if !contains(knownKeys, k) {
			if near := closest(k, knownKeys); near != "" {
				return appSpec{}, fmt.Errorf("unknown key %q: did you mean %q?", k, near)
			}
			return appSpec{}, fmt.Errorf("unknown key %q (keys: %s)", k, strings.Join(knownKeys, ", "))
		}
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "env_") {
			continue
		}
		if err := decodeField(md, k, raw[k], &a); err != nil {
			return appSpec{}, fmt.Errorf("%s: %w", k, err)
		}
	}
	spec := appSpec{Name: a.Name, Command: a.Command, Workers: a.Workers, Dir: a.Cwd, StopSignal: cmpStr(a.StopSignal, "TERM"),
		LogDir: a.LogDir, LogKeep: a.LogKeep, Metrics: a.Metrics, DrainTimeout: 10 * time.Second, KillTimeout: 5 * time.Second,
		ReadyTimeout: time.Minute, MaxRestarts: 5, RestartWindow: time.Minute}
	if spec.LogKeep == 0 {
		spec.LogKeep = 3
	}
	env := map[string]string{}
	for k, v := range a.Env {
		env[k] = v
	}
	for k, v := range overrides {
		env[k] = v
	}
	for _, k := range sortedKeys(env) {
		spec.Env = append(spec.Env, k+"="+env[k])
	}
	var err error
	if spec.Ready, err = parseReady(cmpStr(a.Ready, "1s")); err != nil {
		return spec, err
	}
	if a.MaxMemory != "" {
		if spec.MaxMemory, err = parseSize(a.MaxMemory); err != nil {
			return spec, err
		}
	}
	if spec.LogSize, err = parseSize(cmpStr(a.LogSize, "10MiB")); err != nil {
		return spec, err
	}
	for _, d := range []struct {
		key, text string
		to        *time.Duration
	}{{"drain_timeout", a.DrainTimeout, &spec.DrainTimeout}, {"kill_timeout", a.KillTimeout, &spec.KillTimeout},
		{"ready_timeout", a.ReadyTimeout, &spec.ReadyTimeout}, {"restart_window", a.RestartWin, &spec.RestartWindow}} {
		if d.text == "" {
			continue
		}
		if *d.to, err = time.ParseDuration(d.text); err != nil {
			return spec, fmt.Errorf("%s %q: give a duration such as 10s", d.key, d.text)
		}
	}
	if a.MaxRestarts != 0 {
		spec.MaxRestarts = a.MaxRestarts
	}
	for _, l := range a.Listen {
		ls, err := parseListen(l)
		if err != nil {
			return spec, err
		}
		spec.Listen = append(spec.Listen, ls)
	}
	if len(spec.Command) == 0 {
		return spec, errors.New(`no command: command = ["./app", "arg"]`)
	}
	return spec, spec.check()
}

// decodeField decodes one key into a, so that a type error names its key.
func decodeField(md toml.MetaData, key string, p toml.Primitive, a *configApp) error {
	targets := map[string]any{"name": &a.Name, "command": &a.Command, "workers": &a.Workers, "listen": &a.Listen,
		"ready": &a.Ready, "cwd": &a.Cwd, "env": &a.Env, "max_memory": &a.MaxMemory, "drain_timeout": &a.DrainTimeout,
		"kill_timeout": &a.KillTimeout, "ready_timeout": &a.ReadyTimeout, "max_restarts": &a.MaxRestarts, "restart_window": &a.RestartWin,
		"stop_signal": &a.StopSignal, "log_dir": &a.LogDir, "log_size": &a.LogSize, "log_keep": &a.LogKeep, "metrics": &a.Metrics}
	if key == "command" {
		var s string
		if md.PrimitiveDecode(p, &s) == nil {
			a.Command = strings.Fields(s)
			return nil
		}
	}
	return md.PrimitiveDecode(p, targets[key])
}

// pickApp keeps the app named name.
func pickApp(apps []appSpec, name, file string) ([]appSpec, error) {
	var names []string
	for _, a := range apps {
		if a.Name == name {
			return []appSpec{a}, nil
		}
		names = append(names, a.Name)
	}
	return nil, fmt.Errorf("gocluster: config %s has no app %q (apps: %s)", file, name, strings.Join(names, ", "))
}

func cmpStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// closest is the known key within two edits of k, if any.
func closest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := editDistance(k, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
