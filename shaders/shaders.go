// Package shaders holds gosig's WGSL compute kernels and exposes them to Go
// through go:embed. Every *.wgsl file in this folder is embedded; each starts
// with a comment saying what it computes, its bindings, its workgroup size
// and its override constants.
//
// The kernels use `override` constants for sizes known when a plan is built
// (head dimension, tile sizes); package gpu specialises them in the source,
// since wgpu 0.17 cannot set them at pipeline creation.
//
// # Loop limit on lavapipe
//
// Mesa's lavapipe (llvmpipe's gallivm, gosig's CPU adapter) keeps one loop
// counter per invocation (per SIMD vector of invocations) that every
// iteration of every loop decrements, nested loops once per inner iteration;
// past LavapipeLoopLimit iterations in all it leaves every loop at once and
// the kernel computes garbage without any error. Mesa unrolls some loops
// with a constant trip count (16 iterations were unrolled, 40 were not) and
// those do not count, but nothing promises it. GPUs have no such limit.
//
// So every kernel's header states its worst-case loop trips per invocation,
// and kernels meant for CPU adapters keep it far below the limit at the
// largest shapes gosig runs (sequences of 4096 tokens, hidden 1536, head
// dimension 128, MLP 6144, vocabulary 256000, batch 64): loops over a
// sequence visit each position once with the work per position unrolled,
// never a loop over the head dimension inside a loop over keys. Package
// graph/gpuexec counts each kernel's trips for the shapes of a graph and,
// on CPU adapters, refuses a variant that would pass the limit.
package shaders

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// LavapipeLoopLimit is the number of loop iterations, all loops of an
// invocation together, after which lavapipe silently ends its loops (Mesa's
// LP_MAX_TGSI_LOOP_ITERATIONS); see the package documentation.
const LavapipeLoopLimit = 65535

//go:embed *.wgsl
var files embed.FS

// Source returns the WGSL text of the named shader ("layernorm.wgsl").
func Source(name string) (string, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("shaders: no shader %q (have %s)", name, strings.Join(Names(), ", "))
	}
	return string(b), nil
}

// Names lists the embedded shaders, sorted.
func Names() []string {
	es, _ := fs.ReadDir(files, ".")
	names := make([]string, 0, len(es))
	for _, e := range es {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// FS returns the embedded shader files.
func FS() fs.FS { return files }
