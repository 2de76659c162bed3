//go:build !purego

#include "textflag.h"
#include "simd_amd64.h"

// AVX2 versions of the resampler's passes (resample.go), with PIL's
// fixed-point arithmetic: 32-bit products and sums (so the same wrap-around
// as PIL's int accumulators), the rounding half added once, an arithmetic
// shift by 22 and a clamp to 0–255.

// 1 << (PRECISION_BITS−1)
CONST8(half22, 2097152)

// Byte shuffles that split 16 interleaved RGB pixels (48 bytes, three
// chunks) into 16 R, G and B samples: dlXo takes channel X's samples that
// lie in input chunk o.
DATA dlr0<>+0(SB)/8, $0x80800f0c09060300
DATA dlr0<>+8(SB)/8, $0x8080808080808080
GLOBL dlr0<>(SB), RODATA|NOPTR, $16
DATA dlg0<>+0(SB)/8, $0x8080800d0a070401
DATA dlg0<>+8(SB)/8, $0x8080808080808080
GLOBL dlg0<>(SB), RODATA|NOPTR, $16
DATA dlb0<>+0(SB)/8, $0x8080800e0b080502
DATA dlb0<>+8(SB)/8, $0x8080808080808080
GLOBL dlb0<>(SB), RODATA|NOPTR, $16
DATA dlr1<>+0(SB)/8, $0x0502808080808080
DATA dlr1<>+8(SB)/8, $0x80808080800e0b08
GLOBL dlr1<>(SB), RODATA|NOPTR, $16
DATA dlg1<>+0(SB)/8, $0x0603008080808080
DATA dlg1<>+8(SB)/8, $0x80808080800f0c09
GLOBL dlg1<>(SB), RODATA|NOPTR, $16
DATA dlb1<>+0(SB)/8, $0x0704018080808080
DATA dlb1<>+8(SB)/8, $0x8080808080800d0a
GLOBL dlb1<>(SB), RODATA|NOPTR, $16
DATA dlr2<>+0(SB)/8, $0x8080808080808080
DATA dlr2<>+8(SB)/8, $0x0d0a070401808080
GLOBL dlr2<>(SB), RODATA|NOPTR, $16
DATA dlg2<>+0(SB)/8, $0x8080808080808080
DATA dlg2<>+8(SB)/8, $0x0e0b080502808080
GLOBL dlg2<>(SB), RODATA|NOPTR, $16
DATA dlb2<>+0(SB)/8, $0x8080808080808080
DATA dlb2<>+8(SB)/8, $0x0f0c090603008080
GLOBL dlb2<>(SB), RODATA|NOPTR, $16

// SPLIT gathers channel X of 16 pixels from X0–X2 into X3 and stores it.
#define SPLIT(m0, m1, m2, dst) \
	VPSHUFB m0, X0, X3; \
	VPSHUFB m1, X1, X4; \
	VPOR    X4, X3, X3; \
	VPSHUFB m2, X2, X4; \
	VPOR    X4, X3, X3; \
	VMOVDQU X3, (dst)(R8*1)

// func deinterleaveAVX2(rgb *uint8, n int, red, green, blue *uint8)
//
// Splits n interleaved RGB pixels (n a multiple of 16) into three planes.
TEXT ·deinterleaveAVX2(SB), NOSPLIT, $0-40
	MOVQ rgb+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ red+16(FP), AX
	MOVQ green+24(FP), BX
	MOVQ blue+32(FP), DX
	XORQ R8, R8
	TESTQ CX, CX
	JZ    dldone

dlloop:
	VMOVDQU (SI), X0
	VMOVDQU 16(SI), X1
	VMOVDQU 32(SI), X2
	SPLIT(dlr0<>(SB), dlr1<>(SB), dlr2<>(SB), AX)
	SPLIT(dlg0<>(SB), dlg1<>(SB), dlg2<>(SB), BX)
	SPLIT(dlb0<>(SB), dlb1<>(SB), dlb2<>(SB), DX)
	ADDQ $48, SI
	ADDQ $16, R8
	CMPQ R8, CX
	JLT  dlloop

