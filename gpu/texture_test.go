package gpu

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// texReadShader copies count texels of texture t, read as texels
// (x = i mod width, y = i / width), into out: the texture read back through
// a kernel, as the Linear kernels read their operands. DECL, TYPE and LOAD
// choose the binding kind and texel type.
const texReadShader = `
@group(0) @binding(0) var t: DECL;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<TYPE>>;
@group(0) @binding(2) var<uniform> p: vec4<u32>; // width, count
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
	let i = id.x;
	if (i < p.y) {
		out[i] = textureLoad(t, vec2<i32>(i32(i % p.x), i32(i / p.x))LOD);
	}
}
`

// texKind is one way of declaring a texture binding.
type texKind struct {
	name, decl, typ, lod string
	format               TextureFormat
}

var texKinds = []texKind{
	{"storage-f32", "texture_storage_2d<rgba32float, read>", "f32", "", RGBA32Float},
	{"storage-u32", "texture_storage_2d<rgba32uint, read>", "u32", "", RGBA32Uint},
	{"sampled-f32", "texture_2d<f32>", "f32", ", 0", RGBA32Float},
	{"sampled-u32", "texture_2d<u32>", "u32", ", 0", RGBA32Uint},
}

func (k texKind) shader() Shader {
	src := strings.NewReplacer("DECL", k.decl, "TYPE", k.typ, "LOD", k.lod).Replace(texReadShader)
	return Shader{Name: "texread-" + k.name + ".wgsl", Source: src}
}

// readTexture reads the first count texels of tex through kind's shader.
func readTexture(t *testing.T, d *Device, k texKind, tex *Texture, count int) []uint32 {
	t.Helper()
	p, err := d.Pipeline(k.shader())
	require.NoError(t, err)
	out, err := d.NewBuffer("out", uint64(count*TexelBytes), Storage)
	require.NoError(t, err)
	defer out.Release()
	par, err := d.Upload("p", new(Params).U32(uint32(tex.Width())).U32(uint32(count)).Bytes(), Uniform)
	require.NoError(t, err)
	defer par.Release()
	bg, err := p.BindGroup(Binding{Texture: tex}, Binding{Buffer: out}, Binding{Buffer: par})
	require.NoError(t, err)
	defer bg.Release()
	r := d.NewRecorder("read texture")
	r.Dispatch("read", p, bg, uint32((count+7)/8), 1, 1)
	rb := r.Readback(out, 0, out.Size())
	_, err = r.Submit(context.Background())
	require.NoError(t, err)
	return u32s(rb.Bytes())
}

func u32s(b []byte) []uint32 {
	out := make([]uint32, len(b)/4)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out
}

// texData is n texels of distinct values: float32 bits for RGBA32Float,
// plain integers for RGBA32Uint.
func texData(n int, f TextureFormat, salt uint32) []uint32 {
	v := make([]uint32, 4*n)
	for i := range v {
		if f == RGBA32Float {
			v[i] = math.Float32bits(float32(i)*0.25 - float32(salt))
		} else {
			v[i] = uint32(i)*2654435761 ^ salt
		}
	}
	return v
}

// TestTextureUploadAndRead uploads a texture whose last row is partial and
// reads every texel back through each binding kind.
func TestTextureUploadAndRead(t *testing.T) {
	if !testDev.HasStorageTextureRead() {
		t.Log("the adapter has no read-only storage textures; only sampled ones are tested")
	}
	const w, h = 16, 3
	for _, k := range texKinds {
		t.Run(k.name, func(t *testing.T) {
			if k.lod == "" && !testDev.HasStorageTextureRead() {
				t.Skip("no read-only storage textures")
			}
			n := 2*w + 5
			data := texData(n, k.format, 7)
			tex, err := testDev.UploadTexture("t", k.format, w, h, Bytes(data))
			require.NoError(t, err)
			defer tex.Release()
			assert.Equal(t, w, tex.Width())
			assert.Equal(t, h, tex.Height())
			assert.Equal(t, k.format, tex.Format())
			got := readTexture(t, testDev, k, tex, w*h)
			assert.Equal(t, data, got[:4*n], "uploaded texels")
			assert.Equal(t, make([]uint32, 4*(w*h-n)), got[4*n:], "texels past the data stay zero")
		})
	}
}

// TestCopyToTexture copies a buffer range (at an offset, with a partial
// last row) into a texture from row 1 on, in a recorder, and reads it back.
func TestCopyToTexture(t *testing.T) {
	k := texKinds[0]
	if !testDev.HasStorageTextureRead() {
		k = texKinds[2]
	}
	const w, h = 16, 4
	data := texData(64, RGBA32Float, 3)
	src, err := testDev.Upload("src", Bytes(data), Storage)
	require.NoError(t, err)
	defer src.Release()
	tex, err := testDev.NewTexture("dst", RGBA32Float, w, h)
	require.NoError(t, err)
	defer tex.Release()
	const off, texels = 3, 2*w + 9 // texel offset in src, texels copied
	r := testDev.NewRecorder("copy")
	r.CopyToTexture(src, off*TexelBytes, tex, 1, texels)
	_, err = r.Submit(context.Background())
	require.NoError(t, err)
	got := readTexture(t, testDev, k, tex, w*h)
	want := make([]uint32, 4*w*h)
	copy(want[4*w:], data[4*off:4*(off+texels)])
	assert.Equal(t, want, got)
}

