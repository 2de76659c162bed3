package gpuexec

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
	"github.com/gosig/gosig/graph/cpuexec"
)

// The Linear kernels against the CPU reference (graph/cpuexec, which
// accumulates each dot product in float64): every variant, f32 and packed
// f16 weights, every epilogue, shapes that are multiples of no tile, K with
// an odd number of vec4 steps (588) and K not a multiple of 4 (587), row
// chunking, and a w that is an activation rather than a weight.
//
// Tolerance: a kernel sums K products in f32, in an order of its own. Each
// addition rounds by at most 2⁻²⁴ of the running sum, whose size is about
// √i·|x|·|w| after i terms, so the error of a dot product is about
// 2⁻²⁴·K·max|x|·max|w| in the worst case and 2⁻²⁴·K/√2·rms(x)·rms(w) for
// random signs; with Gaussian data (max ≈ 4.5·rms) the bound
// 2e-6·√K·max|x|·max|w| is 2.5× to 8× the random-sign estimate at K from
// 588 to 3072 and far under any real bug. rel 1e-5 covers the epilogue
// (GELU's tanh and the residual add, rounded on both sides in f32).

// linearTol is the bound above for operands x and w.
func linearTol(k int, x, w []float32) tol {
	return tol{abs: 2e-6 * math.Sqrt(float64(k)) * maxAbs(x) * maxAbs(w), rel: 1e-5}
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

// roundF16 returns v rounded to half precision, as PackF16 stores it.
func roundF16(v []float32) []float32 {
	out := make([]float32, len(v))
	packed := PackF16(v)
	for i := range v {
		h := uint16(packed[i/2] >> (16 * (i % 2)))
		out[i] = halfToFloat(h)
	}
	return out
}

// halfToFloat decodes an IEEE half: an independent decoder for the test,
// written from the format's definition.
func halfToFloat(h uint16) float32 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return float32(sign * frac * math.Pow(2, -24))
	case 31:
		if frac != 0 {
			return float32(math.NaN())
		}
		return float32(sign * math.Inf(1))
	}
	return float32(sign * (1 + frac/1024) * math.Pow(2, float64(exp-15)))
}

// linTest is one Linear to run on both executors.
type linTest struct {
	m, k, n           int
	bias, gelu, resid bool
	wIsInput          bool // w is an Input (activations), not a Weight
	kernels           string
	f16               bool
	maxBinding        uint64
	maxTexture        int
	seed              int
}

func (c linTest) String() string {
	s := fmt.Sprintf("%dx%dx%d", c.m, c.k, c.n)
	for _, f := range []struct {
		on   bool
		name string
	}{{c.bias, "bias"}, {c.gelu, "gelu"}, {c.resid, "resid"}, {c.wIsInput, "wInput"}, {c.f16, "f16"}} {
		if f.on {
			s += "_" + f.name
		}
	}
	return s
}

// linResult is the data and results of a linTest.
type linResult struct {
	plan       *graph.Plan
	x, w       []float32
	gpu, cpu   []float32
	cpuF32W    []float32 // the CPU result with the unrounded weights (f16 runs)
	kernel     string
	dispatches int64
	weights    mapWeights
	inputs     map[string]graph.Value
}

