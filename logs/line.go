package logs

import (
	"bytes"
	"strconv"
	"time"
)

// Stream names, as [Line.Stream] holds them.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// MaxLine is the longest line kept whole, in bytes; a longer one is split
// into lines of this size (the cluster splits its workers' lines the same
// way).
const MaxLine = 64 << 10

// timeLayout is the fixed-width time at the start of each line on disk.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Line is one line of output, as [Dir.Tail] and [Dir.Follow] deliver it.
type Line struct {
	// Worker is the worker's id; 0 for a line of the primary (one written
	// without a "[worker N] " prefix).
	Worker int `json:"worker"`
	// Time is when the line was written (the zero time for a line on disk
	// that does not start with one).
	Time time.Time `json:"time"`
	// Stream is [Stdout] or [Stderr].
	Stream string `json:"stream"`
	// Text is the line, without its prefix and newline.
	Text string `json:"text"`
}

// String returns the line as the cluster printed it: "[worker N] text"
// ("[primary] text" for the primary's).
func (l Line) String() string {
	if l.Worker == 0 {
		return "[primary] " + l.Text
	}
	return "[worker " + strconv.Itoa(l.Worker) + "] " + l.Text
}

// splitPrefix returns the worker id of a line that starts with
// "[worker N] " and the rest of it, or 0 and the whole line.
func splitPrefix(b []byte) (int, []byte) {
	rest, ok := bytes.CutPrefix(b, []byte("[worker "))
	if !ok {
		return 0, b
	}
	end := bytes.IndexByte(rest, ']')
	if end < 1 || end > 10 || end+1 >= len(rest) || rest[end+1] != ' ' {
		return 0, b
	}
	id, err := strconv.Atoi(string(rest[:end]))
	if err != nil || id <= 0 || strconv.Itoa(id) != string(rest[:end]) { // as the cluster writes it: no sign, no leading 0
		return 0, b
	}
	return id, rest[end+2:]
}

// format appends l as one line of a file.
func format(dst []byte, t time.Time, stream string, text []byte) []byte {
	dst = t.UTC().AppendFormat(dst, timeLayout)
	if stream == Stderr {
		dst = append(dst, " err "...)
	} else {
		dst = append(dst, " out "...)
	}
	dst = append(dst, text...)
	return append(dst, '\n')
}

// parse reads one line of a file (without its newline). A line in another
// form is kept whole as the text of a stdout line.
func parse(worker int, b []byte) Line {
	l := Line{Worker: worker, Stream: Stdout, Text: string(b)}
	if len(b) < len(timeLayout)+5 || b[len(timeLayout)] != ' ' {
		return l
	}
	stamp := string(b[:len(timeLayout)])
	t, err := time.Parse(timeLayout, stamp)
	if err != nil || t.UTC().Format(timeLayout) != stamp { // only what format writes (time.Parse also takes "," and more)
		return l
	}
	switch string(b[len(timeLayout) : len(timeLayout)+5]) {
	case " out ":
	case " err ":
		l.Stream = Stderr
	default:
		return l
	}
	l.Time, l.Text = t, string(b[len(timeLayout)+5:])
	return l
}