dldone:
	RET

// func resampleRowAVX2(planes *uint8, pstride int, starts *int32, k *int16, n, chunks int, out *uint8)
//
// The horizontal pass for one row: output pixel i (of n) is, per channel,
// the dot product of 16·chunks samples of that channel's plane from
// starts[i] with pixel i's taps, zero past the filter's count. Each tap
// c = hi·2^11 + lo is split into 16-bit halves (lo in [0, 2^11)), stored
// per 16-tap chunk as 16 hi then 16 lo, so that VPMADDWD can take 16 taps
// at once: the sum is (Σ s·hi) << 11 + Σ s·lo, which is Σ s·c modulo 2^32,
// as PIL's 32-bit accumulator has it. The planes (R, G, B at planes,
// +pstride, +2·pstride) are read up to 16·chunks samples past the last
// start. Each pixel's three bytes are written to out.
TEXT ·resampleRowAVX2(SB), NOSPLIT, $0-56
	MOVQ planes+0(FP), SI
	MOVQ pstride+8(FP), R10
	MOVQ starts+16(FP), R11
	MOVQ k+24(FP), BX
	MOVQ n+32(FP), CX
	MOVQ chunks+40(FP), R12
	MOVQ out+48(FP), DI
	TESTQ CX, CX
	JZ    rowdone
	VMOVDQU half22<>(SB), X15

pixel:
	MOVLQSX (R11), AX
	LEAQ    (SI)(AX*1), AX        // R samples
	LEAQ    (AX)(R10*1), DX       // G samples
	LEAQ    (DX)(R10*1), R13      // B samples
	VPXOR   Y0, Y0, Y0            // R: Σ s·hi
	VPXOR   Y1, Y1, Y1            // R: Σ s·lo
	VPXOR   Y2, Y2, Y2            // G
	VPXOR   Y3, Y3, Y3
	VPXOR   Y4, Y4, Y4            // B
	VPXOR   Y5, Y5, Y5
	MOVQ    R12, R9

chunk:
	VMOVDQU   (BX), Y6
	VMOVDQU   32(BX), Y7
	VPMOVZXBW (AX), Y8
	VPMADDWD  Y6, Y8, Y9
	VPADDD    Y9, Y0, Y0
	VPMADDWD  Y7, Y8, Y9
	VPADDD    Y9, Y1, Y1
	VPMOVZXBW (DX), Y8
	VPMADDWD  Y6, Y8, Y9
	VPADDD    Y9, Y2, Y2
	VPMADDWD  Y7, Y8, Y9
	VPADDD    Y9, Y3, Y3
	VPMOVZXBW (R13), Y8
	VPMADDWD  Y6, Y8, Y9
	VPADDD    Y9, Y4, Y4
	VPMADDWD  Y7, Y8, Y9
	VPADDD    Y9, Y5, Y5
	ADDQ      $64, BX
	ADDQ      $16, AX
	ADDQ      $16, DX
	ADDQ      $16, R13
	DECQ      R9
	JNZ       chunk

	VPSLLD $11, Y0, Y0
	VPADDD Y1, Y0, Y0
	VPSLLD $11, Y2, Y2
	VPADDD Y3, Y2, Y2
	VPSLLD $11, Y4, Y4
	VPADDD Y5, Y4, Y4

	// Sum each accumulator's lanes: [R G B B] in X0.
	VPHADDD      Y2, Y0, Y0
	VPHADDD      Y4, Y4, Y4
	VPHADDD      Y4, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPADDD       X15, X0, X0
	VPSRAD       $22, X0, X0
	VPACKSSDW    X0, X0, X0
	VPACKUSWB    X0, X0, X0
	VMOVD        X0, R9
	MOVW         R9, (DI)
	SHRL         $16, R9
	MOVB         R9, 2(DI)
	ADDQ         $3, DI
	ADDQ         $4, R11
	DECQ         CX
	JNZ          pixel
	VZEROUPPER

rowdone:
	RET

