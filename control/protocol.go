package control

import (
	"bufio"
	"bytes"
	"errors"
	"time"

	"github.com/gocluster/cluster/kv"
	"github.com/gocluster/cluster/logs"
)

// maxRequest is the longest request line the server reads: a value of 16
// MiB (the largest Config.MaxMessageSize allows), base64-encoded, with
// room to spare.
const maxRequest = 24 << 20

// writeTimeout bounds each response line's write: a client that stops
// reading loses its connection.
const writeTimeout = 10 * time.Second

// request is one line a client sends. Cmd says which command; the other
// fields are its arguments.
type request struct {
	Cmd     string `json:"cmd"`
	N       int    `json:"n,omitempty"`       // scale: workers; logs: lines of tail
	ID      int    `json:"id,omitempty"`      // send, logs: worker (0: all)
	Message []byte `json:"message,omitempty"` // send
	Op      string `json:"op,omitempty"`      // kv: get, put, del, list, watch
	Key     string `json:"key,omitempty"`     // kv get, put, del
	Value   []byte `json:"value,omitempty"`   // kv put
	Prefix  string `json:"prefix,omitempty"`  // kv list, watch
	Follow  bool   `json:"follow,omitempty"`  // logs
}

// response is one line the server sends: OK with what the command
// answers, or Error. Streaming commands send one line per item and, when
// they end on their own, a last line with Done.
type response struct {
	OK     bool        `json:"ok,omitempty"`
	Error  string      `json:"error,omitempty"`
	PID    int         `json:"pid,omitempty"`  // hello
	Name   string      `json:"name,omitempty"` // hello
	Status *Status     `json:"status,omitempty"`
	Rev    uint64      `json:"rev,omitempty"`   // kv put, del
	Found  bool        `json:"found,omitempty"` // kv get
	Entry  *Entry      `json:"entry,omitempty"` // kv get, list
	Event  *WatchEvent `json:"event,omitempty"` // kv watch
	Line   *logs.Line  `json:"line,omitempty"`  // logs
	Done   bool        `json:"done,omitempty"`  // the end of a stream
}

// Entry is a key of the cluster's shared state (package kv), as the kv
// commands answer it.
type Entry struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
	// Rev is the revision of the key's last write.
	Rev uint64 `json:"rev"`
	// Created is the revision at which the key was created.
	Created uint64 `json:"created,omitempty"`
	// Expires is when the key expires; zero if it has no TTL.
	Expires time.Time `json:"expires,omitzero"`
	// Owner is the worker whose exit deletes the key; 0 for none.
	Owner uint64 `json:"owner,omitempty"`
}

func entryOf(e kv.Entry) *Entry {
	return &Entry{Key: e.Key, Value: e.Value, Rev: e.Rev, Created: e.Created, Expires: e.Expires, Owner: e.Owner}
}

// WatchEvent is one entry or change of a [Client.KVWatch]: as
// [kv.WatchEvent], with Op named ("put", "delete", "expire", "synced").
type WatchEvent struct {
	Op    string `json:"op"`
	Key   string `json:"key,omitempty"`
	Value []byte `json:"value,omitempty"`
	Rev   uint64 `json:"rev"`
}

// errTooLong is returned by readLine for a line past its limit.
var errTooLong = errors.New("control: request line too long")

// readLine reads one line of at most limit bytes, without its newline.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > limit {
			return nil, errTooLong
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, err
		}
		return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'}), nil
	}
}
