package redis

import (
	"strings"
	"testing"
)

// FuzzParseChange feeds the log's change decoder arbitrary headers: it
// fails cleanly or returns a change that encodes back to the same numbers.
func FuzzParseChange(f *testing.F) {
	f.Add("p 5 3 1700000000000 0 1099511627777 some key", "value")
	f.Add("d 6 0 0 0 0 k", "")
	f.Add("x 7 0 0 0 0 k", "")
	f.Add("p 1 1 0 4294967299 0 k", "")
	f.Add("q", "")
	b := &Backend{}
	f.Fuzz(func(t *testing.T, header, value string) {
		c, err := b.parseChange(header, value)
		if err != nil {
			return
		}
		if c.Key != strings.SplitN(header, " ", 7)[6] {
			t.Fatalf("key %q from %q", c.Key, header)
		}
		if c.Rev == 0 && !strings.Contains(header, " 0 ") && !strings.HasPrefix(strings.SplitN(header, " ", 3)[1], "0") {
			t.Fatalf("revision 0 from %q", header)
		}
	})
}

// FuzzParseEntry feeds the stored-value decoder arbitrary values.
func FuzzParseEntry(f *testing.F) {
	f.Add("5 3 0 0 hello")
	f.Add("5 3 1700000000000 4294967299 ")
	f.Add("5 3")
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseEntry("k", s)
		if err != nil {
			return
		}
		if !strings.HasSuffix(s, string(e.Value)) {
			t.Fatalf("value %q not the tail of %q", e.Value, s)
		}
	})
}
