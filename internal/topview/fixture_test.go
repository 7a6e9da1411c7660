package topview

import (
	"time"

	"github.com/gocluster/cluster/control"
)

const mib = 1 << 20

// demoStatus is a cluster of two workers at now: worker 7 starting after 3
// restarts, worker 2 over its memory limit.
func demoStatus(now time.Time) control.Status {
	return control.Status{
		PID:        4242,
		Name:       "shop",
		Dir:        "/srv/shop",
		Started:    now.Add(-200 * time.Second),
		Want:       2,
		Generation: 3,
		Workers: []control.WorkerStatus{
			{ID: 2, PID: 31337, Generation: 3, State: "ready", Uptime: 190, CPU: 12.5,
				RSS: 540 * mib, MaxRSS: 512 * mib, Connections: 17},
			{ID: 7, PID: 31402, Generation: 3, State: "starting", Restarts: 3, Uptime: 2, CPU: 95.2,
				RSS: 12*mib + mib/2, MaxRSS: 512 * mib},
		},
		Store: control.StoreStatus{Keys: 12, Revision: 345},
	}
}
