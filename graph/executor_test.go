package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMapWeights(t *testing.T) {
	w := MapWeights{"w": F32Value([]float32{1, 2, 3, 4, 5, 6}, 2, 3), "ids": I32Value([]int32{1}, 1)}
	data, shape, err := w.Weight("w")
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2, 3, 4, 5, 6}, data)
	assert.Equal(t, []int{2, 3}, shape)
	_, _, err = w.Weight("missing")
	assert.ErrorContains(t, err, "weight missing: not found")
	_, _, err = w.Weight("ids")
	assert.ErrorContains(t, err, "weight ids: I32 values, want F32")
}