func TestTextureErrors(t *testing.T) {
	max := int(testDev.Limits().MaxTextureDimension2D)
	require.Positive(t, max)
	_, err := testDev.NewTexture("big", RGBA32Float, max+1, 1)
	assert.ErrorContains(t, err, fmt.Sprintf("1 to %d", max))
	_, err = testDev.NewTexture("empty", RGBA32Float, 0, 1)
	assert.ErrorContains(t, err, `"empty"`)

	tex, err := testDev.NewTexture("narrow", RGBA32Float, 8, 2) // rows of 128 bytes
	require.NoError(t, err)
	defer tex.Release()
	assert.ErrorContains(t, testDev.WriteTexture(tex, make([]byte, 17*TexelBytes)), "at most 256 bytes")
	assert.ErrorContains(t, testDev.WriteTexture(tex, make([]byte, 10)), "whole texels")
	buf, err := testDev.NewBuffer("buf", 4096, Storage)
	require.NoError(t, err)
	defer buf.Release()
	r := testDev.NewRecorder("bad copy")
	r.CopyToTexture(buf, 0, tex, 0, 8)
	_, err = r.Submit(context.Background())
	assert.ErrorContains(t, err, "multiple of 16 texels")

	wide, err := testDev.NewTexture("wide", RGBA32Float, 16, 2)
	require.NoError(t, err)
	defer wide.Release()
	for _, c := range []struct {
		off       uint64
		y, texels int
		msg       string
	}{{8, 0, 4, "offset 8"}, {0, 1, 17, "from row 1"}, {4000, 0, 16, "past its end"}} {
		r := testDev.NewRecorder("bad copy")
		r.CopyToTexture(buf, c.off, wide, c.y, c.texels)
		_, err = r.Submit(context.Background())
		assert.ErrorContains(t, err, c.msg)
	}

	// Binding checks: a buffer for a texture, a texture of the wrong format,
	// a texture for a buffer.
	k := texKinds[2] // sampled f32: explicit layout, any adapter
	p, err := testDev.Pipeline(k.shader())
	require.NoError(t, err)
	u, err := testDev.NewTexture("uint", RGBA32Uint, 16, 1)
	require.NoError(t, err)
	defer u.Release()
	par, err := testDev.NewBuffer("p", 16, Uniform)
	require.NoError(t, err)
	defer par.Release()
	_, err = p.BindGroup(Binding{Buffer: buf}, Binding{Buffer: buf}, Binding{Buffer: par})
	assert.ErrorContains(t, err, "bind a Texture")
	_, err = p.BindGroup(Binding{Texture: u}, Binding{Buffer: buf}, Binding{Buffer: par})
	assert.ErrorContains(t, err, `texture "uint" is rgba32uint`)
	_, err = p.BindGroup(Binding{Texture: wide}, Binding{Texture: wide}, Binding{Buffer: par})
	assert.ErrorContains(t, err, `given texture "wide"`)
}

// TestTextureClose leaves textures alive (one bound in a bind group) and
// closes the device: Close releases them, and Release afterwards is a
// no-op.
func TestTextureClose(t *testing.T) {
	for range 3 {
		d, err := Open(Options{})
		require.NoError(t, err)
		k := texKinds[2]
		tex, err := d.UploadTexture("t", RGBA32Float, 16, 1, Bytes(texData(16, RGBA32Float, 1)))
		require.NoError(t, err)
		_, err = d.NewTexture("u", RGBA32Uint, 16, 16)
		require.NoError(t, err)
		got := readTexture(t, d, k, tex, 16)
		assert.Equal(t, texData(16, RGBA32Float, 1), got)
		require.NoError(t, d.Close())
		tex.Release()
	}
}

func TestSIMDLanes(t *testing.T) {
	for name, want := range map[string]int{
		"llvmpipe (LLVM 15.0.6, 256 bits)": 8,
		"llvmpipe (LLVM 17.0.1, 512 bits)": 16,
		"llvmpipe (LLVM 12.0.0, 128 bits)": 4,
		"SwiftShader Device (Subzero)":     0,
	} {
		assert.Equal(t, want, AdapterInfo{Name: name, Type: CPU}.SIMDLanes(), name)
	}
	assert.Zero(t, AdapterInfo{Name: "llvmpipe (LLVM 15.0.6, 256 bits)", Type: Discrete}.SIMDLanes(), "only CPU adapters")
}
