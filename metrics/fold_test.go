package metrics

import (
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

func label(name, value string) *dto.LabelPair {
	return &dto.LabelPair{Name: proto.String(name), Value: proto.String(value)}
}

func counterFamily(name string, v float64, labels ...*dto.LabelPair) *dto.MetricFamily {
	return &dto.MetricFamily{Name: proto.String(name), Help: proto.String("h"), Type: dto.MetricType_COUNTER.Enum(),
		Metric: []*dto.Metric{{Label: labels, Counter: &dto.Counter{Value: proto.Float64(v)}}}}
}

func histogramFamily(name string, count uint64, sum float64, buckets map[float64]uint64) *dto.MetricFamily {
	h := &dto.Histogram{SampleCount: proto.Uint64(count), SampleSum: proto.Float64(sum)}
	for _, u := range []float64{0.1, 0.5, 1, 2, 5, 10} {
		if n, ok := buckets[u]; ok {
			h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(u), CumulativeCount: proto.Uint64(n)})
		}
	}
	return &dto.MetricFamily{Name: proto.String(name), Help: proto.String("h"), Type: dto.MetricType_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{Histogram: h}}}
}

// worker is one worker's families: every kind the folding treats.
func worker(requests float64, observations uint64) []*dto.MetricFamily {
	gauge := &dto.MetricFamily{Name: proto.String("inflight"), Help: proto.String("h"), Type: dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(3)}}}}
	summary := &dto.MetricFamily{Name: proto.String("rpc"), Help: proto.String("h"), Type: dto.MetricType_SUMMARY.Enum(),
		Metric: []*dto.Metric{{Summary: &dto.Summary{SampleCount: proto.Uint64(observations), SampleSum: proto.Float64(1.5),
			Quantile: []*dto.Quantile{{Quantile: proto.Float64(0.5), Value: proto.Float64(0.2)}}}}}}
	return []*dto.MetricFamily{
		counterFamily("requests_total", requests, label("code", "200"), label("worker", "app-label")),
		gauge, summary,
		histogramFamily("latency", observations, 2, map[float64]uint64{0.1: 1, 1: observations}),
	}
}

func byName(mfs []*dto.MetricFamily) map[string]*dto.MetricFamily {
	m := make(map[string]*dto.MetricFamily)
	for _, mf := range mfs {
		m[mf.GetName()] = mf
	}
	return m
}

func TestFold(t *testing.T) {
	var e exited
	e.fold(worker(10, 4))
	e.fold(worker(5, 6))
	got := byName(e.families())
	if _, ok := got["inflight"]; ok {
		t.Errorf("a gauge was folded")
	}
	req := got["requests_total"].GetMetric()
	if len(req) != 1 || req[0].GetCounter().GetValue() != 15 {
		t.Fatalf("requests_total = %v, want one series of 15", req)
	}
	want := map[string]string{"code": "200", "exported_worker": "app-label", "worker": ExitedWorker}
	if len(req[0].GetLabel()) != len(want) {
		t.Errorf("labels %v, want %v", req[0].GetLabel(), want)
	}
	for _, l := range req[0].GetLabel() {
		if want[l.GetName()] != l.GetValue() {
			t.Errorf("label %s=%q, want %q", l.GetName(), l.GetValue(), want[l.GetName()])
		}
	}
	s := got["rpc"].GetMetric()[0].GetSummary()
	if s.GetSampleCount() != 10 || s.GetSampleSum() != 3 || len(s.GetQuantile()) != 0 {
		t.Errorf("summary = %v, want count 10, sum 3, no quantiles", s)
	}
	h := got["latency"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 10 || h.GetSampleSum() != 4 {
		t.Errorf("histogram count/sum = %d/%v, want 10/4", h.GetSampleCount(), h.GetSampleSum())
	}
	if b := h.GetBucket(); len(b) != 2 || b[0].GetCumulativeCount() != 2 || b[1].GetCumulativeCount() != 10 {
		t.Errorf("buckets = %v, want 0.1:2 1:10", b)
	}
	// The families returned are copies: folding more does not change them.
	e.fold(worker(1, 1))
	if req[0].GetCounter().GetValue() != 15 {
		t.Errorf("a returned series changed with a later fold")
	}
}

// A family that changes type in a later worker is not mixed in.
func TestFoldTypeChange(t *testing.T) {
	var e exited
	e.fold([]*dto.MetricFamily{counterFamily("x", 1)})
	e.fold([]*dto.MetricFamily{histogramFamily("x", 5, 1, nil)})
	got := byName(e.families())["x"]
	if got.GetType() != dto.MetricType_COUNTER || got.GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Errorf("x = %v, want the counter of 1", got)
	}
}

