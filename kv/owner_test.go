package kv

import (
	"context"
	"testing"
)

// TestGetHasOwner: Get and Range show the same entry, its owner included.
func TestGetHasOwner(t *testing.T) {
	e := NewEngine(Limits{})
	res, errs := make([]Result, 1), make([]error, 1)
	e.Apply(context.Background(), []Write{{Kind: WritePut, Key: "k", Value: []byte("v"), Owner: 7}}, res, errs)
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	store := New(e)
	got, ok := store.Get("k")
	if !ok || got.Owner != 7 {
		t.Fatalf("Get: %+v %v; want owner 7", got, ok)
	}
	for _, r := range store.Range("k") {
		if r.Owner != got.Owner || r.Rev != got.Rev || r.Created != got.Created {
			t.Fatalf("Range gives %+v, Get %+v", r, got)
		}
	}
}