// run builds c's graph, runs it on the GPU with c's options and on the CPU
// reference (with f16-rounded weights when c.f16) and returns both.
func (c linTest) run(t *testing.T) linResult {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(c.seed), uint64(c.m*c.k*c.n)))
	b := graph.NewBuilder()
	x := b.Input("x", graph.F32, c.m, c.k)
	r := linResult{x: randn(rng, c.m*c.k), w: randn(rng, c.n*c.k), weights: mapWeights{}}
	r.inputs = map[string]graph.Value{"x": graph.F32Value(r.x, c.m, c.k)}
	var w graph.Tensor
	if c.wIsInput {
		w = b.Input("w", graph.F32, c.n, c.k)
		r.inputs["w"] = graph.F32Value(r.w, c.n, c.k)
	} else {
		w = b.Weight("w", c.n, c.k)
		r.weights["w"] = graph.F32Value(r.w, c.n, c.k)
	}
	var bias graph.Tensor
	if c.bias {
		bias = b.Weight("b", c.n)
		r.weights["b"] = graph.F32Value(randn(rng, c.n), c.n)
	}
	y := b.Linear(x, w, bias)
	if c.gelu {
		y = b.GELUTanh(y)
	}
	if c.resid {
		res := b.Input("r", graph.F32, c.m, c.n)
		y = b.Add(y, res)
		r.inputs["r"] = graph.F32Value(randn(rng, c.m*c.n), c.m, c.n)
	}
	b.Output("y", y)
	r.plan = plan(t, b)
	require.Len(t, r.plan.Steps, 1, "the planner fuses the epilogue into the Linear")

	ctx := context.Background()
	e, err := New(r.weights, Options{Device: testDev, Kernels: c.kernels, F16Weights: c.f16, maxBinding: c.maxBinding, maxTexture: c.maxTexture})
	require.NoError(t, err)
	defer e.Close()
	out, err := e.Run(ctx, r.plan, r.inputs)
	require.NoError(t, err)
	r.gpu = out["y"].F32
	ks, err := e.Kernels(r.plan)
	require.NoError(t, err)
	r.kernel = ks[r.plan.Steps[0]]
	r.dispatches = e.Stats().Dispatches

	ref := r.weights
	if c.f16 && !c.wIsInput {
		ref = mapWeights{"w": graph.F32Value(roundF16(r.w), c.n, c.k)}
		if c.bias {
			ref["b"] = r.weights["b"]
		}
		full, err := cpuexec.New(r.weights).Run(ctx, r.plan, r.inputs)
		require.NoError(t, err)
		r.cpuF32W = full["y"].F32
	}
	want, err := cpuexec.New(ref).Run(ctx, r.plan, r.inputs)
	require.NoError(t, err)
	r.cpu = want["y"].F32
	return r
}

// check asserts the GPU result against the CPU reference.
func (r linResult) check(t *testing.T, c linTest) {
	t.Helper()
	want := map[string]graph.Value{"y": graph.F32Value(r.cpu, c.m, c.n)}
	got := map[string]graph.Value{"y": graph.F32Value(r.gpu, c.m, c.n)}
	assertClose(t, want, got, linearTol(c.k, r.x, r.w))
}

// linearVariants are the registered Linear variants; each test runs them
// all.
func linearVariants(t *testing.T) []string {
	vs := Variants(graph.OpLinear)
	require.Subset(t, vs, []string{"naive", "reg", "reg_tex", "tiled"})
	return vs
}

// refused reports whether c names a variant that does not support c's
// Linear on the test device (reg_tex: K % 4 != 0, a w that is not a weight,
// no read-only storage textures). Then it checks that the executor says so
// when that variant is forced, and that the automatic choice computes c
// with another variant, correctly.
func (c linTest) refused(t *testing.T) bool {
	t.Helper()
	_, want, _ := strings.Cut(c.kernels, "linear=")
	b := graph.NewBuilder()
	x := b.Input("x", graph.F32, c.m, c.k)
	w := b.Weight("w", c.n, c.k)
	if c.wIsInput {
		w = b.Input("w", graph.F32, c.n, c.k)
	}
	b.Output("y", b.Linear(x, w, graph.Tensor{}))
	p := plan(t, b)
	n := p.Nodes[p.Steps[0]]
	for _, k := range registry[graph.OpLinear] {
		if k.Name != want || k.Supports == nil || k.Supports(n, inputNodes(p, n), testDev) {
			continue
		}
		e, err := New(mapWeights{"w": graph.F32Value(make([]float32, c.n*c.k), c.n, c.k)}, Options{Device: testDev, Kernels: c.kernels})
		require.NoError(t, err)
		defer e.Close()
		in := map[string]graph.Value{"x": graph.F32Value(make([]float32, c.m*c.k), c.m, c.k), "w": graph.F32Value(make([]float32, c.n*c.k), c.n, c.k)}
		_, err = e.Run(context.Background(), p, in)
		assert.ErrorContains(t, err, "does not support", "forcing %s on an unsupported shape", want)
		auto := c
		auto.kernels = ""
		r := auto.run(t)
		assert.NotEqual(t, want, r.kernel, "the automatic choice skips %s", want)
		r.check(t, auto)
		return true
	}
	return false
}

func TestLinearEpilogues(t *testing.T) {
	for _, v := range linearVariants(t) {
		for mask := range 8 {
			c := linTest{m: 37, k: 588, n: 52, bias: mask&1 != 0, gelu: mask&2 != 0, resid: mask&4 != 0, kernels: "linear=" + v, seed: mask}
			t.Run(v+"/"+c.String(), func(t *testing.T) {
				r := c.run(t)
				assert.Equal(t, v, r.kernel)
				r.check(t, c)
			})
		}
	}
}

