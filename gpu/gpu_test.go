package gpu

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testDev is one device shared by the tests of this package: opening one
// costs tens of milliseconds and every pipeline compiled on it is cached.
var testDev *Device

func TestMain(m *testing.M) {
	var err error
	testDev, err = Open(Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpu tests need a WebGPU adapter:", err)
		os.Exit(1)
	}
	code := m.Run()
	testDev.Close()
	os.Exit(code)
}

// scaleShader multiplies every element by an override constant and adds a
// uniform parameter: out[i] = in[i]*SCALE + p.add.
const scaleShader = `
struct P { n: u32, add: f32 }
override SCALE: f32 = 1.0;
override WG: u32 = 64u;
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
	if (id.x < p.n) { dst[id.x] = src[id.x] * SCALE + p.add; }
}
`

// runScale runs scaleShader on d over in and returns the result read back.
func runScale(t testing.TB, d *Device, in []float32, scale, add float32) []float32 {
	t.Helper()
	p, err := d.Pipeline(Shader{Name: "scale.wgsl", Source: scaleShader, Constants: map[string]float64{"SCALE": float64(scale)}})
	require.NoError(t, err)
	src, err := d.Upload("src", Bytes(in), Storage)
	require.NoError(t, err)
	defer src.Release()
	dst, err := d.NewBuffer("dst", uint64(4*len(in)), Storage)
	require.NoError(t, err)
	defer dst.Release()
	pack := d.NewUniformPack()
	par := pack.Add(new(Params).U32(uint32(len(in))).F32(add))
	ub, err := pack.Upload(d, "params")
	require.NoError(t, err)
	defer ub.Release()
	bg, err := p.BindGroup(Binding{Buffer: src}, Binding{Buffer: dst}, *par)
	require.NoError(t, err)
	defer bg.Release()
	r := d.NewRecorder("scale")
	r.Dispatch("scale", p, bg, uint32((len(in)+63)/64), 1, 1)
	rb := r.Readback(dst, 0, uint64(4*len(in)))
	res, err := r.Submit(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, res.Dispatches)
	return rb.Float32s()
}

func TestInfo(t *testing.T) {
	info := testDev.Info()
	assert.NotEmpty(t, info.Name)
	assert.Equal(t, "vulkan", info.Backend)
	lim := testDev.Limits()
	assert.GreaterOrEqual(t, lim.MaxStorageBufferBindingSize, uint64(128<<20), "the device should get the adapter's limits, not WebGPU's defaults")
	assert.Equal(t, info.Limits.MaxBufferSize, lim.MaxBufferSize)
	assert.Contains(t, info.String(), info.Name)
}

func TestDispatchAndReadback(t *testing.T) {
	in := make([]float32, 1000)
	for i := range in {
		in[i] = float32(i) - 500
	}
	out := runScale(t, testDev, in, 2.5, 1)
	for i := range in {
		// Exact: one multiply and one add of representable values.
		require.Equal(t, in[i]*2.5+1, out[i], "element %d", i)
	}
}

func TestPipelineCache(t *testing.T) {
	s := Shader{Name: "scale.wgsl", Source: scaleShader, Constants: map[string]float64{"SCALE": 3}}
	p1, err := testDev.Pipeline(s)
	require.NoError(t, err)
	p2, err := testDev.Pipeline(s)
	require.NoError(t, err)
	assert.Same(t, p1, p2, "same shader and constants must hit the cache")
	s.Constants = map[string]float64{"SCALE": 4}
	p3, err := testDev.Pipeline(s)
	require.NoError(t, err)
	assert.NotSame(t, p1, p3, "other constants make another pipeline")
	assert.Equal(t, "scale.wgsl{SCALE=4}", p3.Label())
	assert.Equal(t, []BindingInfo{{0, "src", ReadOnly}, {1, "dst", ReadWrite}, {2, "p", UniformBinding}}, p3.Bindings())
}

