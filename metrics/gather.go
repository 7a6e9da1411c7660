package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

	dto "github.com/prometheus/client_model/go"
)

// workerFamilies is the workers' part of a scrape, after [Collector.refresh]
// asked every connected worker: one that answered (fresh) is shown whole,
// one that did not (or is not connected, or has died and is not folded
// yet) by its last cumulative families; then the series of the workers
// that exited.
func (c *Collector) workerFamilies(fresh map[int]bool) ([]*dto.MetricFamily, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var m merger
	for _, id := range slices.Sorted(maps.Keys(c.workers)) {
		st := c.workers[id]
		mfs := st.last
		if !fresh[id] {
			mfs = cumulativeOnly(mfs)
		}
		m.add(mfs, strconv.Itoa(id), st.gen)
	}
	m.add(c.exited.families(), "", "")
	return m.families(), errors.Join(m.errs...)
}

// refresh gathers every connected worker at once, keeping what each sends,
// and returns the ids of those that answered within the timeout.
func (c *Collector) refresh() map[int]bool {
	c.mu.Lock()
	conns := make(map[int]*workerConn, len(c.workers))
	for id, st := range c.workers {
		if st.conn != nil {
			conns[id] = st.conn
		}
	}
	c.mu.Unlock()
	var (
		mu    sync.Mutex
		fresh = make(map[int]bool, len(conns))
		wg    sync.WaitGroup
	)
	for id, wc := range conns {
		wg.Go(func() {
			_, err := wc.gather(c.opts.Timeout)
			if err == nil {
				mu.Lock()
				fresh[id] = true
				mu.Unlock()
				return
			}
			if !errors.Is(err, errGone) { // a worker gone is no failure: its exit folds it
				c.failed(id, err)
			}
		})
	}
	wg.Wait()
	return fresh
}

// failed counts a failed gather of worker id, if it is still known.
func (c *Collector) failed(id int, err error) {
	c.log.Debug("metrics: gather", "worker", id, "err", err)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.workers[id] != nil {
		c.pm.scrapeFailed(id)
	}
}

// merger puts the families of several workers together, one family per
// name, each series labelled with its worker.
type merger struct {
	byName map[string]*dto.MetricFamily
	errs   []error
}

// add adds mfs, relabelled with worker and generation (or as they are if
// worker is empty: the exited series carry their label already). The
// first family of a name sets its help and type; a series of another type
// is left out and reported.
func (m *merger) add(mfs []*dto.MetricFamily, worker, generation string) {
	if m.byName == nil {
		m.byName = make(map[string]*dto.MetricFamily)
	}
	for _, mf := range mfs {
		out := m.byName[mf.GetName()]
		if out == nil {
			out = &dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type, Unit: mf.Unit}
			m.byName[mf.GetName()] = out
		}
		if out.GetType() != mf.GetType() {
			m.errs = append(m.errs, fmt.Errorf("metrics: worker %s: family %s is a %v, not a %v",
				cmp.Or(worker, ExitedWorker), mf.GetName(), mf.GetType(), out.GetType()))
			continue
		}
		for _, x := range mf.GetMetric() {
			if worker != "" {
				x = relabel(x, worker, generation)
			}
			out.Metric = append(out.Metric, x)
		}
	}
}

// families returns the merged families, by name.
func (m *merger) families() []*dto.MetricFamily {
	out := make([]*dto.MetricFamily, 0, len(m.byName))
	for _, name := range slices.Sorted(maps.Keys(m.byName)) {
		out = append(out, m.byName[name])
	}
	return out
}
