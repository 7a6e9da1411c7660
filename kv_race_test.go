//go:build unix && race

package cluster_test

func init() { raceDetector = true }
