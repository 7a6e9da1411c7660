package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// samples collects the figures of several runs: metric -> values.
type samples map[string][]float64

func (s samples) add(metric string, v float64) { s[metric] = append(s[metric], v) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := slices.Clone(v)
	slices.Sort(c)
	return c[len(c)/2]
}

func spread(v []float64) string {
	if len(v) < 2 {
		return ""
	}
	return fmt.Sprintf(" (%s - %s)", num(slices.Min(v)), num(slices.Max(v)))
}

func num(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

// row is one line of a comparison table.
type row struct {
	label, metric, unit string
	higherBetter        bool
	goal                string
}

// printComparison prints ours against the peer with medians, spreads and
// the ratio in our favour (>1 means gocluster is better).
func printComparison(title string, runs int, ours, peer samples, peerName string, rows []row) {
	fmt.Printf("\n%s (median of %d runs, min - max)\n\n", title, runs)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\tgocluster\t%s\tratio (>1: gocluster better)\tgoal\n", peerName)
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", dash(6), dash(9), dash(len(peerName)), dash(27), dash(4))
	for _, r := range rows {
		o, p := median(ours[r.metric]), median(peer[r.metric])
		ratio := 0.0
		if r.higherBetter && p > 0 {
			ratio = o / p
		} else if o > 0 {
			ratio = p / o
		}
		fmt.Fprintf(tw, "%s [%s]\t%s%s\t%s%s\t%.2fx\t%s\n", r.label, r.unit,
			num(o), spread(ours[r.metric]), num(p), spread(peer[r.metric]), ratio, r.goal)
	}
	tw.Flush()
}

func dash(n int) string { return strings.Repeat("-", n) }