func TestLinearShapes(t *testing.T) {
	// Rows around both reg tiles (8 rows and 16) and their column blocks
	// (8·32 and 8·16 columns); K with an even and an odd number of vec4
	// steps and K not a multiple of 4 (the reg variant hands that to the
	// tiled kernel); N below one block and not a multiple of one.
	shapes := [][3]int{{1, 588, 1}, {7, 587, 3}, {8, 768, 257}, {9, 64, 96}, {17, 588, 1152}, {257, 588, 96}, {257, 587, 129}, {64, 3072, 40}}
	for _, v := range linearVariants(t) {
		for i, s := range shapes {
			c := linTest{m: s[0], k: s[1], n: s[2], bias: i%2 == 0, gelu: i%3 == 0, resid: i%4 == 1, kernels: "linear=" + v, seed: i}
			t.Run(v+"/"+c.String(), func(t *testing.T) {
				if c.refused(t) {
					return
				}
				c.run(t).check(t, c)
			})
		}
	}
}

// TestLinearF16 runs the variants that read packed f16 weights against the
// CPU with the same f16-rounded weights (same tolerance as f32: only the
// weights' rounding differs from f32, and it is the same on both sides), and
// bounds their difference from the f32 model: rounding a weight to half
// precision moves it by at most 2⁻¹¹ of itself (2⁻²⁵ absolute below the
// normal range), so |Δy| ≤ Σ_k |x_k|·(2⁻¹¹·|w_k| + 2⁻²⁵) plus the f32
// accumulation bound. It logs the typical size of that difference.
func TestLinearF16(t *testing.T) {
	shapes := [][3]int{{1, 588, 96}, {7, 768, 40}, {257, 588, 129}, {33, 587, 64}, {40, 588, 64}}
	for _, v := range []string{"reg", "reg_tex", "tiled"} {
		for i, s := range shapes {
			c := linTest{m: s[0], k: s[1], n: s[2], bias: true, gelu: i%2 == 0, kernels: "linear=" + v, f16: true, seed: 10 + i}
			t.Run(v+"/"+c.String(), func(t *testing.T) {
				if c.refused(t) {
					return
				}
				r := c.run(t)
				r.check(t, c)
				if c.gelu {
					return // the bound below is for the plain affine map
				}
				tl := linearTol(c.k, r.x, r.w)
				var sq, sqy, worst float64
				for row := range c.m {
					for col := range c.n {
						var bound float64
						for kk := range c.k {
							bound += math.Abs(float64(r.x[row*c.k+kk])) * (math.Abs(float64(r.w[col*c.k+kk]))*math.Pow(2, -11) + math.Pow(2, -25))
						}
						d := math.Abs(float64(r.gpu[row*c.n+col]) - float64(r.cpuF32W[row*c.n+col]))
						require.LessOrEqual(t, d, bound+tl.abs, "y[%d,%d]: f16 weights moved it by %g, over the rounding bound", row, col, d)
						sq += d * d
						sqy += float64(r.cpuF32W[row*c.n+col]) * float64(r.cpuF32W[row*c.n+col])
						worst = max(worst, d)
					}
				}
				t.Logf("f16 weights vs f32 at K=%d: relative RMS error %.2g, worst |Δy| %.2g (|y| ~ %.3g)",
					c.k, math.Sqrt(sq/sqy), worst, math.Sqrt(sqy/float64(c.m*c.n)))
			})
		}
	}
}

// TestLinearActivationW multiplies by a w that is a graph input (the
// image·textᵀ logits), which the executor keeps f32 even with F16Weights.
func TestLinearActivationW(t *testing.T) {
	for _, v := range linearVariants(t) {
		c := linTest{m: 9, k: 1152, n: 5, wIsInput: true, f16: true, kernels: "linear=" + v, seed: 3}
		t.Run(v, func(t *testing.T) {
			if c.refused(t) {
				return
			}
			c.run(t).check(t, c)
		})
	}
}

