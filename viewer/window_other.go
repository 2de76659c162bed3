//go:build !linux || wayland

package viewer

import (
	"context"
	"fmt"

	"github.com/gosig/gosig/gpu"
)

// CheckDisplay reports that this build has no viewer window: it supports
// X11 on Linux only.
func CheckDisplay() error {
	return fmt.Errorf("%w: the viewer window supports X11 on Linux only", ErrNoDisplay)
}

// Run fails: this build has no viewer window (see CheckDisplay). Render
// draws the same picture into a PNG.
func Run(ctx context.Context, dev *gpu.Device, src Source, opts WindowOptions) error {
	return CheckDisplay()
}
