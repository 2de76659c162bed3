package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestProcessCountsWork: spinning for 50 ms of wall time on this goroutine
// adds at least some CPU time (a loaded machine may give it less than 50),
// and the clock never runs backwards.
func TestProcessCountsWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("CPU time is read on Unix only")
	}
	c0 := Process()
	x := 0
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		x++
	}
	c1 := Process()
	if c1 <= c0 {
		t.Fatalf("CPU time went from %v to %v over 50 ms of spinning (%d iterations)", c0, c1, x)
	}
}
