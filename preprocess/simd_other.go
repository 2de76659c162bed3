//go:build !amd64 || purego

package preprocess

// useAVX2 is false where the AVX2 kernels are not built; the pure Go code
// runs instead.
const useAVX2 = false

func idctRowAVX2(blk *[64]int16, ext *blockExtent, n int, q *[64]uint16, dst *uint8, stride int) int {
	return 0
}

func fancyUpsampleAVX2(near, far *uint8, n int, cs *int16, out *uint8) {}

func yccToRGBAVX2(y, cb, cr *uint8, n int, out *uint8) {}

func deinterleaveAVX2(rgb *uint8, n int, red, green, blue *uint8) {}

func resampleRowAVX2(planes *uint8, pstride int, starts *int32, k *int16, n, chunks int, out *uint8) {
}

func resampleRow8AVX2(planes *uint8, pstride int, starts *int32, k *int16, n int, out *uint8) {}

func resampleColsAVX2(src *uint8, stride int, k *int32, taps, n int, out *uint8) {}
