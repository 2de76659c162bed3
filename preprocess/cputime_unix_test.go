//go:build unix

package preprocess

import "syscall"

// processCPU returns the CPU time (user + system) this process has used, in
// seconds: on a loaded machine it measures the work itself, where wall time
// also counts the waits for a core.
func processCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
