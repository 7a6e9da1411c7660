package cluster

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gocluster/cluster/internal/wire"
	"github.com/gocluster/cluster/kv"
)

// TestErrCodesRoundTrip: every error of errCodes, wrapped with details,
// still matches it after an error reply (as a plain error and as a
// RemoteError); the texts keep one package prefix, the sentinel's.
func TestErrCodesRoundTrip(t *testing.T) {
	codes := map[wire.Code]bool{}
	for _, c := range errCodes {
		if codes[c.code] || c.code == wire.CodeNone || c.code&wire.CodeRemote != 0 {
			t.Errorf("code %d of %v: none, used twice or with the remote bit", c.code, c.err)
		}
		codes[c.code] = true
		err := fmt.Errorf("%w: detail", c.err)
		got := decodeErr(encodeErr(err))
		if want := prefixOf(c.err) + unprefixed(err.Error()); !errors.Is(got, c.err) || got.Error() != want {
			t.Errorf("%v came back as %q (%T), want %q", err, got, got, want)
		}
		var re *RemoteError
		got = decodeErr(encodeErr(remoteError(err)))
		if !errors.Is(got, c.err) || !errors.As(got, &re) || re.Text != err.Error() || strings.Count(got.Error(), ": remote error: ") != 1 {
			t.Errorf("a ReplyError of %v came back as %q (%T)", err, got, got)
		}
	}
	if p := prefixOf(kv.ErrExists); p != "kv: " {
		t.Errorf("the prefix of a kv error is %q", p)
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
}

// TestEverySentinelHasACode: every exported Err variable of the package
// and of package kv is in errCodes, so that it matches after crossing the channel.
func TestEverySentinelHasACode(t *testing.T) {
	known := map[string]bool{}
	for _, c := range errCodes {
		known[c.err.Error()] = true
	}
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	kvNames, err := filepath.Glob("kv/*.go")
	if err != nil {
		t.Fatal(err)
	}
	names = append(names, kvNames...)
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

// FuzzDecodeErr: any error reply decodes without panicking, and what it
// decodes to crosses the channel again unchanged.
func FuzzDecodeErr(f *testing.F) {
	f.Add(encodeErr(fmt.Errorf("%w: 5", ErrNoWorker)))
	f.Add(encodeErr(remoteError(fmt.Errorf("%w: x", kv.ErrExists))))
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
