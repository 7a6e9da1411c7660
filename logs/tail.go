package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
)

// MaxTail is the most lines [Dir.Tail] returns.
const MaxTail = 100_000

// Tail returns the last n lines (at most [MaxTail]) of worker id, reading
// its rotated files too if needed, oldest first. Id 0 means every worker
// and the primary: their last n lines together, in time order.
func (d *Dir) Tail(id, n int) ([]Line, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tailLocked(id, n)
}

func (d *Dir) tailLocked(id, n int) ([]Line, error) {
	n = min(n, MaxTail)
	if n <= 0 {
		return nil, nil
	}
	if id != 0 {
		return d.tailWorker(id, n)
	}
	ids, err := d.workerIDs()
	if err != nil {
		return nil, err
	}
	all, err := d.tailWorker(0, n)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		ls, err := d.tailWorker(id, n)
		if err != nil {
			return nil, err
		}
		all = append(all, ls...)
	}
	slices.SortStableFunc(all, func(a, b Line) int { return a.Time.Compare(b.Time) })
	return all[max(0, len(all)-n):], nil
}

// tailWorker reads worker id's last n lines from its file and, while they
// are not enough, its rotated files.
func (d *Dir) tailWorker(id, n int) ([]Line, error) {
	var lines []Line
	for i := 0; i <= d.cfg.Keep && len(lines) < n; i++ {
		p := d.Path(id)
		if i > 0 {
			p += "." + strconv.Itoa(i)
		}
		raw, err := tailFile(p, n-len(lines))
		if err != nil {
			return nil, err
		}
		ls := make([]Line, len(raw))
		for j, b := range raw {
			ls[j] = parse(id, b)
		}
		lines = append(ls, lines...)
	}
	return lines, nil
}

// tailFile returns the last n lines of the file at path (none if it does
// not exist), reading it backwards.
func tailFile(path string, n int) ([][]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	const step = 64 << 10
	var chunks [][]byte // read backwards: the last chunk first
	newlines := 0
	off := st.Size()
	for off > 0 && newlines <= n {
		size := min(int64(step), off)
		off -= size
		c := make([]byte, size)
		if _, err := f.ReadAt(c, off); err != nil && err != io.EOF {
			return nil, fmt.Errorf("logs: %w", err)
		}
		chunks = append(chunks, c)
		newlines += bytes.Count(c, []byte{'\n'})
	}
	slices.Reverse(chunks)
	buf := bytes.Join(chunks, nil)
	if off > 0 { // the first line read is partial
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	buf = bytes.TrimSuffix(buf, []byte{'\n'})
	if len(buf) == 0 {
		return nil, nil
	}
	lines := bytes.Split(buf, []byte{'\n'})
	return lines[max(0, len(lines)-n):], nil
}
