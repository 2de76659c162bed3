// Package graph describes a neural-network forward pass as a small graph of
// tensors and a closed set of ops, plans its execution (order, fusion, buffer
// reuse) and defines the Executor interface that runs a plan.
//
// Two executors implement it: graph/cpuexec, a pure Go reference written for
// clarity, and graph/gpuexec, which runs WGSL kernels through WebGPU. Both must
// agree on every op; the semantics below are the contract.
//
// All tensors are row-major with the last dimension contiguous. Masks are F32
// tensors holding 1 for a valid position and 0 for a padded one.
//
// The package knows nothing of SigLIP: models are written as functions that
// call a Builder.
package graph

import (
	"fmt"
	"strings"
)

// DType is the element type of a tensor.
type DType uint8

// The element types a graph can hold. Activations and weights are F32; token
// ids are I32.
const (
	F32 DType = iota
	I32
)

// String returns the dtype's name as safetensors spells it.
func (d DType) String() string {
	switch d {
	case F32:
		return "F32"
	case I32:
		return "I32"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Op is one of the closed set of operations an executor implements.
type Op uint8

// The op set. Each op's semantics are documented on the Builder method that
// creates it.
const (
	OpInput Op = iota
	OpWeight
	OpLinear
	OpLayerNorm
	OpGELUTanh
	OpAdd
	OpSoftmax
	OpAttention
	OpAttentionProbs
	OpGather
	OpMaskedMean
	OpL2Normalize
	OpToken
	OpReshape
	numOps
)

var opNames = [numOps]string{
	OpInput:          "Input",
	OpWeight:         "Weight",
	OpLinear:         "Linear",
	OpLayerNorm:      "LayerNorm",
	OpGELUTanh:       "GELUTanh",
	OpAdd:            "Add",
	OpSoftmax:        "Softmax",
	OpAttention:      "Attention",
	OpAttentionProbs: "AttentionProbs",
	OpGather:         "Gather",
	OpMaskedMean:     "MaskedMean",
	OpL2Normalize:    "L2Normalize",
	OpToken:          "Token",
	OpReshape:        "Reshape",
}

// String returns the op's name.
func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Activation is the element-wise function a Linear applies after its bias.
type Activation uint8

// Activations a Linear can fuse.
const (
	ActNone Activation = iota
	ActGELUTanh
)

// String returns the activation's name.
func (a Activation) String() string {
	switch a {
	case ActNone:
		return "none"
	case ActGELUTanh:
		return "gelu_tanh"
	}
	return fmt.Sprintf("Activation(%d)", uint8(a))
}

// None marks an absent optional input in Node.Inputs.
const None = -1

// Node is one tensor of a graph and the op that produces it.
//
// Inputs hold node IDs in a fixed order per op; an absent optional input is
// None:
//
//	Linear:         x, w, bias, residual
//	LayerNorm:      x, gamma, beta
//	Add:            a, b
//	Softmax:        x, mask
//	Attention:      q, k, v, keyMask
//	AttentionProbs: q, k, keyMask
//	Gather:         table, ids
//	MaskedMean:     x, mask
//	GELUTanh, L2Normalize, Token, Reshape: x
type Node struct {
	ID     int
	Op     Op
	DType  DType
	Shape  []int
	Inputs []int
	// Name is the feed name of an Input, the weight key of a Weight, and a
	// label (scope/op) for every other node, used in errors and timings.
	Name string

	Act   Activation // Linear
	Eps   float32    // LayerNorm
	Heads int        // Attention, AttentionProbs
	Index int        // Token: the position; negative counts from the end
}

// Elems returns the number of elements of the node's tensor.
func (n *Node) Elems() int { return Elems(n.Shape) }

// Input returns the i-th input's ID, or None if there is no such input.
func (n *Node) Input(i int) int {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return None
}

func (n *Node) String() string {
	var in []string
	for _, id := range n.Inputs {
		if id == None {
			in = append(in, "-")
		} else {
			in = append(in, fmt.Sprintf("%%%d", id))
		}
	}
	return fmt.Sprintf("%%%d = %s(%s) %v %s", n.ID, n.Op, strings.Join(in, ", "), n.Shape, n.Name)
}

// Elems returns the number of elements of a tensor of the given shape.
func Elems(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Graph is an immutable, topologically ordered list of nodes with named
// inputs, weights and outputs. Build one with a Builder.
type Graph struct {
	Nodes []*Node
	// Outputs maps each output's name to its node ID, in the order declared.
	Outputs     []Output
	inputByName map[string]int
}

// Output names a node whose value a run returns.
type Output struct {
	Name string
	ID   int
}

// InputNode returns the Input node fed under name.
func (g *Graph) InputNode(name string) (*Node, bool) {
	id, ok := g.inputByName[name]
	if !ok {
		return nil, false
	}
	return g.Nodes[id], true
}

// Inputs returns the graph's Input nodes in creation order.
func (g *Graph) Inputs() []*Node {
	var in []*Node
	for _, n := range g.Nodes {
		if n.Op == OpInput {
			in = append(in, n)
		}
	}
	return in
}

// Weights returns the graph's Weight nodes in creation order.
func (g *Graph) Weights() []*Node {
	var w []*Node
	for _, n := range g.Nodes {
		if n.Op == OpWeight {
			w = append(w, n)
		}
	}
	return w
}

// String prints the graph one node a line, for debugging.
func (g *Graph) String() string {
	var sb strings.Builder
	for _, n := range g.Nodes {
		sb.WriteString(n.String())
		sb.WriteByte('\n')
	}
	for _, o := range g.Outputs {
		fmt.Fprintf(&sb, "output %s = %%%d\n", o.Name, o.ID)
	}
	return sb.String()
}
