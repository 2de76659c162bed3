package siglip2

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/safetensors"
)

// fixture opens one of the Hugging Face fixture folders in testdata/models.
type fixture struct {
	name     string
	model    *safetensors.File
	expected *safetensors.File
}

func openFixture(t testing.TB, name string) *fixture {
	t.Helper()
	dir := filepath.Join("..", "testdata", "models", name)
	m, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	e, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return &fixture{name: name, model: m, expected: e}
}

func (f *fixture) f32(t testing.TB, key string) ([]float32, []int) {
	t.Helper()
	v, s, err := f.expected.Float32(key)
	require.NoError(t, err, key)
	return v, s
}

// assertClose compares got with want element-wise and reports the largest
// absolute difference.
func assertClose(t testing.TB, what string, want, got []float32, tol float64) {
	t.Helper()
	require.Equal(t, len(want), len(got), what)
	var worst float64
	at := 0
	for i := range want {
		d := math.Abs(float64(want[i] - got[i]))
		if d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	t.Logf("%-40s max abs diff %.3g", what, worst)
	if !(worst <= tol) {
		t.Errorf("%s: max abs diff %.3g at %d (want %g, got %g) exceeds %g", what, worst, at, want[at], got[at], tol)
	}
}
