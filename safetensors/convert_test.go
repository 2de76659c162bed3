package safetensors

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Known binary16 bit patterns and their values (IEEE 754-2008 tables; the
// subnormal values are k·2^-24).
func TestF16ToF32KnownValues(t *testing.T) {
	cases := []struct {
		bits uint16
		want float64
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xbc00, -1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},                  // largest finite
		{0x0400, 6.103515625e-05},        // smallest normal, 2^-14
		{0x03ff, 6.097555160522461e-05},  // largest subnormal, 1023·2^-24
		{0x0001, 5.960464477539063e-08},  // smallest subnormal, 2^-24
		{0x8001, -5.960464477539063e-08}, // its negative
		{0x0200, 3.0517578125e-05},       // 2^-15, subnormal
		{0x3bff, 0.99951171875},          // largest below 1
		{0x3c01, 1.0009765625},           // smallest above 1
		{0x7c00, math.Inf(1)}, {0xfc00, math.Inf(-1)},
	}
	for _, c := range cases {
		assert.Equal(t, float32(c.want), F16ToF32(c.bits), "bits %#04x", c.bits)
	}
	negZero := F16ToF32(0x8000)
	assert.True(t, negZero == 0 && math.Signbit(float64(negZero)), "0x8000 must be -0")
	for _, nan := range []uint16{0x7e00, 0x7c01, 0xfe00, 0x7fff} {
		f := F16ToF32(nan)
		assert.True(t, f != f, "bits %#04x must be NaN", nan)
		assert.Equal(t, nan>>15 == 1, math.Signbit(float64(f)), "NaN sign of %#04x", nan)
	}
}

// Every binary16 value against the definition (-1)^s · 2^(e-15) · (1 + m/1024)
// (or 2^-14 · m/1024 for subnormals) computed in float64, and back.
func TestF16Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		s, e, m := h>>15, int(h>>10)&0x1f, float64(h&0x3ff)
		got := F16ToF32(h)
		if e == 0x1f {
			if m == 0 {
				require.True(t, math.IsInf(float64(got), 1-2*int(s)), "bits %#04x", h)
			} else {
				require.True(t, got != got, "bits %#04x", h)
			}
			continue
		}
		var want float64
		if e == 0 {
			want = math.Ldexp(m/1024, -14)
		} else {
			want = math.Ldexp(1+m/1024, e-15)
		}
		if s == 1 {
			want = -want
		}
		require.Equal(t, float32(want), got, "bits %#04x", h)
		require.Equal(t, math.Signbit(want), math.Signbit(float64(got)), "sign of %#04x", h)
		require.Equal(t, h, F32ToF16(got), "round trip of %#04x", h)
	}
}

// nearestF16 is a brute-force reference for F32ToF16 on finite inputs: the
// nearest binary16 value by float64 distance, ties to an even mantissa, and
// overflow to Inf at and beyond 65520 (the midpoint between 65504 and 2^16).
func nearestF16(f float32, table []float64) uint16 {
	x := math.Abs(float64(f))
	var sign uint16
	if math.Signbit(float64(f)) {
		sign = 0x8000
	}
	if x >= 65520 {
		return sign | 0x7c00
	}
	i, _ := slices.BinarySearch(table, x) // table[i-1] < x <= table[i]
	if i == len(table) {
		return sign | uint16(i-1)
	}
	if i == 0 || table[i] == x {
		return sign | uint16(i)
	}
	lo, hi := x-table[i-1], table[i]-x
	switch {
	case lo < hi:
		return sign | uint16(i-1)
	case hi < lo:
		return sign | uint16(i)
	case (i-1)&1 == 0:
		return sign | uint16(i-1)
	}
	return sign | uint16(i)
}

func TestF32ToF16Rounding(t *testing.T) {
	table := make([]float64, 0x7c00) // every non-negative finite binary16, ascending
	for i := range table {
		table[i] = float64(F16ToF32(uint16(i)))
	}
	inputs := []float32{0, 1, 65504, 65519.996, 65520, 65536, 1e10, 2.9802322e-08, 2.9802326e-08, 8.940697e-08,
		6.1035156e-05, 6.0975552e-05, 1.00048828125, 1.00146484375, 0.1, 1.0 / 3}
	// Midpoints between neighbours: exact ties, and one float32 ulp either side.
	for i := 0; i+1 < len(table); i += 97 {
		mid := float32((table[i] + table[i+1]) / 2)
		inputs = append(inputs, mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1e9))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		inputs = append(inputs, math.Float32frombits(r.Uint32()&0x477fffff)) // |x| < 2^16
	}
	for _, f := range inputs {
		for _, v := range []float32{f, -f} {
			if v != v {
				continue
			}
			require.Equal(t, nearestF16(v, table), F32ToF16(v), "F32ToF16(%g) (bits %#08x)", v, math.Float32bits(v))
		}
	}
	assert.Equal(t, uint16(0x7c00), F32ToF16(float32(math.Inf(1))))
	assert.Equal(t, uint16(0xfc00), F32ToF16(float32(math.Inf(-1))))
	nan := F32ToF16(float32(math.NaN()))
	assert.True(t, nan&0x7c00 == 0x7c00 && nan&0x3ff != 0, "NaN -> %#04x", nan)
}

func TestBF16(t *testing.T) {
	cases := []struct {
		bits uint16
		want float64
	}{
		{0x3f80, 1},
		{0xc000, -2},
		{0x4049, 3.140625},
		{0x7f7f, 3.3895313892515355e+38}, // largest finite
		{0x0080, 1.1754943508222875e-38}, // smallest normal, 2^-126
		{0x0001, 9.183549615799121e-41},  // smallest subnormal, 2^-133
		{0x007f, 1.1663108012064884e-38}, // largest subnormal
		{0x7f80, math.Inf(1)}, {0xff80, math.Inf(-1)},
	}
	for _, c := range cases {
		assert.Equal(t, float32(c.want), BF16ToF32(c.bits), "bits %#04x", c.bits)
		assert.Equal(t, c.bits, F32ToBF16(float32(c.want)), "value %g", c.want)
	}
	assert.True(t, math.IsNaN(float64(BF16ToF32(0x7fc0))))
	assert.True(t, math.IsNaN(float64(BF16ToF32(F32ToBF16(float32(math.NaN()))))))
	// Signalling NaN whose payload sits only in the low half must stay NaN.
	assert.True(t, math.IsNaN(float64(BF16ToF32(F32ToBF16(math.Float32frombits(0x7f800001))))))
	// Ties to even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7.
	assert.Equal(t, uint16(0x3f80), F32ToBF16(1+1.0/256))
	assert.Equal(t, uint16(0x3f82), F32ToBF16(1+3.0/256))
	assert.Equal(t, uint16(0x3f81), F32ToBF16(math.Nextafter32(1+1.0/256, 2)))
	// Rounding up the largest finite overflows to Inf, as torch does.
	assert.Equal(t, uint16(0x7f80), F32ToBF16(math.MaxFloat32))
}
