package metrics

import (
	"bufio"
	"bytes"
	"net"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// wireSeeds are frames as a worker sends them: a hello, families answering
// request 1, a push of families, a failed Gather.
func wireSeeds(f *testing.F) (hello, families, push, failed []byte) {
	name, help, v := "app_requests_total", "Requests.", 101.0
	typ := dto.MetricType_COUNTER
	code, ok := "code", "200"
	mfs := []*dto.MetricFamily{{Name: &name, Help: &help, Type: &typ, Metric: []*dto.Metric{{
		Label:   []*dto.LabelPair{{Name: &code, Value: &ok}},
		Counter: &dto.Counter{Value: &v},
	}}}}
	b1, err := encodeFamilies(1, mfs)
	if err != nil {
		f.Fatal(err)
	}
	b0, err := encodeFamilies(0, mfs)
	if err != nil {
		f.Fatal(err)
	}
	frame := func(typ byte, payload []byte) []byte {
		var buf bytes.Buffer
		if err := writeFrame(&buf, typ, payload); err != nil {
			f.Fatal(err)
		}
		return buf.Bytes()
	}
	return frame(frameHello, uvarints(3, 2, 4242)), frame(frameFamilies, b1), frame(frameFamilies, b0),
		frame(frameFailed, append(uvarints(1), "collect: boom"...))
}

// FuzzReadFrame feeds the frame reader arbitrary bytes: each frame read
// writes back as the bytes it was read from, one after the other.
func FuzzReadFrame(f *testing.F) {
	hello, families, push, failed := wireSeeds(f)
	f.Add(bytes.Join([][]byte{hello, families, push, failed}, nil))
	f.Add(hello[:3])
	f.Add([]byte{frameFamilies, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		var again bytes.Buffer
		for {
			typ, b, err := readFrame(r)
			if err != nil {
				if !bytes.HasPrefix(data, again.Bytes()) {
					t.Fatalf("%q: frames read write back as %q", data, again.Bytes())
				}
				return
			}
			if err := writeFrame(&again, typ, b); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzReadUvarints feeds the decoder of a hello's (and a request's)
// numbers arbitrary bytes: the numbers read encode back to numbers that
// read the same, and what is left is the end of the input.
func FuzzReadUvarints(f *testing.F) {
	f.Add(uvarints(3, 2, 4242), uint8(3))
	f.Add(append(uvarints(1), "collect: boom"...), uint8(1))
	f.Add([]byte{0x80, 0x80}, uint8(1))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, count uint8) {
		ns, rest, err := readUvarints(b, int(count%8))
		if err != nil {
			return
		}
		if len(ns) != int(count%8) || !bytes.HasSuffix(b, rest) {
			t.Fatalf("%q: %v, rest %q", b, ns, rest)
		}
		again, tail, err := readUvarints(append(uvarints(ns...), 'x'), len(ns))
		if err != nil || !equalNumbers(again, ns) || string(tail) != "x" {
			t.Fatalf("%q: %v encodes to read back as %v, %q, %v", b, ns, again, tail, err)
		}
	})
}

func equalNumbers(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzDecodeFamilies feeds the decoder of a worker's families arbitrary
// payloads: families decoded encode to a payload that decodes to the same
// sequence and families.
func FuzzDecodeFamilies(f *testing.F) {
	_, families, push, failed := wireSeeds(f)
	f.Add(families[5:])
	f.Add(push[5:])
	f.Add(failed[5:])
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		seq, mfs, err := decodeFamilies(b)
		if err != nil {
			return
		}
		enc, err := encodeFamilies(seq, mfs)
		if err != nil {
			return // a family that does not encode (invalid UTF-8 in a string): taken as it came
		}
		seq2, mfs2, err := decodeFamilies(enc)
		if err != nil || seq2 != seq || len(mfs2) != len(mfs) {
			t.Fatalf("%q: %d families of %d encode to %q, which decodes to %d of %d: %v", b, len(mfs), seq, enc, len(mfs2), seq2, err)
		}
		for i := range mfs {
			if !proto.Equal(mfs[i], mfs2[i]) {
				t.Fatalf("%q: family %d is %v, then %v", b, i, mfs[i], mfs2[i])
			}
		}
	})
}

// FuzzReadLoop feeds the primary's end of a worker's connection arbitrary
// frames, with request 1 waiting: the loop ends with the input, the request
// gets one answer, and no request is left waiting.
func FuzzReadLoop(f *testing.F) {
	_, families, push, failed := wireSeeds(f)
	f.Add(bytes.Join([][]byte{push, families, failed}, nil))
	f.Add(bytes.Join([][]byte{failed, families}, nil))
	f.Add(families[:len(families)-1])
	f.Fuzz(func(t *testing.T, data []byte) {
		c1, c2 := net.Pipe()
		defer c2.Close()
		wc := newWorkerConn(c1, bufio.NewReader(bytes.NewReader(data)))
		ch := make(chan reply, 1)
		wc.pending[1] = ch
		err := wc.readLoop(func([]*dto.MetricFamily) {})
		if err == nil {
			t.Fatalf("%q: readLoop ended without an error", data)
		}
		if len(ch) != 1 || len(wc.pending) != 0 || !wc.closed {
			t.Fatalf("%q: %d answers, %d waiting, closed %v", data, len(ch), len(wc.pending), wc.closed)
		}
	})
}
