package siglip2

import (
	"fmt"
	"math"
	"sync"
)

// resizeAxis holds, for each output index along one axis, the first input
// index and the normalised weights of torch's antialiased bilinear filter.
type resizeAxis struct {
	start   []int
	weights [][]float32
}

// newResizeAxis reproduces torch's F.interpolate(mode="bilinear",
// align_corners=False, antialias=True) weights for one axis, in float32 as
// torch computes them for a float32 tensor: the triangle filter, widened by
// the scale when shrinking, centred at (i+0.5)·scale, normalised to sum 1.
func newResizeAxis(in, out int) resizeAxis {
	scale := float32(in) / float32(out)
	support := float32(1)
	invScale := float32(1)
	if scale >= 1 {
		support = scale
		invScale = float32(1 / float64(scale))
	}
	ax := resizeAxis{start: make([]int, out), weights: make([][]float32, out)}
	for i := range out {
		center := float32(float64(scale) * (float64(i) + 0.5))
		lo := max(int(float64(center-support)+0.5), 0)
		hi := min(int(float64(center+support)+0.5), in)
		w := make([]float32, hi-lo)
		var total float32
		for j := range w {
			x := float32((float64(j+lo) - float64(center) + 0.5) * float64(invScale))
			if x = float32(math.Abs(float64(x))); x < 1 {
				w[j] = 1 - x
			}
			total += w[j]
		}
		if total != 0 {
			for j := range w {
				w[j] /= total
			}
		}
		ax.start[i], ax.weights[i] = lo, w
	}
	return ax
}

// resizePositionEmbeddings resizes the learned g×g grid of position
// embeddings pos ([g·g, d], row-major over (row, column)) to an h×w grid, as
// Siglip2VisionEmbeddings.resize_positional_embeddings does with
// F.interpolate: separable antialiased bilinear, along the width first and
// then the height. The result is [h·w, d].
func resizePositionEmbeddings(pos []float32, g, d, h, w int) []float32 {
	ax, ay := newResizeAxis(g, w), newResizeAxis(g, h)
	// Along the width: [g, g, d] → [g, w, d].
	tmp := make([]float32, g*w*d)
	for r := range g {
		for c := range w {
			dst := tmp[(r*w+c)*d:][:d]
			for j, wt := range ax.weights[c] {
				src := pos[(r*g+ax.start[c]+j)*d:][:d]
				for k := range dst {
					dst[k] += wt * src[k]
				}
			}
		}
	}
	// Along the height: [g, w, d] → [h, w, d].
	out := make([]float32, h*w*d)
	for r := range h {
		for c := range w {
			dst := out[(r*w+c)*d:][:d]
			for j, wt := range ay.weights[r] {
				src := tmp[((ay.start[r]+j)*w+c)*d:][:d]
				for k := range dst {
					dst[k] += wt * src[k]
				}
			}
		}
	}
	return out
}

// posEmbedCache keeps resized position embeddings per (h, w) grid: images of
// one size share them, and resizing costs more than the lookup.
type posEmbedCache struct {
	mu    sync.Mutex
	grids map[[2]int][]float32
}

// get returns the embeddings resized to h×w, computing them once.
func (c *posEmbedCache) get(pos []float32, g, d, h, w int) ([]float32, error) {
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("position embeddings: invalid patch grid %d×%d", h, w)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.grids[[2]int{h, w}]; ok {
		return r, nil
	}
	r := resizePositionEmbeddings(pos, g, d, h, w)
	if c.grids == nil {
		c.grids = map[[2]int][]float32{}
	}
	if len(c.grids) > 1024 { // a bound, not an LRU: grids repeat in practice
		clear(c.grids)
	}
	c.grids[[2]int{h, w}] = r
	return r, nil
}