// Byte shuffles that interleave 8 pixels: R and G samples in one register
// (R in bytes 0–7, G in 8–15), B in another; rg8o and b8o make output
// bytes 16o–16o+15 (only 24 exist).
DATA rg80<>+0(SB)/8, $0x0a02800901800800
DATA rg80<>+8(SB)/8, $0x05800c04800b0380
GLOBL rg80<>(SB), RODATA|NOPTR, $16
DATA b80<>+0(SB)/8, $0x8080018080008080
DATA b80<>+8(SB)/8, $0x8004808003808002
GLOBL b80<>(SB), RODATA|NOPTR, $16
DATA rg81<>+0(SB)/8, $0x800f07800e06800d
DATA rg81<>+8(SB)/8, $0x8080808080808080
GLOBL rg81<>(SB), RODATA|NOPTR, $16
DATA b81<>+0(SB)/8, $0x0780800680800580
DATA b81<>+8(SB)/8, $0x8080808080808080
GLOBL b81<>(SB), RODATA|NOPTR, $16

// PIX8 sets y to pixel p's dot product for one channel (plane base in
// plane), for taps that fit one 16-tap chunk: (Σ s·hi) << 11 + Σ s·lo.
#define PIX8(p, plane, y) \
	MOVLQSX   (p*4)(R11), AX; \
	VPMOVZXBW (plane)(AX*1), Y8; \
	VPMADDWD  (p*64)(BX), Y8, y; \
	VPMADDWD  (p*64+32)(BX), Y8, Y9; \
	VPSLLD    $11, y, y; \
	VPADDD    Y9, y, y

// CHANNEL8 computes one channel of 8 pixels and leaves its 8 bytes in the
// low half of save: the eight dot products are summed lane-wise by a
// transposing tree of VPHADDD, then rounded, shifted and clamped together.
#define CHANNEL8(plane, save) \
	PIX8(0, plane, Y0); \
	PIX8(1, plane, Y1); \
	PIX8(2, plane, Y2); \
	PIX8(3, plane, Y3); \
	PIX8(4, plane, Y4); \
	PIX8(5, plane, Y5); \
	PIX8(6, plane, Y6); \
	PIX8(7, plane, Y7); \
	VPHADDD      Y1, Y0, Y0; \
	VPHADDD      Y3, Y2, Y2; \
	VPHADDD      Y5, Y4, Y4; \
	VPHADDD      Y7, Y6, Y6; \
	VPHADDD      Y2, Y0, Y0; \
	VPHADDD      Y6, Y4, Y4; \
	VPERM2I128   $0x20, Y4, Y0, Y1; \
	VPERM2I128   $0x31, Y4, Y0, Y2; \
	VPADDD       Y2, Y1, Y1; \
	VPADDD       Y15, Y1, Y1; \
	VPSRAD       $22, Y1, Y1; \
	VEXTRACTI128 $1, Y1, X2; \
	VPACKSSDW    X2, X1, X1; \
	VPACKUSWB    X1, X1, save

// func resampleRow8AVX2(planes *uint8, pstride int, starts *int32, k *int16, n int, out *uint8)
//
// resampleRowAVX2 for taps that fit one 16-tap chunk, eight pixels at a
// time (n a multiple of 8): per channel, the eight dot products are reduced
// together, and the pixels are interleaved with byte shuffles.
TEXT ·resampleRow8AVX2(SB), NOSPLIT, $0-48
	MOVQ planes+0(FP), R8
	MOVQ pstride+8(FP), R10
	MOVQ starts+16(FP), R11
	MOVQ k+24(FP), BX
	MOVQ n+32(FP), CX
	MOVQ out+40(FP), DI
	LEAQ (R8)(R10*1), R9          // G plane
	LEAQ (R9)(R10*1), R10         // B plane
	SHRQ $3, CX
	JZ   row8done
	VMOVDQU half22<>(SB), Y15

