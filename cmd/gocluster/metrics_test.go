//go:build unix

package main

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

var metricsRE = regexp.MustCompile(`^gocluster: metrics on (\S+)`)

// TestMetricsFlag: gocluster run --metrics serves Prometheus text over
// HTTP; a worker's restart is counted and the series survive it.
func TestMetricsFlag(t *testing.T) {
	needProgram(t, "python3")
	r := startRun(t, nil, "-n", "2", "-l", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--ready", "notify", "--", "python3", "testdata/hello.py")
	m := r.findLine(metricsRE)
	if m == nil {
		t.Fatal("no metrics address printed")
	}
	url := m[1]
	before := scrape(t, url)
	if v := sample(before, `gocluster_workers{state="ready"}`); v != 2 {
		t.Fatalf("gocluster_workers{state=\"ready\"} = %v, want 2:\n%s", v, before)
	}
	restarts := sample(before, "gocluster_worker_restarts_total")
	victim := r.status().Workers[0]
	syscall.Kill(victim.PID, syscall.SIGKILL)
	waitReady := time.Now().Add(20 * time.Second)
	for {
		after := scrape(t, url)
		if sample(after, "gocluster_worker_restarts_total") == restarts+1 && sample(after, `gocluster_workers{state="ready"}`) == 2 {
			break
		}
		if time.Now().After(waitReady) {
			t.Fatalf("the restart is not counted, or no replacement is ready:\n%s", after)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// sample is the value of the series named exactly (with its labels), or -1.
func sample(text, series string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}
