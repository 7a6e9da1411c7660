package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// benchCompare measures this tree against an earlier commit of it, in one
// invocation: it builds the bench of both, runs the sections given with
// each build in turn (rounds times, RUNS=1 each unless set; the order of
// the two builds swaps every round), and prints,
// for each figure of gocluster's column, both medians and the change.
//
//	go run ./bench compare 9baed6f ipc state
func benchCompare(args []string, rounds int) error {
	if len(args) < 2 {
		return errors.New("usage: compare COMMIT SECTION [SECTION]")
	}
	base, sections := args[0], args[1:]
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return fmt.Errorf("find the repository: %w", err)
	}
	root := strings.TrimSpace(string(top))
	tmp, err := os.MkdirTemp("", "bench-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	tree := filepath.Join(tmp, "base")
	if out, err := exec.Command("git", "-C", root, "worktree", "add", "--detach", tree, base).CombinedOutput(); err != nil {
		return fmt.Errorf("check out %s: %w: %s", base, err, out)
	}
	defer exec.Command("git", "-C", root, "worktree", "remove", "--force", tree).Run()
	builds := []struct{ name, dir, bin string }{
		{"before (" + base + ")", tree, filepath.Join(tmp, "bench-before")},
		{"after (this tree)", root, filepath.Join(tmp, "bench-after")},
	}
	for _, b := range builds {
		cmd := exec.Command("go", "build", "-o", b.bin, "./bench")
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %w: %s", b.name, err, out)
		}
	}
	env := os.Environ()
	if os.Getenv("RUNS") == "" {
		env = append(env, "RUNS=1")
	}
	figures := map[string][2][]float64{} // table | figure -> values of before, after
	var order []string
	for round := range rounds {
		for _, section := range sections {
			for k := range builds {
				i := k
				if round%2 == 1 { // ABBA: neither build always runs second
					i = len(builds) - 1 - k
				}
				b := builds[i]
				fmt.Fprintf(os.Stderr, "compare: round %d/%d, %s, %s\n", round+1, rounds, section, b.name)
				cmd := exec.Command(b.bin, section)
				cmd.Env = env
				cmd.Stderr = os.Stderr
				out, err := cmd.Output()
				if err != nil {
					return fmt.Errorf("%s %s: %w", b.name, section, err)
				}
				for _, r := range parseTables(out) {
					key := r.table + "\x00" + r.figure
					v, ok := figures[key]
					if !ok {
						order = append(order, key)
					}
					v[i] = append(v[i], r.value)
					figures[key] = v
				}
			}
		}
	}
	printBeforeAfter(builds[0].name, builds[1].name, rounds, order, figures)
	return nil
}

type tableRow struct {
	table, figure string
	value         float64
}

var (
	columns = regexp.MustCompile(`\s{2,}`)
	titleAt = regexp.MustCompile(`( \(median|: gocluster vs).*$`)
)

// parseTables reads the gocluster column of every table a section printed:
// a title line, a header whose first cell is "figure", then rows until a
// blank line.
func parseTables(out []byte) []tableRow {
	var rows []tableRow
	var title, prev string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		cells := columns.Split(strings.TrimSpace(line), -1)
		switch {
		case len(cells) >= 2 && cells[0] == "figure":
			title, in = titleAt.ReplaceAllString(prev, ""), true
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "ratios"):
			in = false
		case in && len(cells) >= 2 && !strings.HasPrefix(cells[0], "---"):
			if v, ok := parseFigure(cells[1]); ok {
				rows = append(rows, tableRow{title, cells[0], v})
			}
		}
		if strings.TrimSpace(line) != "" {
			prev = line
		}
	}
	return rows
}

// parseFigure reads "2.22M", "306385", "27.6 us" or "1444 KiB".
func parseFigure(s string) (float64, bool) {
	s, _, _ = strings.Cut(s, " ")
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1e3, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, strings.TrimSuffix(s, "M")
	}
	v, err := strconv.ParseFloat(s, 64)
	return v * mult, err == nil
}

// higherIsBetter tells rates from times and sizes.
func higherIsBetter(figure string) bool { return strings.Contains(figure, "/s") }

func printBeforeAfter(before, after string, rounds int, order []string, figures map[string][2][]float64) {
	fmt.Printf("\n%s vs %s: medians of %d alternated runs each, [min - max]\n", before, after, rounds)
	table, higher := "", false
	for _, key := range order {
		t, figure, _ := strings.Cut(key, "\x00")
		if t != table {
			table = t
			fmt.Printf("\n%s\n%-58s %-26s %-26s %s\n", t, "figure", "before", "after", "after vs before (>1: better)")
		}
		v := figures[key]
		b, a := median(v[0]), median(v[1])
		if !strings.HasPrefix(figure, "same,") { // "same, ..." rows measure what the row above does
			higher = higherIsBetter(figure)
		}
		ratio := b / a
		if higher {
			ratio = a / b
		}
		fmt.Printf("%-58s %-26s %-26s %.2fx\n", figure, num(b)+spread(v[0]), num(a)+spread(v[1]), ratio)
	}
}
