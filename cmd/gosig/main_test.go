package main

import (
	"os"
	"testing"

	"github.com/gosig/gosig/gpu"
)

// TestMain keeps lavapipe at Mesa's default vector width for the whole test
// process: the attn tests draw with the viewer's shader, which does not
// compile on lavapipe at 512 bits (gpu.KeepLavapipeWidth), and other tests
// open devices first. gosig itself decides per command.
func TestMain(m *testing.M) {
	gpu.KeepLavapipeWidth()
	os.Exit(m.Run())
}
