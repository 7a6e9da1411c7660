package metrics

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// Labels the collector puts on every worker series.
const (
	// LabelWorker holds the worker's id, or [ExitedWorker].
	LabelWorker = "worker"
	// LabelGeneration holds the worker's generation (absent on the
	// [ExitedWorker] series).
	LabelGeneration = "generation"
	// ExitedWorker is the [LabelWorker] value of the series that
	// accumulate the counters of the workers that have exited.
	ExitedWorker = "exited"
)

// relabel returns a metric with m's values and labels, plus worker and (if
// not empty) generation; a label of m with one of those names is kept as
// exported_<name>, as Prometheus does with a target's clashing labels.
// The labels are sorted by name. The values are shared with m, not copied.
func relabel(m *dto.Metric, worker, generation string) *dto.Metric {
	labels := make([]*dto.LabelPair, 0, len(m.GetLabel())+2)
	for _, l := range m.GetLabel() {
		if n := l.GetName(); n == LabelWorker || n == LabelGeneration {
			l = &dto.LabelPair{Name: proto.String("exported_" + n), Value: l.Value}
		}
		labels = append(labels, l)
	}
	labels = append(labels, &dto.LabelPair{Name: proto.String(LabelWorker), Value: proto.String(worker)})
	if generation != "" {
		labels = append(labels, &dto.LabelPair{Name: proto.String(LabelGeneration), Value: proto.String(generation)})
	}
	slices.SortFunc(labels, func(a, b *dto.LabelPair) int { return cmp.Compare(a.GetName(), b.GetName()) })
	return &dto.Metric{Label: labels, Counter: m.Counter, Gauge: m.Gauge, Summary: m.Summary,
		Untyped: m.Untyped, Histogram: m.Histogram, TimestampMs: m.TimestampMs}
}

// cumulative reports whether a family's values only grow over a process's
// life, so that a sum over workers, dead ones included, means something.
func cumulative(t dto.MetricType) bool {
	return t == dto.MetricType_COUNTER || t == dto.MetricType_SUMMARY || t == dto.MetricType_HISTOGRAM
}

// cumulativeOnly returns the families of mfs that are cumulative: what is
// still true of a worker that did not answer or has died.
func cumulativeOnly(mfs []*dto.MetricFamily) []*dto.MetricFamily {
	var out []*dto.MetricFamily
	for _, mf := range mfs {
		if cumulative(mf.GetType()) {
			out = append(out, mf)
		}
	}
	return out
}

// labelKey identifies a series within its family by its labels.
func labelKey(m *dto.Metric) string {
	ls := slices.Clone(m.GetLabel())
	slices.SortFunc(ls, func(a, b *dto.LabelPair) int { return cmp.Compare(a.GetName(), b.GetName()) })
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.GetName())
		b.WriteByte(0xff)
		b.WriteString(l.GetValue())
		b.WriteByte(0xfe)
	}
	return b.String()
}

// exited accumulates the cumulative series of exited workers: the series
// of each, labelled worker="exited" (its generation dropped), holds the
// sum over every worker folded into it. Gauges are not kept: the value of
// a dead process means nothing now.
type exited struct {
	fams map[string]*exitedFamily
}

type exitedFamily struct {
	help   string
	typ    dto.MetricType
	series map[string]*dto.Metric // by labelKey of the worker's labels
}

// fold adds a dead worker's last families to the accumulated series. A
// family whose type differs from the one accumulated under its name (a new
// version of the program changed it) is left out.
func (e *exited) fold(mfs []*dto.MetricFamily) {
	if e.fams == nil {
		e.fams = make(map[string]*exitedFamily)
	}
	for _, mf := range mfs {
		if !cumulative(mf.GetType()) {
			continue
		}
		f := e.fams[mf.GetName()]
		if f == nil {
			f = &exitedFamily{help: mf.GetHelp(), typ: mf.GetType(), series: make(map[string]*dto.Metric)}
			e.fams[mf.GetName()] = f
		}
		if f.typ != mf.GetType() {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := labelKey(m)
			acc := f.series[key]
			if acc == nil {
				acc = relabel(&dto.Metric{Label: m.GetLabel()}, ExitedWorker, "")
				f.series[key] = acc
			}
			add(acc, m, f.typ)
		}
	}
}

