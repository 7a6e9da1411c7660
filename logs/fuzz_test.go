package logs

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// FuzzSplitPrefix feeds the routing of an output line arbitrary bytes: a
// line routed to a worker is exactly "[worker N] " and the rest; any other
// is kept whole for the primary.
func FuzzSplitPrefix(f *testing.F) {
	for _, s := range []string{"[worker 1] listening on :8000", "[worker 12] ", "[worker 3]no space",
		"[worker -1] x", "[worker +1] x", "[worker 01] x", "[worker 99999999999999] x", "[worker ",
		"[worker 4294967296] x", "no prefix", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, rest := splitPrefix(b)
		if id == 0 {
			if !bytes.Equal(rest, b) {
				t.Fatalf("%q: kept for the primary as %q", b, rest)
			}
			return
		}
		if id < 0 || "[worker "+strconv.Itoa(id)+"] "+string(rest) != string(b) {
			t.Fatalf("%q: routed to worker %d as %q", b, id, rest)
		}
	})
}

// FuzzParse feeds the decoder of a log file's lines arbitrary bytes: a line
// read as a timestamped one formats back to the same bytes; any other is
// kept whole as stdout text.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2025-01-02T15:04:05.123456Z out listening on :8000",
		"2025-01-02T15:04:05.123789Z err open config.toml: no such file", "2025-01-02T15:04:05.123789Z out ",
		"2025-01-02T15:04:05.123789Z bad x", "2025-13-02T15:04:05.123789Z out x", "0001-01-01T00:00:00.000000Z out x",
		"2025-01-02T15:04:05.123Z out x", "a line of a previous format", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l := parse(7, b)
		if l.Worker != 7 {
			t.Fatalf("%q: worker %d", b, l.Worker)
		}
		if l.Text == string(b) {
			if l.Stream != Stdout || !l.Time.IsZero() {
				t.Fatalf("%q: kept whole as %+v", b, l)
			}
			return
		}
		want := string(b) + "\n"
		if got := format(nil, l.Time, l.Stream, []byte(l.Text)); string(got) != want {
			t.Fatalf("%q: read as %+v, which formats as %q", b, l, got)
		}
	})
}

// FuzzWriteTail writes a worker's line through the cluster's prefix and
// reads it back: what is written for a worker is read back, by Tail from
// its file, as the same text on the same stream (in pieces of MaxLine).
func FuzzWriteTail(f *testing.F) {
	f.Add(1, "listening on :8000", false)
	f.Add(2, "open config.toml: no such file", true)
	f.Add(3, "", false)
	f.Add(4, "\r", false)
	f.Add(5, "2025-01-02T15:04:05.123456Z out looks like a record", true)
	f.Add(6, "[worker 7] nested", false)
	f.Add(8, "\xff\x00 bytes", false)
	f.Add(0, "from the primary", false)
	d, err := Open(Config{Dir: f.TempDir(), MaxSize: 1 << 20, Keep: 1}) // one for every input
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { d.Close() })
	f.Fuzz(func(t *testing.T, id int, text string, stderr bool) {
		id = int(uint(id) % 33)              // a few files, each kept open
		text, _, _ = strings.Cut(text, "\n") // one line
		w, stream := d.Stdout(), Stdout
		if stderr {
			w, stream = d.Stderr(), Stderr
		}
		line := text
		if id > 0 {
			line = fmt.Sprintf("[worker %d] %s", id, text)
		}
		if _, err := w.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
		pieces := (len(text) + MaxLine - 1) / MaxLine
		if id == 0 {
			if wid, _ := splitPrefix([]byte(text)); wid != 0 {
				return // a worker's line after all, written by the primary
			}
		}
		got, err := d.Tail(id, max(pieces, 1))
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, l := range got {
			if l.Worker != id || l.Stream != stream || l.Time.IsZero() {
				t.Fatalf("%q: read back as %+v", line, l)
			}
			texts = append(texts, l.Text)
		}
		if strings.Join(texts, "") != text || len(got) != max(pieces, 1) {
			t.Fatalf("%q: read back as %d lines %.100q", line, len(got), texts)
		}
	})
}

// FuzzTailFile feeds the backward reader of a log file arbitrary contents:
// it returns the file's last n lines, each exactly as in the file.
func FuzzTailFile(f *testing.F) {
	f.Add([]byte("2025-01-02T15:04:05.123456Z out a\n2025-01-02T15:04:05.123457Z err b\n"), uint8(1))
	f.Add([]byte("a\n\nb"), uint8(5))
	f.Add([]byte("\n"), uint8(2))
	f.Add([]byte(""), uint8(3))
	f.Fuzz(func(t *testing.T, content []byte, n uint8) {
		got, err := tailFile(bytes.NewReader(content), int64(len(content)), int(n))
		if err != nil {
			t.Fatal(err)
		}
		var want [][]byte
		if c := bytes.TrimSuffix(content, []byte{'\n'}); len(c) > 0 && n > 0 {
			want = bytes.Split(c, []byte{'\n'})
			want = want[max(0, len(want)-int(n)):]
		}
		if len(got) != len(want) {
			t.Fatalf("%q, %d: %d lines, want %d", content, n, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%q, %d: line %d is %q, want %q", content, n, i, got[i], want[i])
			}
		}
	})
}
