//go:build !purego

#include "textflag.h"
#include "simd_amd64.h"

// AVX2 version of idctIslow (jpegidct.go): libjpeg-turbo's jpeg_idct_islow
// with eight 32-bit lanes. The first pass transforms the columns with the
// coefficient rows in Y0–Y7 (lane x = column x); the workspace is then
// transposed so the second pass transforms its rows the same way, and the
// result is transposed back to rows of samples.

// jidctint.c's FIX(x) = round(x·2^13).
CONST8(k0298, 2446)
CONST8(k0541, 4433)
CONST8(k0765, 6270)
CONST8(k1175, 9633)
CONST8(k1501, 12299)
CONST8(k1847, 15137)
CONST8(k2053, 16819)
CONST8(k3072, 25172)
CONST8(km0390, -3196)
CONST8(km0899, -7373)
CONST8(km1961, -16069)
CONST8(km2562, -20995)
// Rounding of the first pass (descale by CONST_BITS−PASS1_BITS = 11).
CONST8(round1, 1024)
// Rounding of the second pass (descale by CONST_BITS+PASS1_BITS+3 = 18)
// plus 512<<18, so that the shifted value is the sample + 512: masked with
// 1023 and less 384 it is libjpeg's range-limit index folded into
// [−384, 639], which the saturating packs clamp to 0–255 as its table does.
CONST8(round2, 134348800)
CONST8(mask1023, 1023)
CONST8(k384, 384)
// Bits that must be clear in |value| for the 32-bit lanes to be exact.
CONST8(highbits, -32768)

// permd orders the dwords of the packed rows as rows 0–3, 8 bytes each.
DATA permd<>+0(SB)/4, $0
DATA permd<>+4(SB)/4, $4
DATA permd<>+8(SB)/4, $1
DATA permd<>+12(SB)/4, $5
DATA permd<>+16(SB)/4, $2
DATA permd<>+20(SB)/4, $6
DATA permd<>+24(SB)/4, $3
DATA permd<>+28(SB)/4, $7
GLOBL permd<>(SB), RODATA|NOPTR, $32

