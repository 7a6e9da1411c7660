package cluster

import "fmt"

// Policy says how the workers of a cluster share a listening address. The
// primary owns every listening socket in all of them.
type Policy uint8

// Policies.
const (
	// PolicyDefault means Config.Policy (in a worker: whatever the primary
	// is configured with).
	PolicyDefault Policy = iota
	// Shared: every worker accepts on the one listening socket the primary
	// bound; the kernel picks which waiting worker gets each connection.
	// Connections queued in the backlog survive a worker's death. The kernel
	// wakes whichever worker waits, so load can pile on one worker.
	Shared
	// RoundRobin: the primary accepts every connection and hands it to a
	// worker chosen by Config.Scheduler, over the IPC channel (Node's
	// default, SCHED_RR). Even spread, at the cost of one hand-off per
	// connection. The primary keeps each connection until the worker's
	// Accept has returned it: one handed to a worker that closes its
	// listener or dies first goes to another worker. While no worker can
	// take connections (between a crash and its replacement) they are held,
	// up to MaxHeldConns for HoldTimeout, then closed with a FIN, not reset.
	RoundRobin
	// ReusePort: each worker gets its own socket bound with SO_REUSEPORT
	// (Linux) and the kernel spreads connections by hash. The primary binds
	// the sockets and reports an EventError if a process outside the cluster
	// joins the port. Connections queued on a worker's socket are lost when
	// that worker dies.
	ReusePort
	policyEnd
)

// DefaultPolicy is the policy when Config.Policy is PolicyDefault:
// RoundRobin, measured to spread a burst of connections evenly (Shared
// left up to 64/0 over 2 workers) at the same throughput.
const DefaultPolicy = RoundRobin

// String returns the policy's name.
func (p Policy) String() string {
	switch p {
	case PolicyDefault:
		return "default"
	case Shared:
		return "shared"
	case RoundRobin:
		return "round-robin"
	case ReusePort:
		return "reuseport"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}
