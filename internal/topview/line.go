package topview

import (
	"strings"
	"unicode/utf8"
)

// style is how a piece of text is marked: plain, or one of the two marks
// for what needs attention.
type style int

const (
	plain style = iota
	warn        // bold yellow: changing (starting, stopping, restarted, reloading)
	alert       // bold red: over a limit, exited, failing
)

// The ANSI sequences of the marks.
const (
	sgrWarn  = "\x1b[1;33m"
	sgrAlert = "\x1b[1;31m"
	sgrReset = "\x1b[0m"
)

func (s style) sgr() string {
	switch s {
	case warn:
		return sgrWarn
	case alert:
		return sgrAlert
	}
	return ""
}

// seg is a piece of a line in one style.
type seg struct {
	text string
	st   style
}

// line is one screen line being built.
type line []seg

// add appends text, its control characters (a cluster's name, a directory
// or an error could hold escape sequences) shown as '?'.
func (l *line) add(text string, st style) { *l = append(*l, seg{printable(text), st}) }

func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// whole is l without the segments, after the first, that would not fit
// whole in width: a header loses its last fields rather than a word's end.
func (l line) whole(width int) line {
	n := 0
	for i, s := range l {
		n += utf8.RuneCountInString(s.text)
		if n > width && i > 0 {
			return l[:i]
		}
	}
	return l
}

// render writes the line cut to width runes, with its marks unless
// noColor; it never writes more than width characters, so nothing wraps.
func (l line) render(width int, noColor bool) string {
	var b strings.Builder
	left := width
	for _, s := range l {
		if left <= 0 {
			break
		}
		t := s.text
		if n := utf8.RuneCountInString(t); n > left {
			t = cutRunes(t, left)
			left = 0
		} else {
			left -= n
		}
		if noColor || s.st == plain || strings.TrimSpace(t) == "" {
			b.WriteString(t)
			continue
		}
		b.WriteString(s.st.sgr())
		b.WriteString(t)
		b.WriteString(sgrReset)
	}
	return b.String()
}

// cutRunes returns the first n runes of s.
func cutRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// pad aligns s in w runes, to the right or to the left.
func pad(s string, w int, right bool) string {
	n := utf8.RuneCountInString(s)
	if n >= w {
		return s
	}
	if right {
		return strings.Repeat(" ", w-n) + s
	}
	return s + strings.Repeat(" ", w-n)
}
