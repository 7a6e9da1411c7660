package main

import (
	"strconv"

	"github.com/gocluster/cluster"
)

func isBenchWorker() bool { return cluster.IsWorker() }

// benchWorker counts one-way messages, answers "end" with the count, and
// echoes every other request.
func benchWorker() {
	cluster.Ready()
	count := 0
	done := make(chan struct{})
	cluster.Handle(func(m *cluster.Message) {
		switch {
		case !m.IsRequest():
			count++
		case string(m.Data) == "end":
			m.Reply(strconv.AppendInt(nil, int64(count), 10))
			count = 0
		default:
			m.Reply(m.Data)
		}
	})
	<-done
}
