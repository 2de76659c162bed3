package gpuexec

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
	"github.com/gosig/gosig/graph/cpuexec"
	"github.com/gosig/gosig/shaders"
)

// testDev is the one device of this test binary: opening a device and
// compiling shaders is the slow part of these tests on lavapipe, and the
// device caches every pipeline.
var testDev *gpu.Device

func TestMain(m *testing.M) {
	var err error
	testDev, err = gpu.Open(gpu.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpuexec tests need a WebGPU adapter:", err)
		os.Exit(1)
	}
	code := m.Run()
	testDev.Close()
	os.Exit(code)
}

func randn(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// mask returns a [b, s] mask of ones with the given (batch, position)
// entries zeroed.
func mask(b, s int, zeros ...[2]int) []float32 {
	m := make([]float32, b*s)
	for i := range m {
		m[i] = 1
	}
	for _, z := range zeros {
		m[z[0]*s+z[1]] = 0
	}
	return m
}

// plan builds and plans b's graph.
func plan(t testing.TB, b *graph.Builder) *graph.Plan {
	t.Helper()
	g, err := b.Build()
	require.NoError(t, err)
	p, err := graph.NewPlan(g)
	require.NoError(t, err)
	return p
}

// newExec returns an executor on the shared device with a kernel choice.
func newExec(t testing.TB, w graph.Weights, kernels string) *Executor {
	t.Helper()
	e, err := New(w, Options{Device: testDev, Kernels: kernels})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// skipUnsupported skips the test when the kernel choice names a variant
// that does not support one of p's steps (the executor would refuse it).
func skipUnsupported(t testing.TB, p *graph.Plan, kernels string) {
	t.Helper()
	sel, err := parseSelection(kernels, testDev.Info().Type)
	require.NoError(t, err)
	for _, id := range p.Steps {
		n := p.Nodes[id]
		want, ok := sel.byOp[n.Op]
		if !ok {
			continue
		}
		for _, k := range registry[n.Op] {
			if k.Name == want && k.Supports != nil && !k.Supports(n, inputNodes(p, n), testDev) {
				t.Skipf("%s/%s does not support %v", n.Op, want, n.Shape)
			}
		}
	}
}

// both runs p on the CPU reference and on the GPU with the given kernel
// choice and returns both results.
func both(t testing.TB, p *graph.Plan, w mapWeights, in map[string]graph.Value, kernels string) (cpu, gpu map[string]graph.Value) {
	t.Helper()
	skipUnsupported(t, p, kernels)
	ctx := context.Background()
	cpu, err := cpuexec.New(w).Run(ctx, p, in)
	require.NoError(t, err)
	gpu, err = newExec(t, w, kernels).Run(ctx, p, in)
	require.NoError(t, err)
	return cpu, gpu
}

// tol is an error bound: |got - want| ≤ abs + rel·|want|.
type tol struct{ abs, rel float64 }

// assertClose compares every output element and reports the worst one.
func assertClose(t testing.TB, want, got map[string]graph.Value, tl tol) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		require.True(t, ok, "output %s missing", name)
		require.Equal(t, w.Shape, g.Shape, "output %s shape", name)
		if w.I32 != nil {
			require.Equal(t, w.I32, g.I32, "output %s", name)
			continue
		}
		require.Len(t, g.F32, len(w.F32), "output %s", name)
		worst, at := 0.0, -1
		for i := range w.F32 {
			a, b := float64(w.F32[i]), float64(g.F32[i])
			if math.IsNaN(a) != math.IsNaN(b) {
				t.Fatalf("output %s[%d]: want %v, got %v", name, i, a, b)
			}
			if math.IsNaN(a) {
				continue
			}
			excess := math.Abs(a-b) - (tl.abs + tl.rel*math.Abs(a))
			if excess > worst || at < 0 && excess > 0 {
				worst, at = excess, i
			}
		}
		if at >= 0 {
			t.Errorf("output %s[%d]: want %v, got %v: beyond abs %g + rel %g (shape %v)",
				name, at, w.F32[at], g.F32[at], tl.abs, tl.rel, w.Shape)
		}
	}
}

// maxErr returns the largest |got - want| over an output, for logs.
func maxErr(want, got graph.Value) float64 {
	m := 0.0
	for i := range want.F32 {
		m = math.Max(m, math.Abs(float64(want.F32[i])-float64(got.F32[i])))
	}
	return m
}

// checkGenerated requires each committed shaders/NAME to equal its
// generator's output files[NAME], or with update rewrites the files; rerun
// is the command that rewrites them, for the failure message.
func checkGenerated(t *testing.T, files map[string]string, update bool, rerun string) {
	t.Helper()
	for name, want := range files {
		if update {
			require.NoError(t, os.WriteFile(filepath.Join("..", "..", "shaders", name), []byte(want), 0o644))
			continue
		}
		got, err := shaders.Source(name)
		require.NoError(t, err)
		require.True(t, got == want, "shaders/%s differs from its generator: run %s", name, rerun)
	}
}