// IDCT8 is jidctint.c's 8-point transform of in0–in7 (Y0–Y7, one lane per
// column or row) to its eight outputs before the descale, round added
// (Y8–Y15 = out0–out7). It clobbers Y0–Y7. The operations are the C code's,
// in the same order.
#define IDCT8(round) \
	VPADDD  Y6, Y2, Y8; \            // even part
	VPMULLD k0541<>(SB), Y8, Y8; \   // z1 = (in2+in6)·FIX(0.541196100)
	VPMULLD k1847<>(SB), Y6, Y9; \
	VPSUBD  Y9, Y8, Y9; \            // tmp2 = z1 − in6·FIX(1.847759065)
	VPMULLD k0765<>(SB), Y2, Y10; \
	VPADDD  Y10, Y8, Y10; \          // tmp3 = z1 + in2·FIX(0.765366865)
	VPADDD  Y4, Y0, Y8; \
	VPSLLD  $13, Y8, Y8; \           // tmp0 = (in0+in4) << CONST_BITS
	VPSUBD  Y4, Y0, Y0; \
	VPSLLD  $13, Y0, Y0; \           // tmp1 = (in0−in4) << CONST_BITS
	VPADDD  round, Y8, Y8; \         // each output takes one of tmp0, tmp1:
	VPADDD  round, Y0, Y0; \         // the rounding goes in once
	VPADDD  Y10, Y8, Y2; \           // tmp10 = tmp0 + tmp3
	VPSUBD  Y10, Y8, Y6; \           // tmp13 = tmp0 − tmp3
	VPADDD  Y9, Y0, Y4; \            // tmp11 = tmp1 + tmp2
	VPSUBD  Y9, Y0, Y0; \            // tmp12 = tmp1 − tmp2
	VPADDD  Y1, Y7, Y8; \            // odd part: z1 = in7 + in1
	VPADDD  Y3, Y5, Y9; \            // z2 = in5 + in3
	VPADDD  Y3, Y7, Y10; \           // z3 = in7 + in3
	VPADDD  Y1, Y5, Y11; \           // z4 = in5 + in1
	VPADDD  Y11, Y10, Y12; \
	VPMULLD k1175<>(SB), Y12, Y12; \ // z5 = (z3+z4)·FIX(1.175875602)
	VPMULLD k0298<>(SB), Y7, Y7; \   // t0 = in7·FIX(0.298631336)
	VPMULLD k2053<>(SB), Y5, Y5; \   // t1 = in5·FIX(2.053119869)
	VPMULLD k3072<>(SB), Y3, Y3; \   // t2 = in3·FIX(3.072711026)
	VPMULLD k1501<>(SB), Y1, Y1; \   // t3 = in1·FIX(1.501321110)
	VPMULLD km0899<>(SB), Y8, Y8; \  // z1 ·= −FIX(0.899976223)
	VPMULLD km2562<>(SB), Y9, Y9; \  // z2 ·= −FIX(2.562915447)
	VPMULLD km1961<>(SB), Y10, Y10; \
	VPADDD  Y12, Y10, Y10; \         // z3 = z3·−FIX(1.961570560) + z5
	VPMULLD km0390<>(SB), Y11, Y11; \
	VPADDD  Y12, Y11, Y11; \         // z4 = z4·−FIX(0.390180644) + z5
	VPADDD  Y10, Y8, Y13; \
	VPADDD  Y13, Y7, Y7; \           // t0 += z1 + z3
	VPADDD  Y11, Y9, Y13; \
	VPADDD  Y13, Y5, Y5; \           // t1 += z2 + z4
	VPADDD  Y10, Y9, Y13; \
	VPADDD  Y13, Y3, Y3; \           // t2 += z2 + z3
	VPADDD  Y11, Y8, Y13; \
	VPADDD  Y13, Y1, Y1; \           // t3 += z1 + z4
	VPADDD  Y1, Y2, Y8; \            // out0 = tmp10 + t3
	VPSUBD  Y1, Y2, Y15; \           // out7 = tmp10 − t3
	VPADDD  Y3, Y4, Y9; \            // out1 = tmp11 + t2
	VPSUBD  Y3, Y4, Y14; \           // out6 = tmp11 − t2
	VPADDD  Y5, Y0, Y10; \           // out2 = tmp12 + t1
	VPSUBD  Y5, Y0, Y13; \           // out5 = tmp12 − t1
	VPADDD  Y7, Y6, Y11; \           // out3 = tmp13 + t0
	VPSUBD  Y7, Y6, Y12              // out4 = tmp13 − t0

// TRANSPOSE transposes the 8×8 int32 matrix in Y8–Y15 (one row each) into
// Y0–Y7 (one column each), clobbering Y8–Y15.
#define TRANSPOSE \
	VPUNPCKLDQ  Y9, Y8, Y0; \
	VPUNPCKHDQ  Y9, Y8, Y1; \
	VPUNPCKLDQ  Y11, Y10, Y2; \
	VPUNPCKHDQ  Y11, Y10, Y3; \
	VPUNPCKLDQ  Y13, Y12, Y4; \
	VPUNPCKHDQ  Y13, Y12, Y5; \
	VPUNPCKLDQ  Y15, Y14, Y6; \
	VPUNPCKHDQ  Y15, Y14, Y7; \
	VPUNPCKLQDQ Y2, Y0, Y8; \
	VPUNPCKHQDQ Y2, Y0, Y9; \
	VPUNPCKLQDQ Y3, Y1, Y10; \
	VPUNPCKHQDQ Y3, Y1, Y11; \
	VPUNPCKLQDQ Y6, Y4, Y12; \
	VPUNPCKHQDQ Y6, Y4, Y13; \
	VPUNPCKLQDQ Y7, Y5, Y14; \
	VPUNPCKHQDQ Y7, Y5, Y15; \
	VPERM2I128  $0x20, Y12, Y8, Y0; \
	VPERM2I128  $0x31, Y12, Y8, Y4; \
	VPERM2I128  $0x20, Y13, Y9, Y1; \
	VPERM2I128  $0x31, Y13, Y9, Y5; \
	VPERM2I128  $0x20, Y14, Y10, Y2; \
	VPERM2I128  $0x31, Y14, Y10, Y6; \
	VPERM2I128  $0x20, Y15, Y11, Y3; \
	VPERM2I128  $0x31, Y15, Y11, Y7