// add adds m's cumulative values to acc, which it owns.
func add(acc, m *dto.Metric, t dto.MetricType) {
	switch t {
	case dto.MetricType_COUNTER:
		if acc.Counter == nil {
			acc.Counter = &dto.Counter{Value: proto.Float64(0)}
		}
		acc.Counter.Value = proto.Float64(acc.Counter.GetValue() + m.GetCounter().GetValue())
	case dto.MetricType_SUMMARY:
		if acc.Summary == nil {
			acc.Summary = &dto.Summary{SampleCount: proto.Uint64(0), SampleSum: proto.Float64(0)}
		}
		s := m.GetSummary()
		acc.Summary.SampleCount = proto.Uint64(acc.Summary.GetSampleCount() + s.GetSampleCount())
		acc.Summary.SampleSum = proto.Float64(acc.Summary.GetSampleSum() + s.GetSampleSum())
	case dto.MetricType_HISTOGRAM:
		if acc.Histogram == nil {
			acc.Histogram = &dto.Histogram{SampleCount: proto.Uint64(0), SampleSum: proto.Float64(0)}
		}
		h := m.GetHistogram()
		acc.Histogram.SampleCount = proto.Uint64(acc.Histogram.GetSampleCount() + h.GetSampleCount())
		acc.Histogram.SampleSum = proto.Float64(acc.Histogram.GetSampleSum() + h.GetSampleSum())
		acc.Histogram.Bucket = mergeBuckets(acc.Histogram.GetBucket(), h.GetBucket())
	}
}

// mergeBuckets adds two sets of cumulative buckets. With the same bounds
// (one program, one histogram) each bucket is the exact sum. With different
// bounds every bound of either is kept, each count being what both are
// known to hold at or below it: a lower bound that stays cumulative (never
// falls from one bucket to the next).
func mergeBuckets(a, b []*dto.Bucket) []*dto.Bucket {
	if len(b) == 0 {
		return a
	}
	a, b = sortedBuckets(a), sortedBuckets(b)
	var bounds []float64
	for _, bk := range a {
		bounds = append(bounds, bk.GetUpperBound())
	}
	for _, bk := range b {
		bounds = append(bounds, bk.GetUpperBound())
	}
	slices.Sort(bounds)
	bounds = slices.CompactFunc(bounds, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) })
	out := make([]*dto.Bucket, 0, len(bounds))
	for _, u := range bounds {
		if math.IsNaN(u) {
			continue
		}
		out = append(out, &dto.Bucket{UpperBound: proto.Float64(u),
			CumulativeCount: proto.Uint64(countAt(a, u) + countAt(b, u))})
	}
	return out
}

// sortedBuckets returns bs sorted by upper bound (a copy if it was not).
func sortedBuckets(bs []*dto.Bucket) []*dto.Bucket {
	by := func(x, y *dto.Bucket) int { return cmp.Compare(x.GetUpperBound(), y.GetUpperBound()) }
	if slices.IsSortedFunc(bs, by) {
		return bs
	}
	bs = slices.Clone(bs)
	slices.SortFunc(bs, by)
	return bs
}

// countAt returns the cumulative count of the last bucket of bs (sorted)
// whose bound is at most u: how many observations bs knows to be <= u.
func countAt(bs []*dto.Bucket, u float64) uint64 {
	var n uint64
	for _, bk := range bs {
		if bk.GetUpperBound() > u {
			break
		}
		n = bk.GetCumulativeCount()
	}
	return n
}

// families returns copies of the accumulated families, each series
// labelled worker="exited".
func (e *exited) families() []*dto.MetricFamily {
	out := make([]*dto.MetricFamily, 0, len(e.fams))
	for name, f := range e.fams {
		mf := &dto.MetricFamily{Name: proto.String(name), Help: proto.String(f.help), Type: f.typ.Enum()}
		for _, k := range slices.Sorted(maps.Keys(f.series)) {
			mf.Metric = append(mf.Metric, proto.Clone(f.series[k]).(*dto.Metric))
		}
		out = append(out, mf)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return cmp.Compare(a.GetName(), b.GetName()) })
	return out
}
