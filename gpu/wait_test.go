package gpu

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// spinShader runs a xorshift generator ITERS×spinUnroll times per
// invocation: integer arithmetic that a compiler cannot fold, so the work is
// real and the host can check the results.
// The loop body is unrolled because lavapipe (gallivm) ends a shader's loops
// after 65535 iterations in all.
var spinShader = `
override ITERS: u32 = 1u;
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
	var x = id.x + 1u;
	for (var i = 0u; i < ITERS; i = i + 1u) {
` + strings.Repeat("\t\tx ^= x << 13u; x ^= x >> 17u; x ^= x << 5u;\n", spinUnroll) + `	}
	out[id.x] = x;
}
`

const spinUnroll = 256

func runSpin(t *testing.T, iters uint32, n int) ([]uint32, time.Duration) {
	t.Helper()
	p, err := testDev.Pipeline(Shader{Name: "spin.wgsl", Source: spinShader, Constants: map[string]float64{"ITERS": float64(iters)}})
	require.NoError(t, err)
	out, err := testDev.NewBuffer("out", uint64(4*n), Storage)
	require.NoError(t, err)
	defer out.Release()
	bg, err := p.BindGroup(Binding{Buffer: out})
	require.NoError(t, err)
	defer bg.Release()
	r := testDev.NewRecorder("spin")
	r.Dispatch("spin", p, bg, uint32(n/64), 1, 1)
	rb := r.Readback(out, 0, uint64(4*n))
	t0 := time.Now()
	_, err = r.Submit(context.Background())
	require.NoError(t, err)
	raw := rb.Bytes()
	vals := make([]uint32, n)
	for i := range vals {
		vals[i] = binary.LittleEndian.Uint32(raw[4*i:])
	}
	return vals, time.Since(t0)
}

// TestLongSubmit runs one dispatch for longer than wgpu 0.17's 5 s fence
// timeout. A blocking wgpu poll gives up after 5 s and frees buffers the GPU
// still uses (a crash in lavapipe); gosig's wait must outlast it and read
// the right values.
func TestLongSubmit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for over 6 s")
	}
	// Calibrate to ~7 s; this machine's speed drifts, so lengthen and retry
	// if the run came out short. Past lavapipe's loop limit (60000 trips
	// here), more invocations make it longer.
	n := 4096
	_, probe := runSpin(t, 1000, n)
	scale := 7 * float64(time.Second) / float64(max(probe, time.Millisecond))
	iters := uint32(min(max(1000*scale, 1000), 60000))
	n *= max(1, int(1000*scale/60000+0.999))
	got, took := runSpin(t, iters, n)
	if took < 5500*time.Millisecond {
		scale = 7 * float64(time.Second) / float64(took)
		if more := float64(iters) * scale; more <= 60000 {
			iters = uint32(more)
		} else {
			n = int(float64(n)*more/float64(iters)/64+1) * 64
		}
		got, took = runSpin(t, iters, n)
	}
	t.Logf("%d×%d steps per invocation, %d invocations, took %v", iters, spinUnroll, n, took)
	require.Greater(t, took, 5*time.Second, "the submit must outlast wgpu's 5 s fence timeout")
	for id, v := range got[:8] {
		x := uint32(id) + 1
		for range iters * spinUnroll {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
		}
		require.Equal(t, x, v, "invocation %d", id)
	}
}
