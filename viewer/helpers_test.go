package viewer

import (
	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/siglip2"
)

// The demo checkpoint: a tiny SigLIP 2 trained on coloured shapes, with
// sample images named after their true label.
const (
	shapesDir      = "../testdata/models/shapes-siglip2"
	shapesTemplate = "this is a photo of a {}."
)

// testModel loads the demo checkpoint on the CPU executor (the reference:
// exact and deterministic) and opens a WebGPU device to draw on.
func testModel() (*siglip2.Model, *gpu.Device, error) {
	m, err := siglip2.Load(shapesDir, siglip2.Options{Device: "cpu"})
	if err != nil {
		return nil, nil, err
	}
	dev, err := gpu.Open(gpu.Options{})
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, dev, nil
}
