package preprocess

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// idctIslowRef is the straightforward jpeg_idct_islow (jidctint.c) that
// idctIslow and its AVX2 twin must equal: every column and row through the
// full 8-point transform in 64-bit arithmetic, no shortcut. It is the code
// that matched libjpeg-turbo on every test image before the shortcuts and
// the SIMD version were written.
func idctIslowRef(blk *[64]int16, q *[64]uint16, dst []uint8, stride int) {
	idct8 := func(in [8]int64) (o [8]int64) {
		z1 := (in[2] + in[6]) * fix0541196100
		tmp2 := z1 - in[6]*fix1847759065
		tmp3 := z1 + in[2]*fix0765366865
		tmp0 := (in[0] + in[4]) << idctConstBits
		tmp1 := (in[0] - in[4]) << idctConstBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
		t0, t1, t2, t3 := in[7], in[5], in[3], in[1]
		z1 = t0 + t3
		z2 := t1 + t2
		z3 := t0 + t2
		z4 := t1 + t3
		z5 := (z3 + z4) * fix1175875602
		t0 *= fix0298631336
		t1 *= fix2053119869
		t2 *= fix3072711026
		t3 *= fix1501321110
		z1 *= -fix0899976223
		z2 *= -fix2562915447
		z3 = z3*-fix1961570560 + z5
		z4 = z4*-fix0390180644 + z5
		t0 += z1 + z3
		t1 += z2 + z4
		t2 += z2 + z3
		t3 += z1 + z4
		return [8]int64{tmp10 + t3, tmp11 + t2, tmp12 + t1, tmp13 + t0, tmp13 - t0, tmp12 - t1, tmp11 - t2, tmp10 - t3}
	}
	var ws [64]int32
	for x := 0; x < 8; x++ {
		var in [8]int64
		for r := range in {
			in[r] = int64(blk[r*8+x]) * int64(q[r*8+x])
		}
		o := idct8(in)
		for r := range o {
			ws[r*8+x] = int32((o[r] + 1<<10) >> 11)
		}
	}
	for y := 0; y < 8; y++ {
		var in [8]int64
		for x := range in {
			in[x] = int64(ws[y*8+x])
		}
		o := idct8(in)
		for x := range o {
			dst[y*stride+x] = idctLimit[int32((o[x]+1<<17)>>18)&1023]
		}
	}
}

// randomBlock fills a block the way real data looks (most high frequencies
// zero, magnitudes falling with frequency), or with extreme values: the full
// int16 range and 16-bit quantisers, where 32-bit lanes would overflow and
// the AVX2 kernel must decline, and values just inside its limit, whose
// samples land far outside 0–255 and exercise the range-limit wrap.
func randomBlock(rng *rand.Rand, blk *[64]int16, q *[64]uint16) {
	*blk = [64]int16{}
	kind := rng.Intn(7)
	for i := range q {
		switch kind {
		case 4, 5:
			q[i] = uint16(rng.Intn(65536))
		case 6:
			q[i] = uint16(1 + rng.Intn(4))
		default:
			q[i] = uint16(1 + rng.Intn(100))
		}
	}
	n := rng.Intn(65)
	for k := 0; k < n; k++ {
		pos := zigzag[k]
		switch kind {
		case 0: // DC and AC only in the first row or column
			if pos >= 8 && pos%8 != 0 {
				continue
			}
			fallthrough
		case 1, 2:
			blk[pos] = int16(rng.NormFloat64() * 1024 / float64(int(q[pos])*(1+k)))
		case 3:
			blk[pos] = int16(rng.Intn(4096) - 2048)
		case 4:
			blk[pos] = int16(rng.Intn(65536) - 32768)
		case 5:
			blk[pos] = int16(rng.Intn(64) - 32)
		case 6: // near the AVX2 kernel's limit, samples far out of range
			blk[pos] = int16(rng.Intn(16384) - 8192)
		}
	}
}

// TestIDCTMatchesReference runs idctIslow (with its zero shortcuts, given
// the extent the baseline decoder would report and the computed one) and
// the AVX2 kernel on random and extreme blocks, and requires the reference's
// samples exactly.
func TestIDCTMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var blk [64]int16
	var q [64]uint16
	const stride = 11
	want := make([]uint8, 8*stride)
	got := make([]uint8, 8*stride)
	declined, accepted := 0, 0
	for i := 0; i < 200000; i++ {
		randomBlock(rng, &blk, &q)
		idctIslowRef(&blk, &q, want, stride)
		last := 0
		for k := 63; k > 0; k-- {
			if blk[zigzag[k]] != 0 {
				last = k
				break
			}
		}
		for _, e := range []blockExtent{extentAfter[last], extentOf(&blk), 0x88} {
			clear(got)
			idctIslow(&blk, &q, e, got, stride)
			require.Equal(t, want, got, "block %d (extent %#x): %v × %v", i, e, blk, q)
		}
		if useAVX2 {
			clear(got)
			ext := extentOf(&blk)
			if idctRowAVX2(&blk, &ext, 1, &q, &got[0], stride) == 1 {
				require.Equal(t, want, got, "AVX2, block %d: %v × %v", i, blk, q)
				accepted++
			} else {
				declined++
			}
		}
	}
	t.Logf("AVX2 kernel took %d blocks, declined %d (the extreme ones)", accepted, declined)
	if useAVX2 {
		require.Greater(t, accepted, 50000)
	}
}

// TestIDCTRow runs rows of blocks through jpegOutput.blockRow, where the
// AVX2 kernel handles runs of blocks, fills DC-only ones and hands blocks
// out of its range back to the Go code mid-row; every tile must be the
// reference's.
func TestIDCTRow(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	const bw = 13
	var q [64]uint16
	for rep := 0; rep < 300; rep++ {
		coefs := make([]int16, bw*64)
		randomBlock(rng, (*[64]int16)(coefs), &q) // a table for the row
		for b := 0; b < bw; b++ {
			var qb [64]uint16
			randomBlock(rng, (*[64]int16)(coefs[b*64:]), &qb)
			if rng.Intn(4) == 0 { // DC only
				clear(coefs[b*64+1 : b*64+64])
			}
		}
		c := &jpegComp{bw: bw, bh: 1, quant: q}
		stride := bw*8 + rng.Intn(5)
		o := &jpegOutput{scale: 8, planes: []jpegPlane{{pix: make([]uint8, 8*stride), stride: stride}}, ext: make([]blockExtent, bw)}
		var ext []blockExtent
		if rep%2 == 0 {
			ext = make([]blockExtent, bw)
			for b := range ext {
				ext[b] = extentOf((*[64]int16)(coefs[b*64:]))
			}
		}
		o.blockRow(c, 0, 0, coefs, ext)
		want := make([]uint8, 8*stride)
		for b := 0; b < bw; b++ {
			idctIslowRef((*[64]int16)(coefs[b*64:]), &q, want[b*8:], stride)
		}
		for y := 0; y < 8; y++ {
			require.Equal(t, want[y*stride:y*stride+bw*8], o.planes[0].pix[y*stride:y*stride+bw*8], "row %d of tiles, repetition %d", y, rep)
		}
	}
}
