//go:build !purego

#include "textflag.h"
#include "simd_amd64.h"

// AVX2 versions of the JPEG decoder's fancy chroma upsampling (jpeg.go's
// h2v1Fancy and h2v2Fancy) and YCbCr→RGB conversion (jpegidct.go's
// yccToRGB), with the same integer arithmetic.

// jdsample.c's rounding biases: h2v1 1 and 2 (>> 2), h2v2 8 and 7 (>> 4).
CONST16(bias1, 1)
CONST16(bias2, 2)
CONST16(bias7, 7)
CONST16(bias8, 8)

// jdcolor.c's build_ycc_rgb_table (SCALEBITS 16) in 16-bit lanes. With
// x = Cb−128 or Cr−128 in [−128, 127]:
//   (FIX(1.40200)·x + ½) >> 16 = x + ((26345·x + ½) >> 16)   (91881 = 2^16 + 26345)
//   (FIX(1.77200)·x + ½) >> 16 = 2x + ((−14942·x + ½) >> 16) (116130 = 2^17 − 14942)
//   (−FIX(0.34414)·xb − FIX(0.71414)·xr + ½) >> 16
//     = −xr + ((−22554·xb + 18734·xr + ½) >> 16)              (46802 = 2^16 − 18734)
// and (F·x + ½) >> 16 = ((F·2x) >> 16 + 1) >> 1, which VPMULHW gives.
CONST16(k128w, 128)
CONST16(onew, 1)
CONST16(kcrr16, 26345)
CONST16(kcbb16, -14942)
// (−22554, 18734) word pairs for VPMADDWD on (xb, xr) pairs.
CONST8(kg, 0x492ea7e6)
CONST8(half16, 32768)

// Byte shuffles that interleave 16 R, G and B samples into 48 bytes: ilXo
// places channel X's samples of output chunk o (bytes 16o–16o+15).
DATA ilr0<>+0(SB)/8, $0x8002808001808000
DATA ilr0<>+8(SB)/8, $0x0580800480800380
GLOBL ilr0<>(SB), RODATA|NOPTR, $16
DATA ilg0<>+0(SB)/8, $0x0280800180800080
DATA ilg0<>+8(SB)/8, $0x8080048080038080
GLOBL ilg0<>(SB), RODATA|NOPTR, $16
DATA ilb0<>+0(SB)/8, $0x8080018080008080
DATA ilb0<>+8(SB)/8, $0x8004808003808002
GLOBL ilb0<>(SB), RODATA|NOPTR, $16
DATA ilr1<>+0(SB)/8, $0x8080078080068080
DATA ilr1<>+8(SB)/8, $0x800a808009808008
GLOBL ilr1<>(SB), RODATA|NOPTR, $16
DATA ilg1<>+0(SB)/8, $0x8007808006808005
DATA ilg1<>+8(SB)/8, $0x0a80800980800880
GLOBL ilg1<>(SB), RODATA|NOPTR, $16
DATA ilb1<>+0(SB)/8, $0x0780800680800580
DATA ilb1<>+8(SB)/8, $0x8080098080088080
GLOBL ilb1<>(SB), RODATA|NOPTR, $16
DATA ilr2<>+0(SB)/8, $0x0d80800c80800b80
DATA ilr2<>+8(SB)/8, $0x80800f80800e8080
GLOBL ilr2<>(SB), RODATA|NOPTR, $16
DATA ilg2<>+0(SB)/8, $0x80800c80800b8080
DATA ilg2<>+8(SB)/8, $0x800f80800e80800d
GLOBL ilg2<>(SB), RODATA|NOPTR, $16
DATA ilb2<>+0(SB)/8, $0x800c80800b80800a
DATA ilb2<>+8(SB)/8, $0x0f80800e80800d80
GLOBL ilb2<>(SB), RODATA|NOPTR, $16

// func fancyUpsampleAVX2(near, far *uint8, n int, cs *int16, out *uint8)
//
// Upsamples a chroma row of n samples to 2n: h2v2 (far, the other chroma
// row, non-nil) or h2v1 (far nil). cs is scratch for n+2 column sums,
// padded with the edge values so that the edge outputs come out of the
// general formula (for h2v1: (4·x+1)>>2 = x; for h2v2: (4·c+8)>>4 and
// (4·c+7)>>4, jdsample.c's edge cases). Work is done 16 samples at a time:
// the rows may be read, and cs and out written, up to 15 samples past n;
// n ≥ 1.
TEXT ·fancyUpsampleAVX2(SB), NOSPLIT, $0-40
	MOVQ near+0(FP), AX
	MOVQ far+8(FP), BX
	MOVQ n+16(FP), CX
	MOVQ cs+24(FP), DX
	MOVQ out+32(FP), DI
	XORQ R8, R8
	TESTQ BX, BX
	JZ    h2v1

h2v2:	// cs[1+i] = 3·near[i] + far[i]
	VPMOVZXBW (AX)(R8*1), Y0
	VPMOVZXBW (BX)(R8*1), Y1
	VPADDW    Y0, Y0, Y2
	VPADDW    Y2, Y0, Y0
	VPADDW    Y1, Y0, Y0
	VMOVDQU   Y0, 2(DX)(R8*2)
	ADDQ      $16, R8
	CMPQ      R8, CX
	JLT       h2v2
	VMOVDQU   bias8<>(SB), Y14
	VMOVDQU   bias7<>(SB), Y15
	MOVQ      $4, R9
	JMP       edges

h2v1:	// cs[1+i] = in[i]
	VPMOVZXBW (AX)(R8*1), Y0
	VMOVDQU   Y0, 2(DX)(R8*2)
	ADDQ      $16, R8
	CMPQ      R8, CX
	JLT       h2v1
	VMOVDQU   bias1<>(SB), Y14
	VMOVDQU   bias2<>(SB), Y15
	MOVQ      $2, R9

