package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for the zero values of [Config].
const (
	DefaultMaxSize     = 10 << 20
	DefaultKeep        = 3
	DefaultKeepWorkers = 16
)

// ErrClosed is returned by writes to a [Dir] after [Dir.Close], and by
// [Dir.Follow] when the Dir closes.
var ErrClosed = errors.New("logs: closed")

// Config says where and how much a [Dir] keeps.
type Config struct {
	// Dir is the directory of the log files; it is created (mode 0750) if
	// it does not exist.
	Dir string
	// MaxSize is the size in bytes a file may reach before it is rotated;
	// 0 means [DefaultMaxSize].
	MaxSize int64
	// Keep is how many rotated files each worker keeps (worker-N.log.1 is
	// the newest); 0 means [DefaultKeep].
	Keep int
	// Echo, if set, also receives every line as it was written (with its
	// "[worker N] " prefix): the terminal, say.
	Echo io.Writer
	// KeepWorkers is how many exited workers keep their files (see
	// [Dir.Exited]); those of older ones are removed. 0 means
	// [DefaultKeepWorkers].
	KeepWorkers int
}

// Dir writes the output of a cluster's workers to one file each. Its
// methods may be called from any goroutine.
type Dir struct {
	cfg Config

	mu     sync.Mutex
	files  map[int]*logFile // open files by worker id; 0 is primary.log
	exited []int            // exited workers whose files are kept, oldest first
	subs   map[*follower]struct{}
	closed bool
	done   chan struct{} // closed by Close
	rec    []byte        // the record being written

	echoMu sync.Mutex // held while writing to Echo; never with mu
	echo   []byte     // Echo's buffer, under echoMu
}

type logFile struct {
	f    *os.File
	size int64
}

