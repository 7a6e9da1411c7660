//go:build unix

package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// FuzzReadLine feeds the program's message channel arbitrary bytes through
// a small buffer and a small limit: each line ending in a newline comes
// back exactly, without it, or as nil when it is over the limit (dropped);
// a last line without a newline is not taken.
func FuzzReadLine(f *testing.F) {
	for _, s := range []string{`"ready"` + "\n" + `{"cmd":"NODE_CLUSTER"}` + "\n" + `{"hits":1}` + "\n",
		`"x"` + "\r\n\n", "\n\n", `{"partial":`, string(bytes.Repeat([]byte("a"), 100)) + "\n" + `"after"` + "\n"} {
		f.Add([]byte(s), uint8(0))
	}
	const limit = 64
	f.Fuzz(func(t *testing.T, data []byte, bufSize uint8) {
		r := bufio.NewReaderSize(bytes.NewReader(data), 16+int(bufSize%64))
		rest := data
		for {
			line, err := readLine(r, limit)
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				if err == nil {
					t.Fatalf("%q: after the last newline: %q", data, line)
				}
				return
			}
			if err != nil {
				t.Fatalf("%q: a line of %d bytes: %v", data, i+1, err)
			}
			switch {
			case i+1 > limit && line != nil:
				t.Fatalf("%q: a line of %d bytes over %d read as %q", data, i+1, limit, line)
			case i+1 <= limit && (line == nil || !bytes.Equal(line, rest[:i])):
				t.Fatalf("%q: read %q, want %q", data, line, rest[:i])
			}
			rest = rest[i+1:]
		}
	})
}

// FuzzParseListen: an address taken names a tcp or unix socket that
// parses back, from its String and name, to itself.
func FuzzParseListen(f *testing.F) {
	for _, s := range []string{":8080", "127.0.0.1:8080", "unix:/run/app.sock", "web=:8080", "http=127.0.0.1:0",
		"=:80", "a:b=:80", "unix:", "8080", "[::1]:80", "x=unix:rel.sock"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseListen(s)
		if err != nil {
			return
		}
		if (l.Network != "tcp" && l.Network != "unix") || l.Address == "" || l.Name == "" {
			t.Fatalf("%q: %+v", s, l)
		}
		again, err := parseListen(l.Name + "=" + l.String())
		if err != nil || again != l {
			t.Fatalf("%q: %+v, then %+v, %v", s, l, again, err)
		}
	})
}

// FuzzParseSize: a size taken is at most 2^62 bytes and reads back, as a
// plain number of bytes, as itself.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"300MiB", "1GB", "512M", "1048576", " 2 KiB ", "-1", "1.5G", "0x10", "+5", "4611686018427387904",
		"4294967296GiB", "B", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		if n < 0 || n > 1<<62 {
			t.Fatalf("%q: %d bytes", s, n)
		}
		if again, err := parseSize(strconv.FormatInt(n, 10)); err != nil || again != n {
			t.Fatalf("%q: %d, then %d, %v", s, n, again, err)
		}
	})
}

// FuzzParseReady: a ready setting taken reads back, from its String, as
// itself.
func FuzzParseReady(f *testing.F) {
	for _, s := range []string{"notify", "1s", "0", "1h2m3.5s", "-1s", "300ms", "1.5µs", "9223372036854775807ns", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseReady(s)
		if err != nil {
			return
		}
		if r.Delay < 0 || (r.Notify && r.Delay != 0) {
			t.Fatalf("%q: %+v", s, r)
		}
		if again, err := parseReady(r.String()); err != nil || again != r {
			t.Fatalf("%q: %+v, then %+v, %v", s, r, again, err)
		}
	})
}

// FuzzLoadConfig feeds the config file's reader arbitrary TOML: it fails
// with a message, or returns apps that each have a unique name, a command
// and settings that hold.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{`
[[app]]
name = "web"
command = ["/bin/sh", "-c", "exec sleep 1"]
workers = 4
listen = ["http=:8080", "unix:/tmp/app.sock"]
ready = "notify"
max_memory = "300MiB"
drain_timeout = "5s"
stop_signal = "INT"
log_size = "1MiB"
log_keep = 2
[app.env]
NODE_ENV = "development"
[app.env_production]
NODE_ENV = "production"

[[app]]
command = "/bin/sh -c true"
`, "[[app]]\nname = \"a\"\ncommand = \"/bin/sh\"\n[[app]]\nname = \"a\"\ncommand = \"/bin/sh\"\n",
		"[[app]]\ncomand = \"x\"\n", "[web]\n", "", "[[app]]\nworkers = -1\ncommand = \"/bin/sh\"\n",
		"[[app]]\ncommand = []\n", "[[app]]\ncommand = \"/bin/sh\"\nenv = {\"\" = \"x\"}\n", "a = \"\\uD800\"\n"} {
		f.Add(s, "")
		f.Add(s, "production")
	}
	path := filepath.Join(f.TempDir(), "gocluster.toml")
	f.Fuzz(func(t *testing.T, conf, env string) {
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		specs, err := loadConfig(path, env)
		if err != nil {
			if specs != nil {
				t.Fatalf("%q: apps and an error: %v", conf, err)
			}
			return
		}
		if len(specs) == 0 {
			t.Fatalf("%q: no app and no error", conf)
		}
		names := map[string]bool{}
		for _, s := range specs {
			if s.Name == "" || names[s.Name] || len(s.Command) == 0 || s.Workers < 0 || s.MaxMemory < 0 ||
				s.LogSize < 0 || s.DrainTimeout <= 0 || s.Ready.Delay < 0 {
				t.Fatalf("%q: app %+v", conf, s)
			}
			names[s.Name] = true
			for _, l := range s.Listen {
				if again, err := parseListen(l.Name + "=" + l.String()); err != nil || again != l {
					t.Fatalf("%q: listen %+v reads back as %+v, %v", conf, l, again, err)
				}
			}
		}
	})
}
