package kv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestKeyErrorsReadOnce: the errors of writes carry one "kv: " prefix, the
// operation, the key quoted short, and match their sentinels.
func TestKeyErrorsReadOnce(t *testing.T) {
	ctx := context.Background()
	kv := New(NewEngine(Limits{}))
	rev, err := kv.Put(ctx, "errs/k", []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 3000) // 6000 bytes, over MaxKeySize
	m := NewMap[int](kv, "errs/map/")
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
		{first(kv.Create(ctx, "errs/k", []byte("2"))), ErrExists, fmt.Sprintf(`kv: create "errs/k": key exists (revision %d)`, rev)},
		{first(kv.Update(ctx, "errs/k", []byte("2"), rev+100)), ErrConflict,
			fmt.Sprintf(`kv: update "errs/k": revision conflict: key at revision %d, expected %d`, rev, rev+100)},
		{first(kv.Put(ctx, long, nil)), ErrInvalid,
			`kv: put "éééééééééééééééé"…(6000 bytes): invalid key or value: key too large (6000 bytes, limit 4096)`},
		{first(kv.Put(ctx, "", nil)), ErrInvalid, `kv: put "": invalid key or value: empty key`},
		{first(kv.Put(ctx, "errs/ttl", nil, WithTTL(-1))), ErrInvalid, `kv: put "errs/ttl": invalid key or value: negative TTL -1ns`},
		{first(kv.Put(ctx, "errs/big", make([]byte, MaxValueSize+1))), ErrInvalid,
			`kv: put "errs/big": invalid key or value: value of 1048577 bytes, over the limit of 1048576 (Config.MaxValueSize)`},
		{loadErr, ErrInvalid, `kv: load "errs/load": invalid key or value: negative TTL -1ns`},
		{getErr, ErrNotFound, `kv: get "errs/map/absent": key not found`},
		{ctxErr, context.Canceled, `kv: put "errs/k": context canceled`},
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

// BenchmarkPutLocal is a Put on an Engine in the process: with a
// cancellable context (what an HTTP handler passes), and without.
func BenchmarkPutLocal(b *testing.B) {
	kv := New(NewEngine(Limits{}))
	value := []byte("0123456789abcdef")
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{{"background", context.Background()}, {"cancellable", cancellable(b)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := kv.Put(c.ctx, "bench/put", value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func cancellable(b *testing.B) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	return ctx
}
