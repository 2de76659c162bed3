package graph

import (
	"context"
	"fmt"
	"slices"
)

// Weights is where an executor finds the data of a graph's Weight nodes, by
// name. Executors fetch each weight once and cache it.
type Weights interface {
	// Weight returns the named parameter as float32 values and its shape.
	Weight(name string) (data []float32, shape []int, err error)
}

// MapWeights is a Weights source held in memory, keyed by weight name: for
// tests, benchmarks and graphs whose parameters are computed rather than
// loaded.
type MapWeights map[string]Value

// Weight returns the named value's float32 data and shape.
func (m MapWeights) Weight(name string) ([]float32, []int, error) {
	v, ok := m[name]
	if !ok {
		return nil, nil, fmt.Errorf("weight %s: not found", name)
	}
	if v.F32 == nil {
		return nil, nil, fmt.Errorf("weight %s: %v values, want F32", name, v.DType())
	}
	return v.F32, v.Shape, nil
}

// Value is a tensor on the host: an input fed to a run or an output returned
// by one. Exactly one of F32 and I32 holds the data.
type Value struct {
	Shape []int
	F32   []float32
	I32   []int32
}

// F32Value wraps float32 data with its shape.
func F32Value(data []float32, shape ...int) Value {
	return Value{Shape: shape, F32: data}
}

// I32Value wraps int32 data with its shape.
func I32Value(data []int32, shape ...int) Value {
	return Value{Shape: shape, I32: data}
}

// DType returns the value's element type.
func (v Value) DType() DType {
	if v.I32 != nil {
		return I32
	}
	return F32
}

// Len returns the number of elements the value holds.
func (v Value) Len() int {
	if v.I32 != nil {
		return len(v.I32)
	}
	return len(v.F32)
}

// Executor runs plans. Implementations bind weights from a Weights source
// once and cache per-plan resources.
type Executor interface {
	// Run executes p with the named inputs and returns every output of the
	// plan by name.
	Run(ctx context.Context, p *Plan, inputs map[string]Value) (map[string]Value, error)
	// Name says which executor this is and on what ("cpu", "gpu: llvmpipe").
	Name() string
	// Close releases what the executor holds.
	Close() error
}

// CheckInputs verifies that every input the plan reads is fed, with the
// declared dtype, shape and length. Executors call it before running.
func CheckInputs(p *Plan, inputs map[string]Value) error {
	for _, n := range p.LiveInputs() {
		v, ok := inputs[n.Name]
		if !ok {
			return fmt.Errorf("graph: input %q %v is not fed", n.Name, n.Shape)
		}
		if v.DType() != n.DType {
			return fmt.Errorf("graph: input %q must be %s, fed %s", n.Name, n.DType, v.DType())
		}
		if !slices.Equal(v.Shape, n.Shape) {
			return fmt.Errorf("graph: input %q must have shape %v, fed %v", n.Name, n.Shape, v.Shape)
		}
		if v.Len() != n.Elems() {
			return fmt.Errorf("graph: input %q has shape %v (%d elements) but holds %d", n.Name, v.Shape, n.Elems(), v.Len())
		}
	}
	return nil
}

// CheckWeight verifies that a weight source returned data of the shape the
// graph declares for node n.
func CheckWeight(n *Node, data []float32, shape []int) error {
	if !slices.Equal(shape, n.Shape) {
		return fmt.Errorf("weight %s: expected shape %v, found %v", n.Name, n.Shape, shape)
	}
	if len(data) != n.Elems() {
		return fmt.Errorf("weight %s: shape %v needs %d values, found %d", n.Name, n.Shape, n.Elems(), len(data))
	}
	return nil
}

// CheckIDs verifies that every id lies in [0, vocab): executors call it on
// the ids that feed a Gather, so an out-of-range token is an error rather
// than a read outside the table.
func CheckIDs(name string, ids []int32, vocab int) error {
	for i, id := range ids {
		if id < 0 || int(id) >= vocab {
			return fmt.Errorf("graph: input %q: id %d at position %d is outside the vocabulary [0, %d)", name, id, i, vocab)
		}
	}
	return nil
}