// ABSOR sets acc to the OR of the magnitudes of a–h, clobbering tmp: no
// bit of the result at 2^15 or above means every |value| < 2^15.
#define ABSOR(a, b, c, d, e, f, g, h, acc, tmp) \
	VPABSD a, acc; \
	VPABSD b, tmp; \
	VPOR   tmp, acc, acc; \
	VPABSD c, tmp; \
	VPOR   tmp, acc, acc; \
	VPABSD d, tmp; \
	VPOR   tmp, acc, acc; \
	VPABSD e, tmp; \
	VPOR   tmp, acc, acc; \
	VPABSD f, tmp; \
	VPOR   tmp, acc, acc; \
	VPABSD g, tmp; \
	VPOR   tmp, acc, acc; \
	VPABSD h, tmp; \
	VPOR   tmp, acc, acc

// DEQUANT loads coefficient row r times quantisation row r into Yr.
#define DEQUANT(off, reg) \
	VPMOVSXWD off(AX), reg; \
	VPMOVZXWD off(BX), Y15; \
	VPMULLD   Y15, reg, reg

// func idctRowAVX2(blk *[64]int16, ext *blockExtent, n int, q *[64]uint16, dst *uint8, stride int) int
//
// Runs the inverse DCT of n consecutive blocks (64 coefficients each from
// blk, extents from ext) into consecutive 8×8 tiles of dst. A block with
// only a DC coefficient is filled flat, as idctIslow does; any other goes
// through the AVX2 transform, which declines a block out of its exact range:
// the function then stops and returns that block's index (n when all are
// done), having written nothing for it.
TEXT ·idctRowAVX2(SB), NOSPLIT, $0-56
	MOVQ blk+0(FP), AX
	MOVQ ext+8(FP), R10
	MOVQ n+16(FP), R8
	MOVQ q+24(FP), BX
	MOVQ dst+32(FP), DI
	MOVQ stride+40(FP), SI
	LEAQ (SI)(SI*2), DX           // 3·stride
	XORQ R11, R11                 // blocks done
	LEAQ ·idctLimit(SB), R13
	TESTQ R8, R8
	JZ    done

block:
	MOVBLZX (R10)(R11*1), R12
	CMPL    R12, $0x11
	JNE     full

	// DC only: ws = int32(dc·q0 << PASS1_BITS), sample = limit[(ws+16)>>5 & 1023].
	MOVWQSX (AX), R12
	MOVWQZX (BX), R9
	IMULQ   R9, R12
	SHLQ    $2, R12
	MOVLQSX R12, R12
	ADDQ    $16, R12
	SARQ    $5, R12
	ANDQ    $1023, R12
	MOVBQZX (R13)(R12*1), R12
	MOVQ    $0x0101010101010101, R9
	IMULQ   R9, R12
	MOVQ    R12, (DI)
	MOVQ    R12, (DI)(SI*1)
	MOVQ    R12, (DI)(SI*2)
	MOVQ    R12, (DI)(DX*1)
	LEAQ    (DI)(SI*4), R9
	MOVQ    R12, (R9)
	MOVQ    R12, (R9)(SI*1)
	MOVQ    R12, (R9)(SI*2)
	MOVQ    R12, (R9)(DX*1)
	JMP     next

