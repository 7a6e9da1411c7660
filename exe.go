package cluster

import (
	"os"
	"path/filepath"
)

// A generation's workers all run the program it started from. On Linux
// the primary keeps that file open (an exeRef per generation and path) and
// starts the generation's workers from the open file, so that a restart
// after a crash, a Fork or a recycle runs the same build as its generation
// even after a new build replaced the file on disk (an aborted reload
// leaves the new build there). Elsewhere workers are started from the path
// each time (see pinExe).
type exeRef struct {
	key  exeKey
	f    *os.File // nil: start from the path
	refs int      // slots (and slots a rollout may refill) that use it
}

type exeKey struct {
	gen       int
	path, dir string
}

// exeFor returns the program the workers of generation gen that run path
// (as exec resolved it, relative to dir) start from, opening it the first
// time; each call takes a reference (release it with releaseExe). It runs
// on the supervisor goroutine.
func (p *Primary) exeFor(gen int, path, dir string) *exeRef {
	key := exeKey{gen, path, dir}
	if ref := p.exes[key]; ref != nil {
		ref.refs++
		return ref
	}
	open := path
	if !filepath.IsAbs(open) && dir != "" {
		open = filepath.Join(dir, open)
	}
	ref := &exeRef{key: key, f: pinExe(open), refs: 1}
	p.exes[key] = ref
	return ref
}

// holdExe takes one more reference to ref (nil is allowed).
func holdExe(ref *exeRef) *exeRef {
	if ref != nil {
		ref.refs++
	}
	return ref
}

// releaseExe drops a reference; the last one closes the file.
func (p *Primary) releaseExe(ref *exeRef) {
	if ref == nil {
		return
	}
	if ref.refs--; ref.refs > 0 {
		return
	}
	delete(p.exes, ref.key)
	if ref.f != nil {
		ref.f.Close()
	}
}

// closeExes closes every file still held, when Run returns.
func (p *Primary) closeExes() {
	for key, ref := range p.exes {
		if ref.f != nil {
			ref.f.Close()
		}
		delete(p.exes, key)
	}
}
