package cluster

// GroupRunning returns how many goroutines and timers of p's group (see
// group) are running or armed.
func GroupRunning(p *Primary) int { return p.group.running() }
