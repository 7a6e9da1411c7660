//go:build unix

package cluster

// CheckRecycle runs the primary's check of Config.MaxRSS and MaxAge now,
// as its ticker does, and returns when it is done (false if Run is not
// running): a recycle it starts has forked its replacement by then.
func CheckRecycle(p *Primary) bool { return p.call(p.checkRecycle) }
