package shaders

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every kernel documents itself: a leading comment block naming what it
// computes, its bindings, workgroup size and overrides.
func TestHeaders(t *testing.T) {
	names := Names()
	require.NotEmpty(t, names)
	for _, name := range names {
		src, err := Source(name)
		require.NoError(t, err)
		var head []string
		for _, line := range strings.Split(src, "\n") {
			if !strings.HasPrefix(line, "//") {
				break
			}
			head = append(head, strings.ToLower(line))
		}
		h := strings.Join(head, "\n")
		require.NotEmpty(t, h, "%s must start with a comment", name)
		for _, want := range []string{"binding", "workgroup", "override"} {
			assert.Contains(t, h, want, "%s: the header comment must describe its %ss", name, want)
		}
	}
}

func TestUnknownShader(t *testing.T) {
	_, err := Source("nope.wgsl")
	assert.ErrorContains(t, err, "nope.wgsl")
}
