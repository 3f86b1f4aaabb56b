//go:build unix

package events_test

import (
	"syscall"
	"testing"
)

// cpuClock returns the CPU time this process has used, user and system,
// in nanoseconds.
func cpuClock() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// reportCPU reports the CPU time per op since start (a cpuClock reading),
// garbage collection included: on a machine shared with other work it
// varies less than ns/op, which counts the time the benchmark waits for a
// core.
func reportCPU(b *testing.B, start int64) {
	if start > 0 && b.N > 0 {
		b.ReportMetric(float64(cpuClock()-start)/float64(b.N), "cpu-ns/op")
	}
}
