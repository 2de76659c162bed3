package gpuexec

import (
	"fmt"
	"sync"

	"github.com/x448/float16"

	"github.com/gosig/gosig/gpu"
	"github.com/gosig/gosig/graph"
)

// weightCache uploads each weight once per executor and format and keeps it
// for the executor's life: plans of other shapes share them.
type weightCache struct {
	dev *gpu.Device
	src graph.Weights

	mu    sync.Mutex
	bufs  map[weightKey]*weight
	bytes int64
}

type weightKey struct {
	name string
	f16  bool
	tex  bool // a Linear w laid out as a texture by linearTexWeight
}

type weight struct {
	buf   *gpu.Buffer
	tex   *gpu.Texture
	shape []int
	f16   bool
}

func (w *weight) tensor() Tensor {
	if w.tex != nil {
		return Tensor{Texture: w.tex, Bytes: w.tex.Bytes(), Shape: w.shape, F16: w.f16}
	}
	return Tensor{Buffer: w.buf, Bytes: w.buf.Size(), Shape: w.shape, F16: w.f16}
}

// get returns node n's weight on the device, uploading it on first use.
func (c *weightCache) get(n *graph.Node, f16 bool) (*weight, error) {
	return c.load(weightKey{n.Name, f16, false}, n)
}

// texture returns node n, a Linear's w [N, K], as the texture the reg_tex
// kernel reads (see linearTexWeight), uploading it on first use.
func (c *weightCache) texture(n *graph.Node, f16 bool) (*weight, error) {
	return c.load(weightKey{n.Name, f16, true}, n)
}

func (c *weightCache) load(key weightKey, n *graph.Node) (*weight, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w, ok := c.bufs[key]; ok {
		return w, nil
	}
	if c.src == nil {
		return nil, fmt.Errorf("weight %s: the executor has no weight source", n.Name)
	}
	data, shape, err := c.src.Weight(n.Name)
	if err != nil {
		return nil, err
	}
	if err := graph.CheckWeight(n, data, shape); err != nil {
		return nil, err
	}
	f16 := key.f16
	if key.tex {
		if len(shape) != 2 {
			return nil, fmt.Errorf("weight %s: a Linear weight texture needs a matrix, found shape %v", n.Name, shape)
		}
		texels, width, height := linearTexWeight(data, shape[0], shape[1], f16, linearTexLanes(c.dev))
		format := gpu.RGBA32Float
		if f16 {
			format = gpu.RGBA32Uint
		}
		tex, err := c.dev.UploadTexture(n.Name, format, width, height, gpu.Bytes(texels))
		if err != nil {
			return nil, fmt.Errorf("upload weight %s %v as a %d×%d texture: %w", n.Name, shape, width, height, err)
		}
		w := &weight{tex: tex, shape: shape, f16: f16}
		c.bufs[key] = w
		c.bytes += int64(tex.Bytes())
		return w, nil
	}
	var raw []byte
	if f16 {
		raw = gpu.Bytes(PackF16(data))
	} else {
		raw = gpu.Bytes(data)
	}
	buf, err := c.dev.Upload(n.Name, raw, gpu.Storage)
	if err != nil {
		return nil, fmt.Errorf("upload weight %s %v: %w", n.Name, shape, err)
	}
	w := &weight{buf: buf, shape: shape, f16: f16}
	c.bufs[key] = w
	c.bytes += int64(buf.Size())
	return w, nil
}

func (c *weightCache) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.bufs {
		if w.tex != nil {
			w.tex.Release()
		} else {
			w.buf.Release()
		}
	}
	c.bufs = map[weightKey]*weight{}
	c.bytes = 0
}

// PackF16 rounds values to IEEE half precision (to nearest, ties to even;
// beyond the f16 range to ±Inf) and packs them two per 32-bit word, the
// first of each pair in the low half, as WGSL's unpack2x16float reads them.
// An odd count is padded with a zero.
func PackF16(data []float32) []uint32 {
	out := make([]uint32, (len(data)+1)/2)
	for i, v := range data {
		h := uint32(float16.Fromfloat32(v).Bits())
		out[i/2] |= h << (16 * (i % 2))
	}
	return out
}
