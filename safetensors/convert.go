package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// F16ToF32 converts an IEEE 754 binary16 value, given as its bits, to float32.
// The conversion is exact: every binary16 value (subnormals, ±0, ±Inf) is a
// float32 value. NaNs stay NaNs with their sign and payload kept in the top
// mantissa bits.
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0: // ±0
		return math.Float32frombits(sign)
	default: // subnormal: normalise the mantissa
		e := uint32(113) // exponent of 2^-14 in float32, before shifting
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	}
}

// F32ToF16 converts a float32 to IEEE 754 binary16 bits, rounding to nearest
// with ties to even (as numpy and torch do). Values beyond the binary16 range
// become ±Inf; NaNs stay quiet NaNs.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(mant>>13)
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal or zero in binary16: shift the full significand right.
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := m >> shift
		rem := m & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, up to Inf: that is the right answer
	}
	return sign | uint16(r)
}

// BF16ToF32 converts a bfloat16 value, given as its bits, to float32. bfloat16
// is the top half of a float32, so the conversion is exact for every value.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 converts a float32 to bfloat16 bits, rounding to nearest with ties
// to even (as torch does). NaNs stay quiet NaNs.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x0040
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// decodeFloat32 converts raw little-endian tensor bytes of dtype d to float32.
func decodeFloat32(d DType, raw []byte) ([]float32, error) {
	switch d {
	case F32:
		out := make([]float32, len(raw)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out, nil
	case F16:
		out := make([]float32, len(raw)/2)
		for i := range out {
			out[i] = F16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		return out, nil
	case BF16:
		out := make([]float32, len(raw)/2)
		for i := range out {
			out[i] = BF16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		return out, nil
	case F64:
		out := make([]float32, len(raw)/8)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: dtype %s cannot be read as float32 (want F32, F16, BF16 or F64)", ErrDType, d)
}

// decodeInt64 converts raw little-endian integer tensor bytes to int64. Every
// integer dtype but U64 widens exactly; U64 values above MaxInt64 are refused.
func decodeInt64(d DType, raw []byte) ([]int64, error) {
	size := d.Size()
	if size == 0 || d == F64 || d == F32 || d == F16 || d == BF16 {
		return nil, fmt.Errorf("%w: dtype %s cannot be read as an integer (want I64, I32, I16, I8, U64, U32, U16, U8 or BOOL)", ErrDType, d)
	}
	out := make([]int64, len(raw)/size)
	for i := range out {
		b := raw[size*i:]
		switch d {
		case I64:
			out[i] = int64(binary.LittleEndian.Uint64(b))
		case U64:
			v := binary.LittleEndian.Uint64(b)
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("%w: element %d of a U64 tensor (%d) does not fit in int64", ErrDType, i, v)
			}
			out[i] = int64(v)
		case I32:
			out[i] = int64(int32(binary.LittleEndian.Uint32(b)))
		case U32:
			out[i] = int64(binary.LittleEndian.Uint32(b))
		case I16:
			out[i] = int64(int16(binary.LittleEndian.Uint16(b)))
		case U16:
			out[i] = int64(binary.LittleEndian.Uint16(b))
		case I8:
			out[i] = int64(int8(b[0]))
		default: // U8, BOOL
			out[i] = int64(b[0])
		}
	}
	return out, nil
}

// decodeInt32 converts raw little-endian integer tensor bytes to int32,
// refusing (and naming) any element outside the int32 range.
func decodeInt32(d DType, raw []byte) ([]int32, error) {
	wide, err := decodeInt64(d, raw)
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(wide))
	for i, v := range wide {
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, fmt.Errorf("%w: element %d of a %s tensor (%d) does not fit in int32", ErrDType, i, d, v)
		}
		out[i] = int32(v)
	}
	return out, nil
}

// decodeUint8 copies U8 or BOOL tensor bytes.
func decodeUint8(d DType, raw []byte) ([]uint8, error) {
	if d != U8 && d != BOOL {
		return nil, fmt.Errorf("%w: dtype %s cannot be read as uint8 (want U8 or BOOL)", ErrDType, d)
	}
	return append([]uint8(nil), raw...), nil
}