func TestMergeBucketsDifferentBounds(t *testing.T) {
	a := histogramFamily("a", 4, 0, map[float64]uint64{1: 2, 5: 4}).Metric[0].Histogram.Bucket
	b := histogramFamily("b", 3, 0, map[float64]uint64{2: 1, 5: 3}).Metric[0].Histogram.Bucket
	got := mergeBuckets(a, b)
	want := []struct {
		u float64
		n uint64
	}{{1, 2}, {2, 3}, {5, 7}}
	if len(got) != len(want) {
		t.Fatalf("buckets %v, want %v", got, want)
	}
	for i, w := range want {
		if got[i].GetUpperBound() != w.u || got[i].GetCumulativeCount() != w.n {
			t.Errorf("bucket %d = %v, want %v:%d", i, got[i], w.u, w.n)
		}
	}
}

// FuzzFold folds workers made from the input and checks what must hold
// whatever they were: the exited counter is the sum of theirs, the
// histogram's count the sum of counts, its buckets never fall from one
// bound to the next and never exceed the count.
func FuzzFold(f *testing.F) {
	f.Add([]byte{10, 0b000111, 1, 2, 3, 20, 0b110000, 5, 5})
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{255, 0b111111, 9, 9, 9, 9, 9, 9, 1, 0b000001, 200})
	bounds := []float64{0.1, 0.5, 1, 2, 5, math.Inf(1)}
	f.Fuzz(func(t *testing.T, data []byte) {
		var e exited
		var wantCounter float64
		var wantCount uint64
		for len(data) >= 2 {
			value, mask := data[0], data[1]
			data = data[2:]
			buckets := map[float64]uint64{}
			var cum uint64
			for i, u := range bounds {
				if mask&(1<<i) == 0 || len(data) == 0 {
					continue
				}
				cum += uint64(data[0])
				data = data[1:]
				buckets[u] = cum
			}
			count := cum + uint64(value)
			h := histogramFamily("latency", count, float64(value), nil)
			for _, u := range bounds { // histogramFamily knows other bounds
				if n, ok := buckets[u]; ok {
					h.Metric[0].Histogram.Bucket = append(h.Metric[0].Histogram.Bucket,
						&dto.Bucket{UpperBound: proto.Float64(u), CumulativeCount: proto.Uint64(n)})
				}
			}
			e.fold([]*dto.MetricFamily{counterFamily("requests_total", float64(value)), h})
			wantCounter += float64(value)
			wantCount += count
		}
		got := byName(e.families())
		if len(got) == 0 {
			return
		}
		if v := got["requests_total"].GetMetric()[0].GetCounter().GetValue(); v != wantCounter {
			t.Fatalf("counter = %v, want %v", v, wantCounter)
		}
		hist := got["latency"].GetMetric()[0].GetHistogram()
		if hist.GetSampleCount() != wantCount {
			t.Fatalf("count = %d, want %d", hist.GetSampleCount(), wantCount)
		}
		var prev uint64
		prevBound := math.Inf(-1)
		for _, b := range hist.GetBucket() {
			if b.GetUpperBound() <= prevBound {
				t.Fatalf("bounds out of order: %v", hist.GetBucket())
			}
			if b.GetCumulativeCount() < prev || b.GetCumulativeCount() > wantCount {
				t.Fatalf("buckets not cumulative within the count %d: %v", wantCount, hist.GetBucket())
			}
			prev, prevBound = b.GetCumulativeCount(), b.GetUpperBound()
		}
	})
}
