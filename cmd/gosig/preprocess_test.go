package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosig/gosig/safetensors"
)

// fixtures holds the reference fixtures (see testdata/README.md).
const fixtures = "../../testdata/models"

func runGosig(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// openOutputAndExpected opens what the command wrote and a fixture's tensors.
func openOutputAndExpected(t *testing.T, out, fixture string) (got, exp *safetensors.File) {
	t.Helper()
	got, err := safetensors.Open(out)
	require.NoError(t, err)
	t.Cleanup(func() { got.Close() })
	exp, err = safetensors.Open(filepath.Join(fixtures, fixture, "expected.safetensors"))
	require.NoError(t, err)
	t.Cleanup(func() { exp.Close() })
	return got, exp
}

// TestPreprocessCommandNaFlex writes the NaFlex inputs of a fixture image and
// checks them against Hugging Face's (the fixture stores the uint8 pixels;
// the floats are float32(float64(u8)/255) then (x−0.5)/0.5, exactly).
func TestPreprocessCommandNaFlex(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.safetensors")
	stdout, err := runGosig(t, "preprocess", "--model", filepath.Join(fixtures, "siglip2_tiny_p16"),
		"--max-patches", "256", "--out", out, filepath.Join(fixtures, "siglip2_tiny_p16", "images", "img2_1024x256.png"))
	require.NoError(t, err, stdout)
	assert.Contains(t, stdout, "grid 8×32 = 256 of 256 patches")

	got, exp := openOutputAndExpected(t, out, "siglip2_tiny_p16")
	pv, shape, err := got.Float32("pixel_values")
	require.NoError(t, err)
	require.Equal(t, []int{1, 256, 768}, shape)
	u8, _, err := exp.Uint8("naflex.mnp256.pixel_values_u8") // images [2, 3]: row 0 is img2
	require.NoError(t, err)
	mask, mshape, err := got.Int32("pixel_attention_mask")
	require.NoError(t, err)
	require.Equal(t, []int{1, 256}, mshape)
	wantMask, _, err := exp.Int32("naflex.mnp256.pixel_attention_mask")
	require.NoError(t, err)
	assert.Equal(t, wantMask[:256], mask)
	for i, v := range pv {
		want := (float32(float64(u8[i])*(1.0/255)) - 0.5) / 0.5
		if mask[i/768] == 0 {
			want = 0
		}
		require.Equal(t, math.Float32bits(want), math.Float32bits(v), "pixel_values[%d]", i)
	}
	ss, sshape, err := got.Int64("spatial_shapes")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, sshape)
	assert.Equal(t, []int64{8, 32}, ss)
}

// TestPreprocessCommandFixRes checks the FixRes layout [1, 3, H, W] and values.
func TestPreprocessCommandFixRes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.safetensors")
	_, err := runGosig(t, "preprocess", "--model", filepath.Join(fixtures, "siglip_tiny_fixres"),
		"-o", out, filepath.Join(fixtures, "siglip2_tiny_p16", "images", "img0_640x480.png"))
	require.NoError(t, err)
	got, exp := openOutputAndExpected(t, out, "siglip_tiny_fixres")
	pv, shape, err := got.Float32("pixel_values")
	require.NoError(t, err)
	require.Equal(t, []int{1, 3, 64, 64}, shape)
	want, _, err := exp.Float32("fixres.pixel_values")
	require.NoError(t, err)
	assert.Equal(t, want[:3*64*64], pv)
	_, ok := got.Info("spatial_shapes")
	assert.False(t, ok, "FixRes writes pixel_values only")
}

// TestNaflexCommand checks the printed grid against the fixture's
// spatial_shapes for img1 at 64 patches (16×4).
func TestNaflexCommand(t *testing.T) {
	stdout, err := runGosig(t, "naflex", "--patch", "16", "--max-patches", "64",
		filepath.Join(fixtures, "siglip2_tiny_p16", "images", "img1_200x900.png"))
	require.NoError(t, err)
	assert.Contains(t, stdout, "200×900 → 64×256 pixels, grid 16×4 = 64 of 64 patches")
}

func TestPreprocessCommandUsage(t *testing.T) {
	img := filepath.Join(fixtures, "siglip2_tiny_p16", "images", "img0_640x480.png")
	for _, args := range [][]string{
		{"preprocess", img},
		{"preprocess", "--model", fixtures, "--out", "x.safetensors"},
		{"preprocess", "--model", fixtures, "--out", "x", "--max-patches", "-3", img},
		{"naflex"},
		{"naflex", "--patch", "0", img},
	} {
		_, err := runGosig(t, args...)
		var ee *exitError
		require.True(t, errors.As(err, &ee), "%v: %v", args, err)
		assert.Equal(t, exitUsage, ee.code, "%v", args)
	}
	_, err := runGosig(t, "preprocess", "--model", filepath.Join(fixtures, "siglip2_tiny_p16"),
		"--out", filepath.Join(t.TempDir(), "x"), filepath.Join(fixtures, "siglip2_tiny_p16", "preprocessor_config.json"))
	require.ErrorContains(t, err, "unknown image format")
}
