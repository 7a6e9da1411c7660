package metrics

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protodelim"
)

// The protocol between a worker's [Serve] and the primary's [Collector],
// over the unix socket: frames of one type byte, a big-endian uint32 length
// and the payload. The worker speaks first (hello), then the primary sends
// gather requests and the worker answers each in order; a worker may also
// push its families unasked (sequence 0), as it does when Serve's context
// ends.
const (
	frameHello    byte = 1 // worker: id, generation, pid (uvarints)
	frameGather   byte = 2 // primary: sequence (uvarint)
	frameFamilies byte = 3 // worker: sequence, then length-delimited MetricFamily protobufs
	frameFailed   byte = 4 // worker: sequence, then the text of Gather's error
)

// maxFrame bounds a frame: a worker's families larger than this are not
// taken.
const maxFrame = 64 << 20

var errFrameTooLarge = errors.New("metrics: frame too large")

// writeFrame writes one frame in one Write.
func writeFrame(w io.Writer, typ byte, payload []byte) error {
	if len(payload) > maxFrame {
		return errFrameTooLarge
	}
	b := make([]byte, 5, 5+len(payload))
	b[0] = typ
	binary.BigEndian.PutUint32(b[1:], uint32(len(payload)))
	_, err := w.Write(append(b, payload...))
	return err
}

// readFrame reads one frame.
func readFrame(r *bufio.Reader) (byte, []byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > maxFrame {
		return 0, nil, errFrameTooLarge
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, nil, fmt.Errorf("metrics: short frame: %w", err)
	}
	return h[0], b, nil
}

// uvarints encodes numbers one after the other.
func uvarints(ns ...uint64) []byte {
	var b []byte
	for _, n := range ns {
		b = binary.AppendUvarint(b, n)
	}
	return b
}

// readUvarints decodes count numbers from the front of b and returns the rest.
func readUvarints(b []byte, count int) ([]uint64, []byte, error) {
	ns := make([]uint64, count)
	for i := range ns {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, nil, errors.New("metrics: bad number in frame")
		}
		ns[i], b = n, b[k:]
	}
	return ns, b, nil
}

// encodeFamilies appends the families, each length-delimited, to the
// sequence number.
func encodeFamilies(seq uint64, mfs []*dto.MetricFamily) ([]byte, error) {
	var buf bytes.Buffer
	buf.Write(uvarints(seq))
	for _, mf := range mfs {
		if _, err := protodelim.MarshalTo(&buf, mf); err != nil {
			return nil, fmt.Errorf("metrics: encode %s: %w", mf.GetName(), err)
		}
	}
	return buf.Bytes(), nil
}

// decodeFamilies is encodeFamilies' inverse.
func decodeFamilies(b []byte) (uint64, []*dto.MetricFamily, error) {
	ns, rest, err := readUvarints(b, 1)
	if err != nil {
		return 0, nil, err
	}
	r := bytes.NewReader(rest)
	var mfs []*dto.MetricFamily
	for r.Len() > 0 {
		mf := &dto.MetricFamily{}
		if err := (protodelim.UnmarshalOptions{MaxSize: maxFrame}).UnmarshalFrom(r, mf); err != nil {
			return 0, nil, fmt.Errorf("metrics: decode families: %w", err)
		}
		mfs = append(mfs, mf)
	}
	return ns[0], mfs, nil
}
