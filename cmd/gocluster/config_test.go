//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigFile: gocluster run with no program reads ./gocluster.toml;
// --env production applies the app's env_production over its env; an app
// of several is reached with --app.
func TestConfigFile(t *testing.T) {
	needProgram(t, "python3")
	app, err := filepath.Abs("testdata/hello.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	conf := `
[[app]]
name = "web"
command = ["python3", "` + app + `"]
workers = 2
listen = ["http=127.0.0.1:0"]
ready = "notify"
log_dir = "` + logs + `/web"
[app.env]
GREETING = "hi"
[app.env_production]
GREETING = "welcome"

[[app]]
name = "admin"
command = "python3 ` + app + `"
workers = 1
listen = ["127.0.0.1:0"]
log_dir = "` + logs + `/admin"
`
	if err := os.WriteFile(filepath.Join(dir, "gocluster.toml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startRunIn(t, dir, nil, "--env", "production")
	r.waitLines("ready: ", 2, 30*time.Second)
	addrs := map[string]bool{}
	for _, l := range r.waitLines("listening on ", 2, 5*time.Second) {
		addrs[listeningRE.FindStringSubmatch(l)[1]] = true
	}
	if len(addrs) != 2 {
		t.Fatalf("want 2 addresses, have %v", addrs)
	}
	greetings := map[string]bool{}
	for a := range addrs {
		body, err := get(a)
		if err != nil {
			t.Fatal(err)
		}
		greetings[strings.Fields(body)[0]] = true
	}
	if !greetings["welcome"] || !greetings["hello"] || len(greetings) != 2 {
		t.Fatalf("greetings %v: want web's env_production (welcome) and admin's default (hello)", greetings)
	}
	// With no --app, status shows every app of the file.
	if out, errOut, code := goclusterIn(t, dir, "status"); code != 0 || !strings.Contains(out, "web: primary pid") || !strings.Contains(out, "admin: primary pid") {
		t.Fatalf("status of both apps: exit %d, %s%s", code, out, errOut)
	}
	if _, errOut, code := goclusterIn(t, dir, "reload"); code != 1 || !strings.Contains(errOut, "runs 2 apps: give --app NAME (web, admin)") {
		t.Fatalf("reload without --app: exit %d, %s", code, errOut)
	}
	for app, n := range map[string]int{"web": 2, "admin": 1} {
		out, errOut, code := goclusterIn(t, dir, "status", "--app", app, "--json")
		if code != 0 || strings.Count(out, `"generation"`) != n+1 || !strings.Contains(out, `"name": "`+app+`"`) {
			t.Fatalf("status --app %s: exit %d, %s%s", app, code, out, errOut)
		}
	}
}