// TestLinearChunks lowers the binding limit so that x, y and the residual
// are split into row chunks (64 rows each: 200 KB holds 85 rows of K=588).
func TestLinearChunks(t *testing.T) {
	for _, v := range []string{"reg", "tiled"} {
		c := linTest{m: 257, k: 588, n: 64, bias: true, resid: true, kernels: "linear=" + v, maxBinding: 200_000, seed: 4}
		t.Run(v, func(t *testing.T) {
			r := c.run(t)
			r.check(t, c)
			assert.EqualValues(t, 5, r.dispatches, "257 rows in chunks of 64")
		})
	}
	// reg_tex binds no x: its rows are chunked to fit x's texture, here
	// 3 rows of 4096 texels: 83 rows of K=588, so chunks of 64 rows.
	if testDev.HasStorageTextureRead() {
		c := linTest{m: 257, k: 588, n: 64, bias: true, resid: true, gelu: true, kernels: "linear=reg_tex", maxTexture: 3, seed: 5}
		t.Run("reg_tex", func(t *testing.T) {
			r := c.run(t)
			r.check(t, c)
			assert.EqualValues(t, 5, r.dispatches, "257 rows in chunks of 64")
		})
	}
	// A w over the binding limit is an error that names it.
	c := linTest{m: 4, k: 588, n: 100, kernels: "linear=reg", maxBinding: 200_000}
	b := graph.NewBuilder()
	b.Output("y", b.Linear(b.Input("x", graph.F32, c.m, c.k), b.Weight("w", c.n, c.k), graph.Tensor{}))
	e, err := New(mapWeights{"w": graph.F32Value(make([]float32, c.n*c.k), c.n, c.k)}, Options{Device: testDev, Kernels: c.kernels, maxBinding: c.maxBinding})
	require.NoError(t, err)
	defer e.Close()
	_, err = e.Run(context.Background(), plan(t, b), map[string]graph.Value{"x": graph.F32Value(make([]float32, c.m*c.k), c.m, c.k)})
	assert.ErrorContains(t, err, "storage binding")
}

// TestLinearChoice checks the automatic choice: the register kernel reading
// textures on a CPU adapter that has read-only storage textures (else the
// one reading buffers), the shared-memory one when tuning for GPUs.
func TestLinearChoice(t *testing.T) {
	cpu := "reg"
	if testDev.HasStorageTextureRead() {
		cpu = "reg_tex"
	}
	want := map[gpu.AdapterType]string{gpu.CPU: cpu}[testDev.Info().Type]
	if want == "" {
		want = "tiled"
	}
	c := linTest{m: 3, k: 8, n: 4}
	assert.Equal(t, want, c.run(t).kernel)
	c.kernels = "gpu"
	assert.Equal(t, "tiled", c.run(t).kernel)
	c.kernels = "cpu"
	assert.Equal(t, cpu, c.run(t).kernel)
	c.kernels = "cpu,linear=reg"
	assert.Equal(t, "reg", c.run(t).kernel, "reg stays selectable")
}

// TestLinearTexWeight checks reg_tex's weight layout against its
// definition: row r = 4·(G·lanes + l) + e, texel q at (lanes·q + l,
// 4G + e), 4 f32 or 8 packed f16 per texel, zeros past K and past N.
func TestLinearTexWeight(t *testing.T) {
	const n, k = 37, 12 // K padded to 16
	w := make([]float32, n*k)
	for i := range w {
		w[i] = float32(i) + 0.5
	}
	for _, c := range []struct {
		f16   bool
		lanes int
	}{{false, 8}, {true, 8}, {false, 16}, {true, 16}} {
		f16, lanes := c.f16, c.lanes
		words, width, height := linearTexWeight(w, n, k, f16, lanes)
		per := 4
		if f16 {
			per = 8
		}
		groups := (n + 4*lanes - 1) / (4 * lanes)
		assert.Equal(t, lanes*16/per, width, "f16=%v", f16)
		assert.Equal(t, 4*groups, height)
		require.Len(t, words, 4*width*height)
		for r := range groups * 4 * lanes {
			g, l, e := r/(4*lanes), r/4%lanes, r%4
			for kk := range 16 {
				want := float32(0)
				if r < n && kk < k {
					want = w[r*k+kk]
				}
				texel := (4*g+e)*width + (kk/per)*lanes + l
				var got float32
				if f16 {
					word := words[4*texel+(kk%8)/2]
					got = halfToFloat(uint16(word >> (16 * (kk % 2))))
				} else {
					got = math.Float32frombits(words[4*texel+kk%4])
				}
				require.Equal(t, want, got, "f16=%v lanes=%d w[%d, %d]", f16, lanes, r, kk)
			}
		}
	}
}
