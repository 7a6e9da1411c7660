package cluster

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestErrCodesRoundTrip: every error of errCodes, wrapped with details,
// still matches it after an error reply (as a plain error and as a
// RemoteError) and, for the shared-state ones, after a shared-state reply;
// the texts keep one "cluster: " prefix.
func TestErrCodesRoundTrip(t *testing.T) {
	replyCodes, stateCodes := map[byte]bool{}, map[byte]bool{}
	for _, c := range errCodes {
		if c.reply != 0 {
			if replyCodes[c.reply] || c.reply&errRemote != 0 {
				t.Errorf("reply code %d of %v: used twice or with the remote bit", c.reply, c.err)
			}
			replyCodes[c.reply] = true
			err := fmt.Errorf("%w: detail", c.err)
			got := decodeErr(encodeErr(err))
			if !errors.Is(got, c.err) || got.Error() != prefixed(err.Error()) {
				t.Errorf("%v came back as %q (%T)", err, got, got)
			}
			var re *RemoteError
			got = decodeErr(encodeErr(remoteError(err)))
			if !errors.Is(got, c.err) || !errors.As(got, &re) || re.Text != err.Error() || strings.Count(got.Error(), "cluster: ") != 1 {
				t.Errorf("a ReplyError of %v came back as %q (%T)", err, got, got)
			}
		}
		if c.state != 0 {
			if stateCodes[c.state] || c.state == codeOK || c.state == codeFailed {
				t.Errorf("state code %d of %v: used twice, or OK, or failed", c.state, c.err)
			}
			stateCodes[c.state] = true
			err := fmt.Errorf("%w: detail", c.err)
			got := codeError(replyCode(err))
			if !errors.Is(got, c.err) || strings.Count(got.Error(), "cluster: ") != 1 || !strings.HasSuffix(got.Error(), "detail") {
				t.Errorf("%v came back from a shared-state reply as %q", err, got)
			}
		}
	}
	// What peers that predate the codes send, and codes of later versions.
	var re *RemoteError
	if err := decodeErr([]byte("\x00out of cheese")); !errors.As(err, &re) || re.Text != "out of cheese" || errors.Unwrap(err) != nil {
		t.Errorf("code 0: %#v", err)
	}
	if err := decodeErr([]byte("\x7fnews")); !errors.As(err, &re) || re.Text != "news" {
		t.Errorf("an unknown code: %#v", err)
	}
	if err := decodeErr(encodeErr(errors.New("plain"))); !errors.As(err, &re) || re.Text != "plain" {
		t.Errorf("an error of no code: %#v", err)
	}
	if err := codeError(codeFailed, "backend down"); !errors.As(err, &re) || re.Text != "backend down" {
		t.Errorf("a failed shared-state reply: %#v", err)
	}
}

// TestEverySentinelHasACode: every exported Err variable of the package is
// in errCodes, so that it matches after crossing the channel.
func TestEverySentinelHasACode(t *testing.T) {
	known := map[string]bool{}
	for _, c := range errCodes {
		if c.reply != 0 {
			known[c.err.Error()] = true
		}
	}
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(node ast.Node) bool {
			vs, ok := node.(*ast.ValueSpec)
			if !ok || len(vs.Names) != 1 || len(vs.Values) != 1 || !strings.HasPrefix(vs.Names[0].Name, "Err") {
				return true
			}
			call, ok := vs.Values[0].(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok {
				return true
			}
			text, _ := strconv.Unquote(lit.Value)
			n++
			if !known[text] {
				t.Errorf("%s (%q) has no code in errCodes", vs.Names[0].Name, text)
			}
			return true
		})
	}
	if n < 20 {
		t.Fatalf("found %d sentinels: the parse missed them", n)
	}
}

