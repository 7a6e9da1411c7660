package topview

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster/control"
)

// envDemo makes the test binary the demo program of the terminal test: Run
// on its terminal, with demoStatus for a cluster.
const envDemo = "GOCLUSTER_TOPVIEW_DEMO"

func TestMain(m *testing.M) {
	if os.Getenv(envDemo) != "" {
		os.Exit(demo())
	}
	os.Exit(m.Run())
}

// demo runs the view until q, then says so on the normal screen and reads
// a line from the terminal, which only a terminal back in its usual mode
// (not raw) hands over: exit status 0 if it is "hello".
func demo() int {
	fetch := func(context.Context) (control.Status, error) { return demoStatus(time.Now()), nil }
	if err := Run(context.Background(), os.Stdin, os.Stdout, fetch, Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("topdemo: done, type a line")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "hello" {
		return 2
	}
	return 0
}