full:
	// Dequantise into Y0–Y7 (int16 × uint16 always fits in 32 bits) and
	// check the range.
	DEQUANT(0, Y0)
	DEQUANT(16, Y1)
	DEQUANT(32, Y2)
	DEQUANT(48, Y3)
	DEQUANT(64, Y4)
	DEQUANT(80, Y5)
	DEQUANT(96, Y6)
	DEQUANT(112, Y7)
	ABSOR(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9)
	VPTEST highbits<>(SB), Y8
	JNZ    done

	// Pass 1: columns, descaled by 11 into the workspace (rows in Y8–Y15).
	IDCT8(round1<>(SB))
	VPSRAD $11, Y8, Y8
	VPSRAD $11, Y9, Y9
	VPSRAD $11, Y10, Y10
	VPSRAD $11, Y11, Y11
	VPSRAD $11, Y12, Y12
	VPSRAD $11, Y13, Y13
	VPSRAD $11, Y14, Y14
	VPSRAD $11, Y15, Y15
	ABSOR(Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15, Y0, Y1)
	VPTEST highbits<>(SB), Y0
	JNZ    done

	// Pass 2: rows (after the transpose, lane y = workspace row y).
	TRANSPOSE
	IDCT8(round2<>(SB))
	VMOVDQU mask1023<>(SB), Y0
	VMOVDQU k384<>(SB), Y1
	VPSRAD  $18, Y8, Y8
	VPSRAD  $18, Y9, Y9
	VPSRAD  $18, Y10, Y10
	VPSRAD  $18, Y11, Y11
	VPSRAD  $18, Y12, Y12
	VPSRAD  $18, Y13, Y13
	VPSRAD  $18, Y14, Y14
	VPSRAD  $18, Y15, Y15
	VPAND   Y0, Y8, Y8
	VPAND   Y0, Y9, Y9
	VPAND   Y0, Y10, Y10
	VPAND   Y0, Y11, Y11
	VPAND   Y0, Y12, Y12
	VPAND   Y0, Y13, Y13
	VPAND   Y0, Y14, Y14
	VPAND   Y0, Y15, Y15
	VPSUBD  Y1, Y8, Y8
	VPSUBD  Y1, Y9, Y9
	VPSUBD  Y1, Y10, Y10
	VPSUBD  Y1, Y11, Y11
	VPSUBD  Y1, Y12, Y12
	VPSUBD  Y1, Y13, Y13
	VPSUBD  Y1, Y14, Y14
	VPSUBD  Y1, Y15, Y15

	// Back to rows (Y0–Y7), then clamp to bytes and store.
	TRANSPOSE
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSDW Y5, Y4, Y4
	VPACKSSDW Y7, Y6, Y6
	VPACKUSWB Y2, Y0, Y0
	VPACKUSWB Y6, Y4, Y4
	VMOVDQU   permd<>(SB), Y15
	VPERMD    Y0, Y15, Y0
	VPERMD    Y4, Y15, Y4
	VMOVQ     X0, (DI)
	VPEXTRQ   $1, X0, (DI)(SI*1)
	VEXTRACTI128 $1, Y0, X1
	VMOVQ     X1, (DI)(SI*2)
	VPEXTRQ   $1, X1, (DI)(DX*1)
	LEAQ      (DI)(SI*4), R9
	VMOVQ     X4, (R9)
	VPEXTRQ   $1, X4, (R9)(SI*1)
	VEXTRACTI128 $1, Y4, X5
	VMOVQ     X5, (R9)(SI*2)
	VPEXTRQ   $1, X5, (R9)(DX*1)

next:
	ADDQ $128, AX
	ADDQ $8, DI
	INCQ R11
	CMPQ R11, R8
	JLT  block

done:
	VZEROUPPER
	MOVQ R11, ret+48(FP)
	RET
