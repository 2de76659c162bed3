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
	"github.com/x448/float16"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
)

// layerConfig sizes a SigLIP encoder layer.
type layerConfig struct {
	hidden, heads, mlp int
	eps                float32
}

// encoderLayer adds one SigLIP encoder layer (pre-LayerNorm: LN1 → q, k, v →
// attention → out projection + residual → LN2 → fc1 + GELU-tanh → fc2 +
// residual) named as in Hugging Face's state dict, and returns its output.
func encoderLayer(b *graph.Builder, c layerConfig, x, mask graph.Tensor, prefix string) graph.Tensor {
	defer b.Scope(prefix)()
	w := func(name string, shape ...int) graph.Tensor { return b.Weight(prefix+"."+name, shape...) }
	lin := func(name string, in graph.Tensor, out, k int) graph.Tensor {
		return b.Linear(in, w(name+".weight", out, k), w(name+".bias", out))
	}
	h := b.LayerNorm(x, w("layer_norm1.weight", c.hidden), w("layer_norm1.bias", c.hidden), c.eps)
	q := lin("self_attn.q_proj", h, c.hidden, c.hidden)
	k := lin("self_attn.k_proj", h, c.hidden, c.hidden)
	v := lin("self_attn.v_proj", h, c.hidden, c.hidden)
	a := b.Attention(q, k, v, mask, c.heads)
	x = b.Add(x, lin("self_attn.out_proj", a, c.hidden, c.hidden))
	h = b.LayerNorm(x, w("layer_norm2.weight", c.hidden), w("layer_norm2.bias", c.hidden), c.eps)
	h = b.GELUTanh(lin("mlp.fc1", h, c.mlp, c.hidden))
	return b.Add(x, lin("mlp.fc2", h, c.hidden, c.mlp))
}

// layerWeights returns random weights for the graph's Weight nodes, scaled
// like a trained layer's (Linear weights ~ 1/√fan_in, norms near 1).
func layerWeights(rng *rand.Rand, g *graph.Graph) mapWeights {
	w := mapWeights{}
	for _, n := range g.Weights() {
		data := randn(rng, n.Elems())
		scale := float32(0.02)
		if len(n.Shape) == 2 {
			scale = 1 / float32(math.Sqrt(float64(n.Shape[1])))
		}
		for i := range data {
			data[i] *= scale
		}
		if len(n.Shape) == 1 && strings.Contains(n.Name, "layer_norm") && strings.HasSuffix(n.Name, ".weight") {
			for i := range data {
				data[i] += 1
			}
		}
		w[n.Name] = graph.F32Value(data, n.Shape...)
	}
	return w
}

// TestEncoderLayer runs two masked SigLIP encoder layers, GPU against the
// CPU executor, with heads of 24 (Dh not a tile multiple) and of 64 (as
// SigLIP2-base's, where CPU adapters with read-only storage textures take
// flash_tex for the attention, whose mask lies in the same arena buffer as
// its output and is read through its texture).
func TestEncoderLayer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		seed     uint64
		c        layerConfig
		seq      int
		valid    [2][2]int // each sequence's unmasked key range
		wantAttn string    // the attention kernel CPU adapters pick
	}{
		{"heads of 24", 31, layerConfig{hidden: 96, heads: 4, mlp: 384, eps: 1e-6}, 17, [2][2]int{{1, 15}, {1, 16}}, ""},
		{"heads of 64", 63, layerConfig{hidden: 128, heads: 2, mlp: 256, eps: 1e-6}, 21, [2][2]int{{1, 19}, {0, 20}}, "flash_tex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(tc.seed, tc.seed+1))
			c, seq := tc.c, tc.seq
			const bsz = 2
			b := graph.NewBuilder()
			x := b.Input("x", graph.F32, bsz, seq, c.hidden)
			m := b.Input("mask", graph.F32, bsz, seq)
			y := encoderLayer(b, c, x, m, "encoder.layers.0")
			y = encoderLayer(b, c, y, m, "encoder.layers.1")
			b.Output("y", y)
			p := plan(t, b)
			assert.Equal(t, 6, p.Fused, "per layer: GELU into fc1, residuals into out_proj and fc2")
			w := layerWeights(rng, p.Graph)
			in := map[string]graph.Value{
				"x":    graph.F32Value(randn(rng, bsz*seq*c.hidden), bsz, seq, c.hidden),
				"mask": graph.F32Value(mask(bsz, seq, tc.valid[0], tc.valid[1]), bsz, seq),
			}
			if tc.wantAttn != "" && testDev.Info().Type == gpu.CPU && testDev.HasStorageTextureRead() {
				ks, err := newExec(t, w, "").Kernels(p)
				require.NoError(t, err)
				assert.Equal(t, tc.wantAttn, ks[attentionStep(p)])
			}
			for _, kernels := range []string{"cpu", "gpu"} {
				t.Run(kernels, func(t *testing.T) {
					cpu, gpu := both(t, p, w, in, kernels)
					t.Logf("max |gpu - cpu| = %.2g", maxErr(cpu["y"], gpu["y"]))
					// Two layers of f32 arithmetic against a
					// float64-accumulating reference; activations are O(1).
					assertClose(t, cpu, gpu, tol{abs: 1e-4, rel: 1e-4})
				})
			}
		})
	}
}

func TestOneSubmitPerRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	c := layerConfig{hidden: 32, heads: 2, mlp: 64, eps: 1e-6}
	b := graph.NewBuilder()
	x := b.Input("x", graph.F32, 1, 5, c.hidden)
	b.Output("y", encoderLayer(b, c, x, graph.Tensor{}, "l"))
	p := plan(t, b)
	e := newExec(t, layerWeights(rng, p.Graph), "")
	in := map[string]graph.Value{"x": graph.F32Value(randn(rng, 5*c.hidden), 1, 5, c.hidden)}
	for range 3 {
		_, err := e.Run(context.Background(), p, in)
		require.NoError(t, err)
	}
	s := e.Stats()
	assert.Equal(t, int64(3), s.Runs)
	assert.Equal(t, int64(3), s.Submits)
	// One dispatch per step, but for the CPU attention, which takes three.
	perRun := len(p.Steps)
	if ks, _ := e.Kernels(p); ks[attentionStep(p)] == "mm" || ks[attentionStep(p)] == "mm_tex" {
		perRun += 2
	}
	assert.Equal(t, int64(3*perRun), s.Dispatches, "dispatches per run")
	assert.Equal(t, 1, s.Programs, "the plan is compiled once")
	assert.Equal(t, int64(3*5*c.hidden*4), s.InputBytes)
	assert.Equal(t, int64(3*5*c.hidden*4), s.OutputBytes, "only the output is read back")
	assert.Positive(t, s.WeightBytes)

	ks, err := e.Kernels(p)
	require.NoError(t, err)
	assert.Len(t, ks, len(p.Steps))
}

func TestTimings(t *testing.T) {
	if !testDev.HasTimestamps() {
		t.Skip("no timestamp queries on this adapter")
	}
	b := graph.NewBuilder()
	x := b.Input("x", graph.F32, 4, 8)
	b.Output("y", b.L2Normalize(b.GELUTanh(x)))
	p := plan(t, b)
	e, err := New(nil, Options{Device: testDev, Timestamps: true})
	require.NoError(t, err)
	defer e.Close()
	_, err = e.Run(context.Background(), p, map[string]graph.Value{"x": graph.F32Value(make([]float32, 32), 4, 8)})
	require.NoError(t, err)
	ts := e.Timings()
	require.Len(t, ts, 2)
	assert.Contains(t, ts[0].Label, "[GELUTanh/vec4]")
	assert.Contains(t, ts[1].Label, "[L2Normalize/rows]")
	assert.Len(t, Summary(ts), 2)
}

