//go:build !unix

package main

import (
	"fmt"
	"os"
)

// launch: programs other than Go ones need Unix descriptor passing.
func launch([]string) int {
	fmt.Fprintln(os.Stderr, "gocluster: run needs Linux, macOS or another Unix")
	return 2
}

func execProgram([]string) int { return launch(nil) }