row8:
	CHANNEL8(R8, X12)
	CHANNEL8(R9, X13)
	CHANNEL8(R10, X14)
	VPUNPCKLQDQ X13, X12, X12     // R0–7, G0–7
	VPSHUFB     rg80<>(SB), X12, X0
	VPSHUFB     b80<>(SB), X14, X1
	VPOR        X1, X0, X0
	VMOVDQU     X0, (DI)
	VPSHUFB     rg81<>(SB), X12, X0
	VPSHUFB     b81<>(SB), X14, X1
	VPOR        X1, X0, X0
	VMOVQ       X0, 16(DI)
	ADDQ        $32, R11
	ADDQ        $512, BX
	ADDQ        $24, DI
	DECQ        CX
	JNZ         row8
	VZEROUPPER

row8done:
	RET

// func resampleColsAVX2(src *uint8, stride int, k *int32, taps, n int, out *uint8)
//
// The vertical pass for one output row: out[i] for i < n (a multiple of 8)
// is the sum over t < taps of src[t·stride+i]·k[t], rounded and clamped.
TEXT ·resampleColsAVX2(SB), NOSPLIT, $0-48
	MOVQ src+0(FP), SI
	MOVQ stride+8(FP), R10
	MOVQ k+16(FP), BX
	MOVQ taps+24(FP), R12
	MOVQ n+32(FP), CX
	MOVQ out+40(FP), DI
	VMOVDQU half22<>(SB), Y15
	XORQ R8, R8

	// 32 columns at a time.
wide:
	LEAQ 32(R8), R9
	CMPQ R9, CX
	JGT  narrow
	VMOVDQA Y15, Y0
	VMOVDQA Y15, Y1
	VMOVDQA Y15, Y2
	VMOVDQA Y15, Y3
	LEAQ    (SI)(R8*1), AX
	XORQ    R9, R9

widetap:
	VPBROADCASTD (BX)(R9*4), Y5
	VPMOVZXBD    (AX), Y4
	VPMULLD      Y5, Y4, Y4
	VPADDD       Y4, Y0, Y0
	VPMOVZXBD    8(AX), Y4
	VPMULLD      Y5, Y4, Y4
	VPADDD       Y4, Y1, Y1
	VPMOVZXBD    16(AX), Y4
	VPMULLD      Y5, Y4, Y4
	VPADDD       Y4, Y2, Y2
	VPMOVZXBD    24(AX), Y4
	VPMULLD      Y5, Y4, Y4
	VPADDD       Y4, Y3, Y3
	ADDQ         R10, AX
	INCQ         R9
	CMPQ         R9, R12
	JLT          widetap

	VPSRAD       $22, Y0, Y0
	VPSRAD       $22, Y1, Y1
	VPSRAD       $22, Y2, Y2
	VPSRAD       $22, Y3, Y3
	VPACKSSDW    Y1, Y0, Y0     // [0-3 8-11 | 4-7 12-15]
	VPACKSSDW    Y3, Y2, Y2     // [16-19 24-27 | 20-23 28-31]
	VPACKUSWB    Y2, Y0, Y0     // [0-3 8-11 16-19 24-27 | 4-7 12-15 20-23 28-31]
	VPERMQ       $0xD8, Y0, Y0  // [0-3 8-11 4-7 12-15 | 16-19 24-27 20-23 28-31]
	VPSHUFD      $0xD8, Y0, Y0  // in order
	VMOVDQU      Y0, (DI)(R8*1)
	ADDQ         $32, R8
	JMP          wide

	// 8 columns at a time.
narrow:
	CMPQ R8, CX
	JGE  colsdone
	VMOVDQA Y15, Y0
	LEAQ    (SI)(R8*1), AX
	XORQ    R9, R9

narrowtap:
	VPBROADCASTD (BX)(R9*4), Y5
	VPMOVZXBD    (AX), Y4
	VPMULLD      Y5, Y4, Y4
	VPADDD       Y4, Y0, Y0
	ADDQ         R10, AX
	INCQ         R9
	CMPQ         R9, R12
	JLT          narrowtap

	VPSRAD       $22, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW    X1, X0, X0
	VPACKUSWB    X0, X0, X0
	VMOVQ        X0, (DI)(R8*1)
	ADDQ         $8, R8
	JMP          narrow

colsdone:
	VZEROUPPER
	RET
