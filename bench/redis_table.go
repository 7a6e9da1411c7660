package main

import (
	"fmt"
	"os"
	"text/tabwriter"
)

// vsRow is one line of a table of the Redis section: our figure against
// a peer's from the same runs (none: theirs is empty), with its goal.
type vsRow struct {
	label, unit  string
	ours         []float64
	peer         string
	theirs       []float64
	higherBetter bool
	goal         string
	met          func(ours, theirs float64) bool // the goal, on the medians
}

// printVs prints rows as printComparison does (medians, spreads, the
// ratio in our favour), with a peer per row and whether each goal is met.
func printVs(title string, rows []vsRow) {
	fmt.Printf("\n%s\n\n", title)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\tgocluster\tpeer\tpeer's figure\tratio (>1: gocluster better)\tgoal\n")
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(6), dash(9), dash(4), dash(13), dash(27), dash(4))
	for _, r := range rows {
		o, p := median(r.ours), median(r.theirs)
		peer, theirs, ratio := "-", "-", "-"
		if len(r.theirs) > 0 {
			peer, theirs = r.peer, num(p)+spread(r.theirs)
			switch {
			case r.higherBetter && p > 0:
				ratio = fmt.Sprintf("%.2fx", o/p)
			case !r.higherBetter && o > 0:
				ratio = fmt.Sprintf("%.2fx", p/o)
			}
		}
		goal := r.goal
		if r.met != nil && len(r.ours) > 0 {
			if r.met(o, p) {
				goal += ": met"
			} else {
				goal += ": MISSED"
			}
		}
		fmt.Fprintf(tw, "%s [%s]\t%s%s\t%s\t%s\t%s\t%s\n", r.label, r.unit, num(o), spread(r.ours), peer, theirs, ratio, goal)
	}
	tw.Flush()
}
