package gpu

import (
	"context"
	"testing"

	"github.com/rajveermalviya/go-webgpu/wgpu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadTexture writes known texels with a queue write and reads them
// back, at widths whose rows are and are not multiples of the 256-byte
// copy alignment, so the row repacking is exercised.
func TestReadTexture(t *testing.T) {
	raw, err := testDev.Raw()
	require.NoError(t, err)
	for _, size := range [][2]uint32{{64, 3}, {1, 1}, {37, 5}, {300, 7}} {
		w, h := size[0], size[1]
		tex, err := raw.Device.CreateTexture(&wgpu.TextureDescriptor{
			Usage: wgpu.TextureUsage_CopySrc | wgpu.TextureUsage_CopyDst, Dimension: wgpu.TextureDimension_2D,
			Size:   wgpu.Extent3D{Width: w, Height: h, DepthOrArrayLayers: 1},
			Format: wgpu.TextureFormat_RGBA8Unorm, MipLevelCount: 1, SampleCount: 1,
		})
		require.NoError(t, err)
		want := make([]byte, 4*w*h)
		for i := range want {
			want[i] = byte(i*7 + int(w))
		}
		require.NoError(t, raw.Queue.WriteTexture(tex.AsImageCopy(), want,
			&wgpu.TextureDataLayout{BytesPerRow: 4 * w, RowsPerImage: h}, &wgpu.Extent3D{Width: w, Height: h, DepthOrArrayLayers: 1}))
		got, err := testDev.ReadTexture(context.Background(), tex, w, h)
		require.NoError(t, err)
		assert.Equal(t, want, got, "%d×%d", w, h)
		tex.Release()
	}
	_, err = testDev.ReadTexture(context.Background(), nil, 0, 4)
	assert.ErrorContains(t, err, "nothing to read")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = testDev.ReadTexture(ctx, nil, 1, 1)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestRawAndSurfaceErrors(t *testing.T) {
	raw, err := testDev.Raw()
	require.NoError(t, err)
	assert.NotNil(t, raw.Instance)
	assert.NotNil(t, raw.Adapter)
	assert.NotNil(t, raw.Device)
	assert.NotNil(t, raw.Queue)
	_, _, err = testDev.SurfaceFromXlib(nil, 0)
	assert.ErrorContains(t, err, "no X11 display or window")

	d, err := Open(Options{})
	require.NoError(t, err)
	require.NoError(t, d.Close())
	_, err = d.Raw()
	assert.ErrorIs(t, err, errClosed)
}
