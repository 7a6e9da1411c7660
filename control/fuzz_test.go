package control

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// FuzzReadRequest feeds the server's reading of a client's requests
// arbitrary bytes, through a small buffer and a small limit: each line
// ending in a newline comes back exactly (without it and a \r before it)
// until one over the limit, which fails with errTooLong; a last line
// without a newline is not taken (io.EOF, or errTooLong when too long). A line read as a request encodes to
// JSON that reads back as the same request.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{`{"cmd":"hello"}` + "\n" + `{"cmd":"status"}` + "\r\n",
		`{"cmd":"scale","n":4}` + "\n", `{"cmd":"send","id":2,"message":"aGk="}` + "\n",
		`{"cmd":"kv","op":"put","key":"k","value":"dg=="}` + "\n", `{"cmd":"kv","op":"watch","prefix":"a/"}` + "\n",
		`{"cmd":"logs","id":1,"n":10,"follow":true}` + "\n", "\n\n{\n", `{"cmd":"x","n":1e400}` + "\n",
		`{"cmd":"hello","message":"not base64"}` + "\n", `{"cmd":"hello"}`} {
		f.Add([]byte(s), uint8(0))
	}
	const limit = 64
	f.Fuzz(func(t *testing.T, data []byte, bufSize uint8) {
		r := bufio.NewReaderSize(bytes.NewReader(data), 16+int(bufSize%64))
		rest := data
		for {
			line, err := readLine(r, limit)
			i := bytes.IndexByte(rest, '\n')
			switch {
			case i < 0 && len(rest) > limit:
				if !errors.Is(err, errTooLong) {
					t.Fatalf("%q: %d bytes after the last newline: %q, %v; want errTooLong", data, len(rest), line, err)
				}
				return
			case i < 0:
				if err != io.EOF {
					t.Fatalf("%q: after the last newline: %q, %v; want io.EOF", data, line, err)
				}
				return
			case i+1 > limit:
				if !errors.Is(err, errTooLong) {
					t.Fatalf("%q: a line of %d bytes: %q, %v; want errTooLong", data, i+1, line, err)
				}
				return
			case err != nil:
				t.Fatalf("%q: a line of %d bytes: %v", data, i+1, err)
			}
			want := bytes.TrimSuffix(rest[:i], []byte{'\r'})
			if !bytes.Equal(line, want) {
				t.Fatalf("%q: read %q, want %q", data, line, want)
			}
			rest = rest[i+1:]
			checkRequest(t, line)
		}
	})
}

// checkRequest decodes line as the server does and, if it is a request,
// checks that its encoding reads back as itself.
func checkRequest(t *testing.T, line []byte) {
	var req request
	if json.Unmarshal(line, &req) != nil {
		return
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("%q: request %+v does not encode: %v", line, req, err)
	}
	var again request
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatalf("%q: its encoding %s does not decode: %v", line, b, err)
	}
	if b2, _ := json.Marshal(again); !bytes.Equal(b, b2) {
		t.Fatalf("%q: encodes as %s, then as %s", line, b, b2)
	}
}
