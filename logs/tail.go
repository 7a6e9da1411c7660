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
	n = min(n, MaxTail)
	if n <= 0 {
		return nil, nil
	}
	d.mu.Lock()
	s, err := d.snapshotLocked(id)
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	defer s.close()
	return s.tail(n)
}

// snapshot is the log files of one or every worker as they were at one
// moment: each open, with its size then. Reading it needs no lock: a
// rotation renames the files, not the open ones, and the lines written
// after it lie past the sizes taken.
type snapshot []workerFiles

// workerFiles is one worker's files in a snapshot, the current one first,
// then its rotated ones (.1, .2...).
type workerFiles struct {
	id    int
	files []openFile
}

type openFile struct {
	f    *os.File
	size int64
}

// snapshotLocked opens the files of worker id (0: every worker and the
// primary) under d.mu, which no rotation or write holds at the time.
func (d *Dir) snapshotLocked(id int) (snapshot, error) {
	ids := []int{id}
	if id == 0 {
		workers, err := d.workerIDs()
		if err != nil {
			return nil, err
		}
		ids = append(ids, workers...)
	}
	var s snapshot
	for _, id := range ids {
		wf := workerFiles{id: id}
		for i := 0; i <= d.cfg.Keep; i++ {
			p := d.Path(id)
			if i > 0 {
				p += "." + strconv.Itoa(i)
			}
			f, err := os.Open(p)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err == nil {
				var st os.FileInfo
				if st, err = f.Stat(); err == nil {
					wf.files = append(wf.files, openFile{f, st.Size()})
				} else {
					f.Close()
				}
			}
			if err != nil {
				s = append(s, wf)
				s.close()
				return nil, fmt.Errorf("logs: %w", err)
			}
		}
		s = append(s, wf)
	}
	return s, nil
}

// close closes the files of s.
func (s snapshot) close() {
	for _, wf := range s {
		for _, of := range wf.files {
			of.f.Close()
		}
	}
}

// tail returns the last n lines of s: of its one worker, or of all of them
// together in time order.
func (s snapshot) tail(n int) ([]Line, error) {
	if n <= 0 {
		return nil, nil
	}
	var all []Line
	for _, wf := range s {
		ls, err := wf.tail(n)
		if err != nil {
			return nil, err
		}
		all = append(all, ls...)
	}
	if len(s) > 1 {
		slices.SortStableFunc(all, func(a, b Line) int { return a.Time.Compare(b.Time) })
	}
	return all[max(0, len(all)-n):], nil
}

// tail reads the worker's last n lines from its file and, while they are
// not enough, its rotated files.
func (wf workerFiles) tail(n int) ([]Line, error) {
	var lines []Line
	for _, of := range wf.files {
		if len(lines) >= n {
			break
		}
		raw, err := tailFile(of.f, of.size, n-len(lines))
		if err != nil {
			return nil, err
		}
		ls := make([]Line, len(raw))
		for j, b := range raw {
			ls[j] = parse(wf.id, b)
		}
		lines = append(ls, lines...)
	}
	return lines, nil
}

// tailFile returns the last n lines of the first size bytes of f, reading
// it backwards.
func tailFile(f io.ReaderAt, size int64, n int) ([][]byte, error) {
	const step = 64 << 10
	var chunks [][]byte // read backwards: the last chunk first
	newlines := 0
	off := size
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
