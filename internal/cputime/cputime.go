// Package cputime reads the CPU time the process has used, which the
// benchmarks report beside wall time: on a machine shared with other work
// (or with lavapipe's threads) it measures the work itself, where wall time
// also counts the waits for a core.
package cputime

import "time"

// Process returns the CPU time, user and system, of all the process's
// threads so far (garbage collection included); 0 where the platform does
// not say.
func Process() time.Duration { return process() }