// TestPackF16 checks the packing against the GPU's own unpack2x16float, the
// function the f16 Linear kernels read weights with.
func TestPackF16(t *testing.T) {
	vals := []float32{0, 1, -2.5, 65504, 1e-7, 3.14159265, -0.0001, 70000, 0.333333}
	packed := PackF16(vals)
	require.Len(t, packed, 5)
	src := `
@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(1) fn main(@builtin(global_invocation_id) id: vec3<u32>) {
	let v = unpack2x16float(a[id.x]);
	b[2u * id.x] = v.x;
	b[2u * id.x + 1u] = v.y;
}`
	pl, err := testDev.Pipeline(gpu.Shader{Name: "unpack_test.wgsl", Source: src})
	require.NoError(t, err)
	in, err := testDev.Upload("packed", gpu.Bytes(packed), gpu.Storage)
	require.NoError(t, err)
	defer in.Release()
	out, err := testDev.NewBuffer("unpacked", 40, gpu.Storage)
	require.NoError(t, err)
	defer out.Release()
	bg, err := pl.BindGroup(gpu.Binding{Buffer: in}, gpu.Binding{Buffer: out})
	require.NoError(t, err)
	defer bg.Release()
	r := testDev.NewRecorder("unpack")
	r.Dispatch("unpack", pl, bg, 5, 1, 1)
	rb := r.Readback(out, 0, 40)
	_, err = r.Submit(context.Background())
	require.NoError(t, err)
	got := rb.Float32s()
	for i, v := range vals {
		want := float16.Fromfloat32(v).Float32() // round to nearest even
		assert.Equal(t, want, got[i], "value %d (%v)", i, v)
	}
	assert.Equal(t, float32(0), got[9], "odd count padded with zero")
}

func TestKernelSelection(t *testing.T) {
	_, err := New(nil, Options{Device: testDev, Kernels: "attention=nope"})
	require.ErrorContains(t, err, "Attention has variants")
	_, err = New(nil, Options{Device: testDev, Kernels: "frobnicate=x"})
	require.ErrorContains(t, err, `unknown op "frobnicate"`)
	_, err = New(nil, Options{Device: testDev, Kernels: "tpu"})
	require.ErrorContains(t, err, "use cpu, gpu or op=variant")

	b := graph.NewBuilder()
	q := b.Input("q", graph.F32, 1, 4, 16)
	b.Output("a", b.Attention(q, q, q, graph.Tensor{}, 2))
	b.Output("n", b.LayerNorm(q, b.Weight("g", 16), b.Weight("b", 16), 1e-6))
	p := plan(t, b)
	w := mapWeights{"g": graph.F32Value(make([]float32, 16), 16), "b": graph.F32Value(make([]float32, 16), 16)}
	cpuAttn := "mm"
	if testDev.HasStorageTextureRead() {
		cpuAttn = "mm_tex"
	}
	for _, c := range []struct{ spec, attn, ln string }{
		{"cpu", cpuAttn, "rows4"},
		{"gpu", "tiled", "wg"},
		{"gpu,attention=reg", "reg", "wg"},
	} {
		ks, err := newExec(t, w, c.spec).Kernels(p)
		require.NoError(t, err)
		var got []string
		for _, id := range p.Steps {
			got = append(got, ks[id])
		}
		assert.Equal(t, []string{c.attn, c.ln}, got, c.spec)
	}
	t.Setenv("GOSIG_KERNELS", "gpu")
	ks, err := newExec(t, w, "").Kernels(p)
	require.NoError(t, err)
	assert.Equal(t, "tiled", ks[p.Steps[0]], "GOSIG_KERNELS applies when the option is empty")
}

// attentionStep returns the ID of p's Attention step.
func attentionStep(p *graph.Plan) int {
	for _, id := range p.Steps {
		if p.Nodes[id].Op == graph.OpAttention {
			return id
		}
	}
	return -1
}

func TestMissingWeight(t *testing.T) {
	b := graph.NewBuilder()
	x := b.Input("x", graph.F32, 2, 4)
	b.Output("y", b.Linear(x, b.Weight("w", 3, 4), graph.Tensor{}))
	p := plan(t, b)
	_, err := newExec(t, mapWeights{}, "").Run(context.Background(), p, map[string]graph.Value{"x": graph.F32Value(make([]float32, 8), 2, 4)})
	require.ErrorContains(t, err, "weight w: not found")
	_, err = newExec(t, mapWeights{"w": graph.F32Value(make([]float32, 12), 4, 3)}, "").Run(context.Background(), p,
		map[string]graph.Value{"x": graph.F32Value(make([]float32, 8), 2, 4)})
	require.ErrorContains(t, err, "expected shape [3 4], found [4 3]")
}

func TestFold(t *testing.T) {
	for _, n := range []int{1, 65535, 65536, 200000, 65535 * 3} {
		x, y := fold(n, 65535)
		assert.LessOrEqual(t, x, uint32(65535))
		assert.GreaterOrEqual(t, int(x)*int(y), n, fmt.Sprint(n))
		assert.Less(t, int(x)*int(y)-n, int(y), "waste under one row")
	}
}