// Open creates cfg.Dir if needed and returns a Dir writing there. The files
// of workers already in the directory (from a previous run) count as those
// of exited workers.
func Open(cfg Config) (*Dir, error) {
	if cfg.Dir == "" {
		return nil, errors.New("logs: Config.Dir is empty")
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.KeepWorkers <= 0 {
		cfg.KeepWorkers = DefaultKeepWorkers
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	d := &Dir{cfg: cfg, files: map[int]*logFile{}, subs: map[*follower]struct{}{}, done: make(chan struct{})}
	ids, err := d.workerIDs()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.exited = ids
	d.pruneLocked()
	return d, nil
}

// Path returns the file of worker id (0: the primary's lines).
func (d *Dir) Path(id int) string {
	if id == 0 {
		return filepath.Join(d.cfg.Dir, "primary.log")
	}
	return filepath.Join(d.cfg.Dir, "worker-"+strconv.Itoa(id)+".log")
}

// Stdout returns the writer for [cluster.Config.Stdout]: each line written
// to it goes to the file of the worker its prefix names.
//
// [cluster.Config.Stdout]: https://pkg.go.dev/github.com/gocluster/cluster#Config
func (d *Dir) Stdout() io.Writer { return streamWriter{d, Stdout} }

// Stderr returns the writer for [cluster.Config.Stderr]: as [Dir.Stdout],
// with the lines marked as stderr.
//
// [cluster.Config.Stderr]: https://pkg.go.dev/github.com/gocluster/cluster#Config
func (d *Dir) Stderr() io.Writer { return streamWriter{d, Stderr} }

type streamWriter struct {
	d      *Dir
	stream string
}

// Write writes each line of b (a last one without a newline counts as a
// line) to its worker's file. It returns the first error.
func (w streamWriter) Write(b []byte) (int, error) {
	return len(b), w.d.write(w.stream, b)
}

func (d *Dir) write(stream string, b []byte) error {
	if err := d.writeFiles(stream, b); err != nil {
		return err
	}
	d.writeEcho(b)
	return nil
}

// writeFiles writes each line of b to its worker's file, under d.mu.
func (d *Dir) writeFiles(stream string, b []byte) error {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	var first error
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		id, text := splitPrefix(line)
		for {
			chunk := text
			if len(chunk) > MaxLine {
				chunk = chunk[:MaxLine]
			}
			if err := d.writeLocked(id, now, stream, chunk); err != nil && first == nil {
				first = err
			}
			text = text[len(chunk):]
			if len(text) == 0 {
				break
			}
		}
	}
	if cap(d.rec) > 4*MaxLine {
		d.rec = nil
	}
	return first
}

// writeEcho gives [Config.Echo] the lines of b, each with its newline, in
// one Write. It holds only echoMu, which keeps the Echo writes of a writer
// in order and one at a time: a blocked Echo (a terminal stopped with
// Ctrl-S) holds up the writers' Write calls, not the files or their
// readers.
func (d *Dir) writeEcho(b []byte) {
	if d.cfg.Echo == nil || len(b) == 0 {
		return
	}
	d.echoMu.Lock()
	defer d.echoMu.Unlock()
	if b[len(b)-1] != '\n' {
		d.echo = append(append(d.echo[:0], b...), '\n')
		b = d.echo
		if cap(d.echo) > 4*MaxLine {
			d.echo = nil
		}
	}
	d.cfg.Echo.Write(b)
}

func (d *Dir) writeLocked(id int, now time.Time, stream string, text []byte) error {
	d.rec = format(d.rec[:0], now, stream, text)
	lf, err := d.fileLocked(id)
	if err == nil && lf.size > 0 && lf.size+int64(len(d.rec)) > d.cfg.MaxSize {
		lf, err = d.rotateLocked(id, lf)
	}
	if err == nil {
		var n int
		n, err = lf.f.Write(d.rec)
		lf.size += int64(n)
	}
	d.deliverLocked(Line{Worker: id, Time: now.UTC(), Stream: stream, Text: string(text)})
	if err != nil {
		return fmt.Errorf("logs: worker %d: %w", id, err)
	}
	return nil
}

// fileLocked returns the open file of worker id, opening it if needed.
func (d *Dir) fileLocked(id int) (*logFile, error) {
	if lf := d.files[id]; lf != nil {
		return lf, nil
	}
	f, err := os.OpenFile(d.Path(id), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	lf := &logFile{f: f, size: st.Size()}
	d.files[id] = lf
	if i := slices.Index(d.exited, id); i >= 0 { // a new run's worker of the same id
		d.exited = slices.Delete(d.exited, i, i+1)
	}
	return lf, nil
}

// rotateLocked renames worker id's file to .1 (.1 to .2...) and opens a
// new one.
func (d *Dir) rotateLocked(id int, lf *logFile) (*logFile, error) {
	lf.f.Close()
	delete(d.files, id)
	p := d.Path(id)
	os.Remove(p + "." + strconv.Itoa(d.cfg.Keep))
	for i := d.cfg.Keep - 1; i >= 1; i-- {
		os.Rename(p+"."+strconv.Itoa(i), p+"."+strconv.Itoa(i+1))
	}
	if err := os.Rename(p, p+".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return d.fileLocked(id)
}

// Exited tells d that worker id has exited: its file is closed, and the
// files of the oldest exited workers beyond [Config.KeepWorkers] are
// removed. The control server calls it on each worker's exit.
func (d *Dir) Exited(id int) {
	if id <= 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if lf := d.files[id]; lf != nil {
		lf.f.Close()
		delete(d.files, id)
	}
	if !slices.Contains(d.exited, id) {
		d.exited = append(d.exited, id)
	}
	d.pruneLocked()
}

func (d *Dir) pruneLocked() {
	for len(d.exited) > d.cfg.KeepWorkers {
		p := d.Path(d.exited[0])
		os.Remove(p)
		for i := 1; i <= d.cfg.Keep; i++ {
			os.Remove(p + "." + strconv.Itoa(i))
		}
		d.exited = d.exited[1:]
	}
}

// workerIDs lists the workers that have a file in the directory, by id.
func (d *Dir) workerIDs() ([]int, error) {
	des, err := os.ReadDir(d.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	var ids []int
	for _, de := range des {
		s, ok := strings.CutPrefix(de.Name(), "worker-")
		if !ok {
			continue
		}
		s, ok = strings.CutSuffix(s, ".log")
		if id, err := strconv.Atoi(s); ok && err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// Close closes the files and ends every [Dir.Follow]. Lines are written to
// their file as they come: there is nothing left to flush.
func (d *Dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	close(d.done)
	var errs []error
	for id, lf := range d.files {
		if err := lf.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("logs: worker %d: %w", id, err))
		}
	}
	d.files = nil
	return errors.Join(errs...)
}
