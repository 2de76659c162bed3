package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runGosig is in preprocess_test.go.

func TestDevicesCommand(t *testing.T) {
	out, err := runGosig(t, "devices", "--json")
	require.NoError(t, err)
	var info struct {
		Name, Type, Backend string
	}
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &info))
	assert.NotEmpty(t, info.Name)
	assert.Equal(t, "vulkan", info.Backend)
	assert.Contains(t, []string{"cpu", "discrete", "integrated", "unknown"}, info.Type)

	out, err = runGosig(t, "devices")
	require.NoError(t, err)
	assert.Contains(t, out, info.Name)

	_, err = runGosig(t, "devices", "--backend", "directx9")
	var ee *exitError
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.Equal(t, exitUsage, ee.code)
}

// TestBenchKernelsJSON runs the harness on a tiny layer: every line is a
// JSON object with the fields the issue asks for (no figure is checked).
func TestBenchKernelsJSON(t *testing.T) {
	out, err := runGosig(t, "bench", "kernels", "--json", "--seq", "8", "--hidden", "16", "--heads", "2", "--mlp", "32", "--reps", "1", "--rounds", "1")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 7, "6 kernels and the layer summary")
	var ops []string
	for _, l := range lines {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &r), l)
		for _, k := range []string{"op", "shape", "gflops", "ms", "adapter"} {
			assert.Contains(t, r, k, l)
		}
		ops = append(ops, r["op"].(string))
	}
	assert.Equal(t, []string{"linear", "linear", "linear", "attention", "layernorm", "gelu", "layer"}, ops)
	assert.Contains(t, lines[0], `"shape":"8x16x16"`)

	_, err = runGosig(t, "bench", "kernels", "--hidden", "10", "--heads", "3")
	var ee *exitError
	require.True(t, errors.As(err, &ee))
	assert.Equal(t, exitUsage, ee.code)
}