func TestShaderErrorNamesShader(t *testing.T) {
	_, err := testDev.Pipeline(Shader{Name: "broken.wgsl", Source: "@compute @workgroup_size(1) fn main( {}"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "broken.wgsl")
	assert.Contains(t, err.Error(), "expected")

	// A shader that parses but fails validation (an f32 stored into a u32
	// array) is reported too.
	_, err = testDev.Pipeline(Shader{Name: "invalid.wgsl", Source: `
@group(0) @binding(0) var<storage, read_write> a: array<u32>;
@compute @workgroup_size(1) fn main() { a[0] = 1.0; }`})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid.wgsl")

	_, err = testDev.Pipeline(Shader{Name: "scale.wgsl", Source: scaleShader, Constants: map[string]float64{"NOPE": 1}})
	require.ErrorContains(t, err, "NOPE is not declared")
}

func TestBindGroupChecks(t *testing.T) {
	p, err := testDev.Pipeline(Shader{Name: "scale.wgsl", Source: scaleShader})
	require.NoError(t, err)
	b, err := testDev.NewBuffer("b", 64, Storage)
	require.NoError(t, err)
	defer b.Release()
	_, err = p.BindGroup(Binding{Buffer: b})
	require.ErrorContains(t, err, "has 3 bindings, 1 given")
	_, err = p.BindGroup(Binding{Buffer: b}, Binding{Buffer: b}, Binding{Buffer: b})
	require.ErrorContains(t, err, "binding 2 (p) is a uniform")
	_, err = p.BindGroup(Binding{Buffer: b, Offset: 4}, Binding{Buffer: b}, Binding{Buffer: b})
	require.ErrorContains(t, err, "not a multiple of")
}

func TestPartialReadback(t *testing.T) {
	in := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	b, err := testDev.Upload("in", Bytes(in), Storage)
	require.NoError(t, err)
	defer b.Release()
	r := testDev.NewRecorder("partial")
	first := r.Readback(b, 4, 8)
	last := r.Readback(b, 28, 4)
	_, err = r.Submit(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []float32{2, 3}, first.Float32s())
	assert.Equal(t, []float32{8}, last.Float32s())

	got, err := testDev.Read(context.Background(), b, 16, 8)
	require.NoError(t, err)
	assert.Equal(t, []float32{5, 6}, Float32s(got))

	r = testDev.NewRecorder("bad")
	r.Readback(b, 0, 64)
	_, err = r.Submit(context.Background())
	require.ErrorContains(t, err, "must be in range")
}

func TestCopyAndClear(t *testing.T) {
	a, err := testDev.Upload("a", Bytes([]float32{1, 2, 3, 4}), Storage)
	require.NoError(t, err)
	defer a.Release()
	b, err := testDev.Upload("b", Bytes([]float32{9, 9, 9, 9}), Storage)
	require.NoError(t, err)
	defer b.Release()
	r := testDev.NewRecorder("copy")
	r.Copy(a, 4, b, 0, 8)
	r.Clear(b, 12, 4)
	rb := r.Readback(b, 0, 16)
	_, err = r.Submit(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []float32{2, 3, 9, 0}, rb.Float32s())
}

func TestTimestamps(t *testing.T) {
	if !testDev.HasTimestamps() {
		t.Skip("adapter has no timestamp queries")
	}
	p, err := testDev.Pipeline(Shader{Name: "scale.wgsl", Source: scaleShader})
	require.NoError(t, err)
	src, err := testDev.NewBuffer("src", 4096, Storage)
	require.NoError(t, err)
	defer src.Release()
	dst, err := testDev.NewBuffer("dst", 4096, Storage)
	require.NoError(t, err)
	defer dst.Release()
	ub, err := testDev.Upload("p", new(Params).U32(1024).F32(0).Bytes(), Uniform)
	require.NoError(t, err)
	defer ub.Release()
	bg, err := p.BindGroup(Binding{Buffer: src}, Binding{Buffer: dst}, Binding{Buffer: ub})
	require.NoError(t, err)
	defer bg.Release()
	r := testDev.NewRecorder("timed")
	r.Time(true)
	for i := range 3 {
		r.Dispatch(fmt.Sprint("d", i), p, bg, 16, 1, 1)
	}
	res, err := r.Submit(context.Background())
	require.NoError(t, err)
	require.Len(t, res.Timings, 3)
	for i, tm := range res.Timings {
		assert.Equal(t, fmt.Sprint("d", i), tm.Label)
		assert.Equal(t, "scale.wgsl", tm.Shader)
		assert.GreaterOrEqual(t, tm.Duration.Nanoseconds(), int64(0))
	}
	assert.Greater(t, testDev.TimestampPeriod(), 0.0)
}

func TestBadOptions(t *testing.T) {
	_, err := Open(Options{Backend: "directx9"})
	require.ErrorContains(t, err, "unknown backend")
	_, err = Open(Options{Adapter: "no adapter is called this"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), testDev.Info().Name, "the error lists the adapters there are")
	t.Setenv("GOSIG_BACKEND", "bogus")
	_, err = Adapters(Options{})
	require.ErrorContains(t, err, "bogus")
}

func TestAdapters(t *testing.T) {
	as, err := Adapters(Options{})
	require.NoError(t, err)
	var names []string
	for _, a := range as {
		names = append(names, a.Name)
	}
	assert.Contains(t, names, testDev.Info().Name)
}

func TestClosedDevice(t *testing.T) {
	d, err := Open(Options{})
	require.NoError(t, err)
	b, err := d.NewBuffer("b", 16, Storage)
	require.NoError(t, err)
	require.NoError(t, d.Close())
	require.NoError(t, d.Close(), "Close is idempotent")
	b.Release() // a no-op after Close
	_, err = d.NewBuffer("c", 16, Storage)
	require.ErrorIs(t, err, errClosed)
	_, err = d.Pipeline(Shader{Name: "scale.wgsl", Source: scaleShader})
	require.ErrorIs(t, err, errClosed)
}

// TestOpenCloseLeak opens and closes a device 50 times, running a kernel
// each time, and checks that file descriptors and resident memory stay
// bounded: every wgpu object must be released.
func TestOpenCloseLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 50 devices")
	}
	in := []float32{1, 2, 3}
	cycle := func() {
		d, err := Open(Options{})
		require.NoError(t, err)
		out := runScale(t, d, in, 2, 0)
		require.Equal(t, []float32{2, 4, 6}, out)
		require.NoError(t, d.Close())
	}
	// Warm up: the driver and allocator reach a steady state.
	for range 5 {
		cycle()
	}
	fd0, rss0 := fds(t), rss(t)
	for range 50 {
		cycle()
	}
	fd1, rss1 := fds(t), rss(t)
	t.Logf("file descriptors %d → %d, RSS %d → %d MiB", fd0, fd1, rss0>>20, rss1>>20)
	assert.LessOrEqual(t, fd1, fd0+2, "file descriptors leak")
	// A leaked device costs lavapipe several MiB; 50 leaks would be hundreds.
	assert.Less(t, rss1-rss0, int64(64<<20), "resident memory grows")
}

func fds(t *testing.T) int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(es)
}

func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// TestKeepLavapipeWidth: once a device is open, keeping Mesa's width is too
// late exactly when gosig set LP_NATIVE_VECTOR_WIDTH itself (AVX-512 CPUs
// without the variable set), and the variable is left as it is.
func TestKeepLavapipeWidth(t *testing.T) {
	require.NotNil(t, testDev, "TestMain opened a device")
	before, had := os.LookupEnv("LP_NATIVE_VECTOR_WIDTH")
	assert.Equal(t, !setWidth, KeepLavapipeWidth())
	after, has := os.LookupEnv("LP_NATIVE_VECTOR_WIDTH")
	assert.Equal(t, had, has)
	assert.Equal(t, before, after)
}
