// Macros shared by the AVX2 kernels (*_amd64.s).

// CONST8 defines a 32-byte constant of eight equal int32 lanes.
#define CONST8(name, v) \
	DATA name<>+0(SB)/4, $v; DATA name<>+4(SB)/4, $v; DATA name<>+8(SB)/4, $v; DATA name<>+12(SB)/4, $v; \
	DATA name<>+16(SB)/4, $v; DATA name<>+20(SB)/4, $v; DATA name<>+24(SB)/4, $v; DATA name<>+28(SB)/4, $v; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

// CONST16 defines a 32-byte constant of sixteen equal int16 lanes.
#define CONST16(name, v) \
	DATA name<>+0(SB)/2, $v; DATA name<>+2(SB)/2, $v; DATA name<>+4(SB)/2, $v; DATA name<>+6(SB)/2, $v; \
	DATA name<>+8(SB)/2, $v; DATA name<>+10(SB)/2, $v; DATA name<>+12(SB)/2, $v; DATA name<>+14(SB)/2, $v; \
	DATA name<>+16(SB)/2, $v; DATA name<>+18(SB)/2, $v; DATA name<>+20(SB)/2, $v; DATA name<>+22(SB)/2, $v; \
	DATA name<>+24(SB)/2, $v; DATA name<>+26(SB)/2, $v; DATA name<>+28(SB)/2, $v; DATA name<>+30(SB)/2, $v; \
	GLOBL name<>(SB), RODATA|NOPTR, $32
