//go:build !purego

package preprocess

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2 kernels in *_amd64.s. Each has a pure Go twin
// that gives the same bytes (the tests compare them on random and extreme
// inputs); build with -tags purego to use only the Go code.
var useAVX2 = cpu.X86.HasAVX2

// idctRowAVX2 runs idctIslow over n consecutive blocks (from blk, with
// their extents) into consecutive 8×8 tiles of dst, eight columns or rows at
// a time in 32-bit lanes. DC-only blocks are filled flat. It stops at a
// block whose dequantised coefficients or first-pass values reach 2^15 in
// magnitude and returns its index (n when every block is done): below that
// no 32-bit sum can overflow (the largest intermediate is 61,214 times the
// largest input), so the lanes compute exactly what the 64-bit code does;
// above it the caller runs that code. Real encoders' coefficients stay far
// below (dequantised values near 2^11, first-pass values near 2^13).
//
//go:noescape
func idctRowAVX2(blk *[64]int16, ext *blockExtent, n int, q *[64]uint16, dst *uint8, stride int) int

// fancyUpsampleAVX2 is h2v2Fancy (far non-nil) or h2v1Fancy (far nil) for a
// row of n ≥ 1 chroma samples, 16 at a time: near and far are read, cs (n+2
// int16 of scratch) and out (2n) written, up to 15 samples past n.
//
//go:noescape
func fancyUpsampleAVX2(near, far *uint8, n int, cs *int16, out *uint8)

// yccToRGBAVX2 is yccToRGB for n pixels, n a multiple of 16.
//
//go:noescape
func yccToRGBAVX2(y, cb, cr *uint8, n int, out *uint8)

// deinterleaveAVX2 splits n interleaved RGB pixels (n a multiple of 16)
// into three planes.
//
//go:noescape
func deinterleaveAVX2(rgb *uint8, n int, red, green, blue *uint8)

// resampleRowAVX2 is the horizontal pass for one row from planes made by
// deinterleaveAVX2 (R, G, B pstride apart): pixel i is the dot product, per
// channel, of 16·chunks samples from starts[i] with its taps, split into
// 16-bit halves by splitTaps, written as three bytes to out.
//
//go:noescape
func resampleRowAVX2(planes *uint8, pstride int, starts *int32, k *int16, n, chunks int, out *uint8)

// resampleRow8AVX2 is resampleRowAVX2 for one chunk of taps and n a
// multiple of 8, eight pixels at a time.
//
//go:noescape
func resampleRow8AVX2(planes *uint8, pstride int, starts *int32, k *int16, n int, out *uint8)

// resampleColsAVX2 is the vertical pass for one output row: n columns (a
// multiple of 8) of taps rows stride apart from src, weighted by k.
//
//go:noescape
func resampleColsAVX2(src *uint8, stride int, k *int32, taps, n int, out *uint8)
