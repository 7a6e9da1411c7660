//go:build unix

package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestEveryProcessEndsWithTheSameData runs the example: the primary and its
// four workers report the same greeting, four visits, the same revision.
func TestEveryProcessEndsWithTheSameData(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "globalval")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin).Output()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	lines := regexp.MustCompile(`(?m)^(primary|worker \d): +(greeting=.*)$`).FindAllStringSubmatch(string(out), -1)
	if len(lines) != 5 {
		t.Fatalf("want 5 reports, got:\n%s", out)
	}
	for _, l := range lines {
		if l[2] != lines[0][2] {
			t.Fatalf("%s has %s, the primary %s", l[1], l[2], lines[0][2])
		}
	}
	if !regexp.MustCompile(`^greeting="Hi!, from worker \d" visits=4 \(revision 9\)$`).MatchString(lines[0][2]) {
		t.Fatalf("unexpected data: %s", lines[0][2])
	}
}
