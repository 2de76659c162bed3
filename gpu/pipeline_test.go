package gpu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpecialise(t *testing.T) {
	src := `override D: u32 = 64u;
override EPS: f32 = 1e-6;
override NEG: i32;
override FLAG: bool = false;
@compute @workgroup_size(D, 1) fn main() {}`
	out, err := specialise(Shader{Name: "x", Source: src, Constants: map[string]float64{"EPS": 1e-5, "NEG": -3, "FLAG": 1}})
	require.NoError(t, err)
	assert.Equal(t, `const D: u32 = 64u;
const EPS: f32 = 1e-05f;
const NEG: i32 = -3i;
const FLAG: bool = true;
@compute @workgroup_size(64, 1) fn main() {}`, out)

	out, err = specialise(Shader{Name: "x", Source: "@group(0) @binding(0) var<storage, read> a: array<f32>;\n@group(0) @binding(1) var<storage> b: array<f32>;"})
	require.NoError(t, err)
	assert.Equal(t, "@group(0) @binding(0) var<storage, read_write> a: array<f32>;\n@group(0) @binding(1) var<storage, read_write> b: array<f32>;", out)

	_, err = specialise(Shader{Name: "x", Source: src})
	assert.ErrorContains(t, err, "NEG has no default")
	_, err = specialise(Shader{Name: "x", Source: src, Constants: map[string]float64{"NEG": 1, "D": 2.5}})
	assert.ErrorContains(t, err, "2.5 is not a u32")
	_, err = specialise(Shader{Name: "x", Source: "@compute @workgroup_size(WG) fn main() {}"})
	assert.ErrorContains(t, err, "WG must be an override")
}

func TestLiteral(t *testing.T) {
	for _, c := range []struct {
		typ  string
		v    float64
		want string
	}{
		{"f32", 64, "64.0f"},
		{"f32", 0.125, "0.125f"},
		{"f32", -3.4028234663852886e38, "-3.4028235e+38f"},
		{"u32", 4294967295, "4294967295u"},
		{"i32", -2147483648, "-2147483648i"},
	} {
		got, err := literal(c.typ, c.v)
		require.NoError(t, err)
		assert.Equal(t, c.want, got)
	}
	for _, c := range []struct {
		typ string
		v   float64
	}{{"u32", -1}, {"u32", 1 << 32}, {"i32", 0.5}, {"f32", 1e39}} {
		_, err := literal(c.typ, c.v)
		assert.Error(t, err, "%s %v", c.typ, c.v)
	}
}

func TestShaderLabel(t *testing.T) {
	assert.Equal(t, "a.wgsl", Shader{Name: "a.wgsl"}.Label())
	assert.Equal(t, "a.wgsl:other{B=2 C=0.5}", Shader{Name: "a.wgsl", Entry: "other", Constants: map[string]float64{"C": 0.5, "B": 2}}.Label())
}

func TestParseBindings(t *testing.T) {
	got, err := parseBindings(`
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@binding(0) @group(0) var<storage> a: array<f32>;
@group(0) @binding(2) var<uniform> p: P;`)
	require.NoError(t, err)
	assert.Equal(t, []binding{{BindingInfo{0, "a", ReadOnly}, 0}, {BindingInfo{1, "out", ReadWrite}, 0}, {BindingInfo{2, "p", UniformBinding}, 0}}, got)
	got, err = parseBindings(`
@group(0) @binding(0) var xs: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var ws: texture_storage_2d<rgba32uint, read>;
@group(0) @binding(1) var xt: texture_2d<f32>;
@group(0) @binding(3) var wt: texture_2d< u32 >;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;`)
	require.NoError(t, err)
	assert.Equal(t, []binding{
		{BindingInfo{0, "xs", StorageTextureRead}, RGBA32Float}, {BindingInfo{1, "xt", SampledTexture}, RGBA32Float},
		{BindingInfo{2, "ws", StorageTextureRead}, RGBA32Uint}, {BindingInfo{3, "wt", SampledTexture}, RGBA32Uint},
		{BindingInfo{4, "y", ReadWrite}, 0}}, got)
	for src, msg := range map[string]string{
		`@group(0) @binding(0) var t: texture_2d<i32>;`:                        "texture_2d<i32> is not supported",
		`@group(0) @binding(0) var t: texture_storage_2d<rgba8unorm, read>;`:   "format rgba8unorm",
		`@group(0) @binding(0) var t: texture_storage_2d<rgba32float, write>;`: "access write",
		`@group(0) @binding(0) var t: texture_3d<f32>;`:                        "texture_3d is not supported",
		`@group(0) @binding(0) var s: sampler;`:                                "sampler is not supported",
		`@group(1) @binding(0) var t: texture_storage_2d<rgba32float, read>;`:  "group 1",
		`@group(0) @binding(1) var t: texture_2d<f32>;`:                        "without gaps",
	} {
		_, err = parseBindings(src)
		assert.ErrorContains(t, err, msg, src)
	}
	_, err = parseBindings(`@group(0) @binding(1) var<storage> a: array<f32>;`)
	assert.ErrorContains(t, err, "without gaps")
	_, err = parseBindings(`@group(1) @binding(0) var<storage> a: array<f32>;`)
	assert.ErrorContains(t, err, "group 1")
}

func TestParamsAndPack(t *testing.T) {
	p := new(Params).U32(7).F32(1.5).I32(-1)
	b := p.Bytes()
	require.Len(t, b, 16)
	assert.Equal(t, []byte{7, 0, 0, 0, 0, 0, 0xc0, 0x3f, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, b)

	pack := &UniformPack{align: 256}
	r1 := pack.Add(p)
	r2 := pack.Add(new(Params).U32(1))
	assert.Equal(t, uint64(0), r1.Offset)
	assert.Equal(t, uint64(256), r2.Offset)
	assert.Equal(t, uint64(16), r2.Size)
}
