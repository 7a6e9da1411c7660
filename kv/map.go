package kv

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"strconv"
	"strings"
	"time"
)

// Codec turns values of T into bytes and back, for [Map].
type Codec[T any] interface {
	Encode(v T) ([]byte, error)
	Decode(b []byte) (T, error)
}

// JSONCodec is the [Codec] of [NewMap]: encoding/json.
type JSONCodec[T any] struct{}

// Encode returns the JSON encoding of v.
func (JSONCodec[T]) Encode(v T) ([]byte, error) { return json.Marshal(v) }

// Decode parses the JSON in b.
func (JSONCodec[T]) Decode(b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

// maxUpdateTries bounds the compare-and-set retries of Map.Update.
const maxUpdateTries = 1000

// Map is a typed view of a store: the keys under a prefix, with values of
// type T encoded by a [Codec]. The seed's globalVal.set('greeting', 'Hi!')
// and get('greeting') are
//
//	greetings := kv.NewMap[string](store, "globalVal/")
//	greetings.Set(ctx, "greeting", "Hi!")
//	s, err := greetings.Get("greeting")
//
// and work the same in the primary and in every worker. Its methods may be
// called from any goroutine; those that can wait take a context, as
// [KV]'s do.
type Map[T any] struct {
	kv     *KV
	prefix string
	codec  Codec[T]
}

// NewMap returns the Map of the keys of kv under prefix, with JSON values.
func NewMap[T any](kv *KV, prefix string) *Map[T] {
	return NewMapCodec[T](kv, prefix, JSONCodec[T]{})
}

// NewMapCodec is [NewMap] with another Codec.
func NewMapCodec[T any](kv *KV, prefix string, c Codec[T]) *Map[T] {
	return &Map[T]{kv: kv, prefix: prefix, codec: c}
}

// Get decodes the value of key from this process's replica. It fails with
// ErrNotFound if the key is absent.
func (m *Map[T]) Get(key string) (T, error) {
	v, _, err := m.get(key)
	return v, err
}

func (m *Map[T]) get(key string) (T, uint64, error) {
	var zero T
	e, ok := m.kv.Get(m.prefix + key)
	if !ok {
		return zero, 0, &keyError{op: "get", key: m.prefix + key, err: ErrNotFound}
	}
	v, err := m.codec.Decode(e.Value)
	if err != nil {
		return zero, 0, &keyError{op: "decode", key: m.prefix + key, err: err}
	}
	return v, e.Rev, nil
}

// Set encodes v and puts it under key; see [KV.Put].
func (m *Map[T]) Set(ctx context.Context, key string, v T, opts ...WriteOption) (uint64, error) {
	b, err := m.codec.Encode(v)
	if err != nil {
		return 0, &keyError{op: "encode", key: m.prefix + key, err: err}
	}
	return m.kv.Put(ctx, m.prefix+key, b, opts...)
}

// Delete removes key; see [KV.Delete].
func (m *Map[T]) Delete(ctx context.Context, key string) (uint64, error) {
	return m.kv.Delete(ctx, m.prefix+key)
}

// Update sets key to fn(current value, whether it exists) with
// compare-and-set, calling fn again whenever another write came first, so
// that concurrent updates from every process all take effect (a counter
// incremented everywhere counts every increment). It returns the value
// written. An error from fn is returned as is and nothing is written. It
// gives up when ctx ends (see KV.Put for a write under way then).
func (m *Map[T]) Update(ctx context.Context, key string, fn func(old T, ok bool) (T, error), opts ...WriteOption) (T, error) {
	var zero T
	for range maxUpdateTries {
		old, rev, err := m.get(key)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return zero, err
		}
		v, err := fn(old, exists)
		if err != nil {
			return zero, err
		}
		b, err := m.codec.Encode(v)
		if err != nil {
			return zero, &keyError{op: "encode", key: m.prefix + key, err: err}
		}
		if exists {
			_, err = m.kv.Update(ctx, m.prefix+key, b, rev, opts...)
		} else {
			_, err = m.kv.Create(ctx, m.prefix+key, b, opts...)
		}
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, ErrConflict) && !errors.Is(err, ErrExists) {
			return zero, err
		}
	}
	return zero, &keyError{op: "update", key: m.prefix + key,
		err: withDetail(ErrConflict, "another write came first "+strconv.Itoa(maxUpdateTries)+" times")}
}

// Load returns the value of key, running loader once in the whole cluster
// if it is absent; see KV.Load.
func (m *Map[T]) Load(ctx context.Context, key string, ttl time.Duration, loader func(context.Context) (T, error)) (T, error) {
	var zero T
	e, err := m.kv.Load(ctx, m.prefix+key, ttl, func(ctx context.Context) ([]byte, error) {
		v, err := loader(ctx)
		if err != nil {
			return nil, err
		}
		return m.codec.Encode(v)
	})
	if err != nil {
		return zero, err
	}
	v, err := m.codec.Decode(e.Value)
	if err != nil {
		return zero, &keyError{op: "decode", key: m.prefix + key, err: err}
	}
	return v, nil
}

// Range returns the keys of the map that start with prefix (both without
// the map's prefix; "" for every key) and their decoded values, in key
// order, from this process's replica; see [KV.Range]. Values that do not
// decode are skipped: KV.Range lists the bytes.
func (m *Map[T]) Range(prefix string) iter.Seq2[string, T] {
	return func(yield func(string, T) bool) {
		for key, e := range m.kv.Range(m.prefix + prefix) {
			v, err := m.codec.Decode(e.Value)
			if err != nil {
				continue
			}
			if !yield(strings.TrimPrefix(key, m.prefix), v) {
				return
			}
		}
	}
}
