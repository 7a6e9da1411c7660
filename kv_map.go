package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gocluster/cluster/internal/state"
)

// Codec turns values of T into bytes and back, for Map.
type Codec[T any] interface {
	Encode(v T) ([]byte, error)
	Decode(b []byte) (T, error)
}

// JSONCodec is the Codec of NewMap: encoding/json.
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

// Map is a typed view of the shared state: the keys under a prefix, with
// values of type T encoded by a Codec. The seed's
// globalVal.set('greeting', 'Hi!') and get('greeting') are
//
//	greetings := cluster.NewMap[string]("globalVal/")
//	greetings.Set("greeting", "Hi!")
//	s, err := greetings.Get("greeting")
//
// and work the same in the primary and in every worker. Its methods may be
// called from any goroutine.
type Map[T any] struct {
	kv     *KV
	prefix string
	codec  Codec[T]
}

// NewMap returns the Map of the keys under prefix with JSON values. It
// calls Store, so in a worker the first call waits for the snapshot.
func NewMap[T any](prefix string) *Map[T] { return NewMapCodec[T](prefix, JSONCodec[T]{}) }

// NewMapCodec is NewMap with another Codec.
func NewMapCodec[T any](prefix string, c Codec[T]) *Map[T] {
	return &Map[T]{kv: Store(), prefix: prefix, codec: c}
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
		return zero, 0, fmt.Errorf("cluster: %q: %w", m.prefix+key, ErrNotFound)
	}
	v, err := m.codec.Decode(e.Value)
	if err != nil {
		return zero, 0, fmt.Errorf("cluster: decode %q: %w", m.prefix+key, err)
	}
	return v, e.Rev, nil
}

// Set encodes v and puts it under key; see KV.Put.
func (m *Map[T]) Set(key string, v T, opts ...WriteOption) (uint64, error) {
	b, err := m.codec.Encode(v)
	if err != nil {
		return 0, fmt.Errorf("cluster: encode %q: %w", m.prefix+key, err)
	}
	return m.kv.Put(m.prefix+key, b, opts...)
}

// Delete removes key; see KV.Delete.
func (m *Map[T]) Delete(key string) (uint64, error) { return m.kv.Delete(m.prefix + key) }

// Update sets key to fn(current value, whether it exists) with
// compare-and-set, calling fn again whenever another write came first, so
// that concurrent updates from every process all take effect (a counter
// incremented everywhere counts every increment). It returns the value
// written. An error from fn is returned as is and nothing is written.
func (m *Map[T]) Update(key string, fn func(old T, ok bool) (T, error), opts ...WriteOption) (T, error) {
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
			return zero, fmt.Errorf("cluster: encode %q: %w", m.prefix+key, err)
		}
		if exists {
			_, err = m.kv.Update(m.prefix+key, b, rev, opts...)
		} else {
			_, err = m.kv.Create(m.prefix+key, b, opts...)
		}
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, ErrConflict) && !errors.Is(err, ErrExists) {
			return zero, err
		}
	}
	return zero, fmt.Errorf("cluster: update %q: %w after %d tries", m.prefix+key, ErrConflict, maxUpdateTries)
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
		return zero, fmt.Errorf("cluster: decode %q: %w", m.prefix+key, err)
	}
	return v, nil
}

// Range calls fn with every key of the map (without the prefix) and its
// value, from this process's replica, until fn returns false. Values that
// do not decode are skipped.
func (m *Map[T]) Range(fn func(key string, v T) bool) {
	m.kv.rep.Range(m.prefix, func(e state.Entry) bool {
		v, err := m.codec.Decode(e.Value)
		if err != nil {
			return true
		}
		return fn(e.Key[len(m.prefix):], v)
	})
}
