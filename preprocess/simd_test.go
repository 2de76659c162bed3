package preprocess

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// The AVX2 kernels against their pure Go twins, which the fixture tests
// check against PIL and libjpeg-turbo. Exact equality everywhere.

// TestYCCToRGBAVX2Exhaustive converts every (Y, Cb, Cr) triple.
func TestYCCToRGBAVX2Exhaustive(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 here")
	}
	const n = 1 << 16
	yp, cb, cr := make([]uint8, n), make([]uint8, n), make([]uint8, n)
	for i := range cb {
		cb[i], cr[i] = uint8(i), uint8(i>>8)
	}
	want, got := make([]uint8, 3*n), make([]uint8, 3*n)
	for y := 0; y < 256; y++ {
		for i := range yp {
			yp[i] = uint8(y)
		}
		yccToRGB(yp, cb, cr, want)
		yccToRGBAVX2(&yp[0], &cb[0], &cr[0], n, &got[0])
		if n, first := countDiff(want, got); n > 0 {
			p := first / 3
			t.Fatalf("Y %d: %d samples differ; first: Cb %d Cr %d channel %d: want %d, got %d", y, n, cb[p], cr[p], first%3, want[first], got[first])
		}
	}
}

// TestFancyUpsampleAVX2 runs h2v1 and h2v2 fancy upsampling on random rows
// of every length from 3 (the least libjpeg upsamples this way) to 100.
func TestFancyUpsampleAVX2(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 here")
	}
	rng := rand.New(rand.NewSource(2))
	for n := 3; n <= 100; n++ {
		for rep := 0; rep < 20; rep++ {
			buf := make([]uint8, 2*n+planeSlack)
			near, far := buf[:n], buf[n:2*n]
			rng.Read(buf)
			if rep%4 == 0 { // extremes
				for i := range buf[:2*n] {
					buf[i] = uint8(255 * (rng.Intn(2)))
				}
			}
			want := make([]uint8, 2*n)
			got := make([]uint8, 2*n+planeSlack)
			cs := make([]int16, n+planeSlack)
			pl := &jpegPlane{}
			h2v1Fancy(near, want)
			pl.fancyAVX2(near, nil, got, cs)
			require.Equal(t, want, got[:2*n], "h2v1, n %d", n)
			h2v2Fancy(near, far, want)
			pl.fancyAVX2(near, far, got, cs)
			require.Equal(t, want, got[:2*n], "h2v2, n %d", n)
		}
	}
}

// TestResizeAVX2 resizes random images of awkward sizes with every filter
// and compares with the pure Go passes.
func TestResizeAVX2(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 here")
	}
	rng := rand.New(rand.NewSource(3))
	for rep := 0; rep < 60; rep++ {
		w, h := 1+rng.Intn(300), 1+rng.Intn(120)
		img := NewRGB(w, h)
		rng.Read(img.Pix)
		if rep%5 == 0 { // hard edges drive the negative lobes to clipping
			for i := range img.Pix {
				img.Pix[i] = uint8(255 * (rng.Intn(2)))
			}
		}
		tw, th := 1+rng.Intn(2*w), 1+rng.Intn(2*h)
		if rep%2 == 0 {
			tw, th = 1+rng.Intn(w), 1+rng.Intn(h) // mostly shrinking, as NaFlex does
		}
		for f := Lanczos; f <= Hamming; f++ {
			kern := kernelOf(f)
			horiz := precomputeCoeffs(w, tw, kern)
			got := &RGB{W: tw, H: h, Pix: make([]uint8, tw*h*3)}
			require.True(t, horizontalAVX2(img, 0, h, horiz, got))
			want := &RGB{W: tw, H: h, Pix: make([]uint8, tw*h*3)}
			for y := 0; y < h; y++ {
				horizontalRow(img.Pix[y*w*3:(y+1)*w*3], want.Pix[y*tw*3:(y+1)*tw*3], horiz)
			}
			require.Equal(t, want.Pix, got.Pix, "horizontal %s %d×%d → %d", f, w, h, tw)

			vert := precomputeCoeffs(h, th, kern)
			gotV := resampleVertical(img, th, vert)
			wantV := make([]uint8, w*3*th)
			acc := make([]int32, w*3)
			for yy := 0; yy < th; yy++ {
				k := vert.k[yy*vert.ksize : yy*vert.ksize+vert.count[yy]]
				src := img.Pix[vert.start[yy]*w*3 : (vert.start[yy]+len(k))*w*3]
				verticalCols(src, w*3, k, wantV[yy*w*3:(yy+1)*w*3], acc, 0)
			}
			require.Equal(t, wantV, gotV.Pix, "vertical %s %d×%d → %d", f, w, h, th)
		}
	}
}

// TestResizeAVX2DeclinesHugeTaps: taps that do not split into 16-bit halves
// leave the horizontal pass to the Go code.
func TestResizeAVX2DeclinesHugeTaps(t *testing.T) {
	c := coeffs{ksize: 1, start: []int{0}, count: []int{1}, k: []int32{1 << 26}}
	img := NewRGB(1, 1)
	require.False(t, useAVX2 && horizontalAVX2(img, 0, 1, c, NewRGB(1, 1)))
}
