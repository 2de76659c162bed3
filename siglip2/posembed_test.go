package siglip2

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/safetensors"
)

// TestResizePositionEmbeddingsMatchesTorch compares with
// Siglip2VisionEmbeddings.resize_positional_embeddings as run by the fixture
// generator (torch F.interpolate, bilinear, antialias) for every image grid
// of two checkpoints, shrinking and enlarging.
func TestResizePositionEmbeddingsMatchesTorch(t *testing.T) {
	for _, name := range []string{"siglip2_tiny_p16", "siglip2_odd_p14"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "models", name)
			m, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
			require.NoError(t, err)
			defer m.Close()
			e, err := safetensors.Open(filepath.Join(dir, "expected.safetensors"))
			require.NoError(t, err)
			defer e.Close()
			pos, shape, err := m.Float32("vision_model.embeddings.position_embedding.weight")
			require.NoError(t, err)
			g := int(math.Sqrt(float64(shape[0])))
			d := shape[1]
			want, wshape, err := e.Float32("vision.mnp64.resized_pos_embeds")
			require.NoError(t, err)
			grids, _, err := e.Int64("naflex.mnp64.spatial_shapes")
			require.NoError(t, err)
			n := wshape[1]
			var maxErr float64
			for b := range wshape[0] {
				h, w := int(grids[2*b]), int(grids[2*b+1])
				got := resizePositionEmbeddings(pos, g, d, h, w)
				for p := range n {
					src := p
					if p >= h*w {
						src = 0 // padded rows repeat the first resized row
					}
					for k := range d {
						diff := math.Abs(float64(got[src*d+k] - want[(b*n+p)*d+k]))
						maxErr = max(maxErr, diff)
					}
				}
			}
			t.Logf("max abs error %.3g", maxErr)
			// torch sums in float32 in its own order; values are O(1), so a few ulps.
			require.Less(t, maxErr, 5e-7)
		})
	}
}