// TestKeyErrorsReadOnce: the errors of writes in this process carry one
// "cluster: " prefix, the operation, the key quoted short, and match their
// sentinels.
func TestKeyErrorsReadOnce(t *testing.T) {
	ctx := context.Background()
	kv := storeHandle()
	rev, err := kv.Put(ctx, "errs/k", []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 3000) // 6000 bytes, over MaxKeySize
	m := NewMap[int]("errs/map/")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, loadErr := kv.Load(ctx, "errs/load", -1, nil)
	_, getErr := m.Get("absent")
	_, ctxErr := kv.Put(cancelled, "errs/k", []byte("2"))
	for _, c := range []struct {
		err  error
		is   error
		text string
	}{
		{first(kv.Create(ctx, "errs/k", []byte("2"))), ErrExists, fmt.Sprintf(`cluster: create "errs/k": key exists (revision %d)`, rev)},
		{first(kv.Update(ctx, "errs/k", []byte("2"), rev+100)), ErrConflict,
			fmt.Sprintf(`cluster: update "errs/k": revision conflict: key at revision %d, expected %d`, rev, rev+100)},
		{first(kv.Put(ctx, long, nil)), ErrInvalidKV,
			`cluster: put "éééééééééééééééé"…(6000 bytes): invalid key or value: key too large (6000 bytes, limit 4096)`},
		{first(kv.Put(ctx, "", nil)), ErrInvalidKV, `cluster: put "": invalid key or value: empty key`},
		{first(kv.Put(ctx, "errs/ttl", nil, WithTTL(-1))), ErrInvalidKV, `cluster: put "errs/ttl": invalid key or value: negative TTL -1ns`},
		{loadErr, ErrInvalidKV, `cluster: load "errs/load": invalid key or value: negative TTL -1ns`},
		{getErr, ErrNotFound, `cluster: get "errs/map/absent": key not found`},
		{ctxErr, context.Canceled, `cluster: put "errs/k": context canceled`},
	} {
		if !errors.Is(c.err, c.is) || c.err.Error() != c.text {
			t.Errorf("got %q, want %q matching %v", c.err, c.text, c.is)
		}
	}
	if e, _ := kv.Get("errs/k"); e.Rev != rev {
		t.Errorf("a write whose context had ended changed the key: %+v", e)
	}
}

func first(_ uint64, err error) error { return err }

func TestQuoteKey(t *testing.T) {
	for key, want := range map[string]string{
		"short":                             `"short"`,
		strings.Repeat("a", 32):             `"` + strings.Repeat("a", 32) + `"`,
		strings.Repeat("a", 33):             `"` + strings.Repeat("a", 32) + `"…(33 bytes)`,
		"a" + strings.Repeat("日", 20):       `"a` + strings.Repeat("日", 10) + `"…(61 bytes)`, // cut before a split character
		"\x00" + strings.Repeat("\xff", 40): `"\x00` + strings.Repeat(`\xff`, 31) + `"…(41 bytes)`,
	} {
		if got := quoteKey(key); got != want {
			t.Errorf("quoteKey(%d bytes) = %s, want %s", len(key), got, want)
		}
	}
}

// FuzzDecodeErr: any error reply decodes without panicking, and what it
// decodes to crosses the channel again unchanged.
func FuzzDecodeErr(f *testing.F) {
	f.Add(encodeErr(fmt.Errorf("%w: 5", ErrNoWorker)))
	f.Add(encodeErr(remoteError(fmt.Errorf("%w: x", ErrExists))))
	f.Add([]byte("\x00text"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		err := decodeErr(b)
		again := decodeErr(encodeErr(err))
		var re1, re2 *RemoteError
		if err.Error() != again.Error() || errors.As(err, &re1) != errors.As(again, &re2) {
			t.Fatalf("%q decoded to %q (%T), then to %q (%T)", b, err, err, again, again)
		}
		for _, c := range errCodes {
			if errors.Is(err, c.err) != errors.Is(again, c.err) {
				t.Fatalf("%q: %v matched %v once, not twice", b, err, c.err)
			}
		}
	})
}
