//go:build unix

package tokenizer

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used (all threads, GC included),
// which a busy machine disturbs less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