edges:
	MOVW 2(DX), R10
	MOVW R10, (DX)          // cs[0] = cs[1]
	MOVW (DX)(CX*2), R10
	MOVW R10, 2(DX)(CX*2)   // cs[n+1] = cs[n]
	MOVQ R9, X13
	XORQ R8, R8

out:	// out[2i] = (3·cs[i] + cs[i−1] + bias) >> s, out[2i+1] = (3·cs[i] + cs[i+1] + bias') >> s
	VMOVDQU 2(DX)(R8*2), Y0
	VMOVDQU (DX)(R8*2), Y1
	VMOVDQU 4(DX)(R8*2), Y2
	VPADDW  Y0, Y0, Y3
	VPADDW  Y3, Y0, Y0
	VPADDW  Y0, Y1, Y1
	VPADDW  Y14, Y1, Y1
	VPSRLW  X13, Y1, Y1
	VPADDW  Y0, Y2, Y2
	VPADDW  Y15, Y2, Y2
	VPSRLW  X13, Y2, Y2
	VPSLLW  $8, Y2, Y2
	VPOR    Y2, Y1, Y1      // even | odd<<8: the bytes in order
	VMOVDQU Y1, (DI)(R8*2)
	ADDQ    $16, R8
	CMPQ    R8, CX
	JLT     out
	VZEROUPPER
	RET

// BYTES16 narrows 16 words (samples 0–7, 8–15 in the two lanes of w) to 16
// bytes in order in the xmm half of w, saturating to 0–255.
#define BYTES16(w, wx, tx) \
	VEXTRACTI128 $1, w, tx; \
	VPACKUSWB    tx, wx, wx

// INTERLEAVE writes output chunk o of 16 pixels (R in X6, G in X2, B in X8).
#define INTERLEAVE(mr, mg, mb, off) \
	VPSHUFB mr, X6, X0; \
	VPSHUFB mg, X2, X1; \
	VPOR    X1, X0, X0; \
	VPSHUFB mb, X8, X1; \
	VPOR    X1, X0, X0; \
	VMOVDQU X0, off(DI)

// func yccToRGBAVX2(y, cb, cr *uint8, n int, out *uint8)
//
// Converts n pixels (a multiple of 16) as jdcolor.c's ycc_rgb_convert:
// R = Y + (FIX(1.402)·(Cr−128) + ½) >> 16, B = Y + (FIX(1.772)·(Cb−128) +
// ½) >> 16, G = Y + (−FIX(0.34414)·(Cb−128) + ½ − FIX(0.71414)·(Cr−128))
// >> 16, clamped to 0–255, written as 3n interleaved bytes; 16 pixels at a
// time in 16-bit lanes (see the constants above).
TEXT ·yccToRGBAVX2(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), AX
	MOVQ cb+8(FP), BX
	MOVQ cr+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ out+32(FP), DI
	TESTQ CX, CX
	JZ    done
	VMOVDQU k128w<>(SB), Y12
	VMOVDQU onew<>(SB), Y13
	VMOVDQU kg<>(SB), Y14
	VMOVDQU half16<>(SB), Y15
	XORQ    R8, R8

loop:
	VPMOVZXBW (AX)(R8*1), Y0  // Y
	VPMOVZXBW (BX)(R8*1), Y1
	VPMOVZXBW (DX)(R8*1), Y2
	VPSUBW    Y12, Y1, Y1     // xb = Cb − 128
	VPSUBW    Y12, Y2, Y2     // xr = Cr − 128

	VPADDW    Y2, Y2, Y6      // R = Y + xr + ((26345·2xr) >> 16 + 1) >> 1
	VPMULHW   kcrr16<>(SB), Y6, Y6
	VPADDW    Y13, Y6, Y6
	VPSRAW    $1, Y6, Y6
	VPADDW    Y2, Y6, Y6
	VPADDW    Y0, Y6, Y6

	VPADDW    Y1, Y1, Y7      // B = Y + 2xb + ((−14942·2xb) >> 16 + 1) >> 1
	VPMULHW   kcbb16<>(SB), Y7, Y8
	VPADDW    Y13, Y8, Y8
	VPSRAW    $1, Y8, Y8
	VPADDW    Y7, Y8, Y8
	VPADDW    Y0, Y8, Y8

	VPUNPCKLWD Y2, Y1, Y3     // G = Y − xr + (−22554·xb + 18734·xr + ½) >> 16
	VPUNPCKHWD Y2, Y1, Y4     // (pairs of samples 0–3 | 8–11, 4–7 | 12–15)
	VPMADDWD   Y14, Y3, Y3
	VPMADDWD   Y14, Y4, Y4
	VPADDD     Y15, Y3, Y3
	VPADDD     Y15, Y4, Y4
	VPSRAD     $16, Y3, Y3
	VPSRAD     $16, Y4, Y4
	VPACKSSDW  Y4, Y3, Y3     // back in order
	VPSUBW     Y2, Y3, Y3
	VPADDW     Y0, Y3, Y2

	BYTES16(Y6, X6, X7)
	BYTES16(Y2, X2, X3)
	BYTES16(Y8, X8, X9)
	INTERLEAVE(ilr0<>(SB), ilg0<>(SB), ilb0<>(SB), 0)
	INTERLEAVE(ilr1<>(SB), ilg1<>(SB), ilb1<>(SB), 16)
	INTERLEAVE(ilr2<>(SB), ilg2<>(SB), ilb2<>(SB), 32)
	ADDQ $48, DI
	ADDQ $16, R8
	CMPQ R8, CX
	JLT  loop
	VZEROUPPER

done:
	RET
