//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 versions of the matrix-matrix kernels of matmul_amd64.s, for
// CPUs that run 512-bit FMAs at full width. A 512-bit lane does what the
// 256-bit lane of the same column does there, in the same order, so the
// results are the same bits; only twice as many columns share an
// instruction.

// func mm6x32AVX512(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int)
// A 6 x 32 block of dst = A B; see mm6x16AVX2.
TEXT ·mm6x32AVX512(SB), NOSPLIT, $0-112
	MOVQ   c_base+0(FP), DI
	MOVQ   ldc+24(FP), R8
	SHLQ   $2, R8
	MOVQ   a_base+32(FP), SI
	MOVQ   ai+56(FP), R9
	SHLQ   $2, R9
	MOVQ   ap+64(FP), R10
	SHLQ   $2, R10
	MOVQ   b_base+72(FP), BX
	MOVQ   ldb+96(FP), R11
	SHLQ   $2, R11
	MOVQ   k+104(FP), CX
	LEAQ   (SI)(R9*2), R12
	LEAQ   (R12)(R9*2), R13
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11

mm6x32loop:
	TESTQ        CX, CX
	JE           mm6x32store
	VMOVUPS      (BX), Z12
	VMOVUPS      64(BX), Z13
	VBROADCASTSS (SI), Z14
	VBROADCASTSS (SI)(R9*1), Z15
	VFMADD231PS  Z12, Z14, Z0
	VFMADD231PS  Z13, Z14, Z1
	VFMADD231PS  Z12, Z15, Z2
	VFMADD231PS  Z13, Z15, Z3
	VBROADCASTSS (R12), Z14
	VBROADCASTSS (R12)(R9*1), Z15
	VFMADD231PS  Z12, Z14, Z4
	VFMADD231PS  Z13, Z14, Z5
	VFMADD231PS  Z12, Z15, Z6
	VFMADD231PS  Z13, Z15, Z7
	VBROADCASTSS (R13), Z14
	VBROADCASTSS (R13)(R9*1), Z15
	VFMADD231PS  Z12, Z14, Z8
	VFMADD231PS  Z13, Z14, Z9
	VFMADD231PS  Z12, Z15, Z10
	VFMADD231PS  Z13, Z15, Z11
	ADDQ         R10, SI
	ADDQ         R10, R12
	ADDQ         R10, R13
	ADDQ         R11, BX
	DECQ         CX
	JMP          mm6x32loop

mm6x32store:
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z2, (DI)
	VMOVUPS Z3, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z4, (DI)
	VMOVUPS Z5, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z6, (DI)
	VMOVUPS Z7, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z8, (DI)
	VMOVUPS Z9, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z10, (DI)
	VMOVUPS Z11, 64(DI)
	VZEROUPPER
	RET

// func mvs4AVX512(c []float32, ldc int, a, b []float32, m int)
// mvs4AVX2 with the even and odd 8-column accumulators of a row as the two
// halves of one 512-bit register: lanes 0-7 sum what Y0 to Y3 sum there,
// lanes 8-15 what Y4 to Y7 sum, and the reduction adds them as it does.
// Rows of A go two at a time (Z0-Z3 and Z4-Z7), so that each load of b
// serves two FMAs; an odd last row goes alone.
TEXT ·mvs4AVX512(SB), NOSPLIT, $0-88
	MOVQ  c_base+0(FP), DI
	MOVQ  ldc+24(FP), R15
	SHLQ  $2, R15
	MOVQ  a_base+32(FP), BX
	MOVQ  b_base+56(FP), R10
	MOVQ  b_len+64(FP), R8
	MOVQ  m+80(FP), CX
	LEAQ  (R10)(R8*1), R11
	LEAQ  (R11)(R8*1), R12
	LEAQ  (R12)(R8*1), R13
	MOVQ  $0xff, AX
	KMOVW AX, K1           // the low 8 lanes
	LEAQ  (BX)(R8*1), DX   // the second row of A of a pair

mvs4zpair:
	CMPQ   CX, $2
	JL     mvs4zrow
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	XORQ   AX, AX

mvs4zpcol16:
	MOVQ        R8, R14
	SUBQ        AX, R14
	CMPQ        R14, $64
	JL          mvs4zpcol8
	VMOVUPS     (BX)(AX*1), Z8
	VMOVUPS     (DX)(AX*1), Z9
	VMOVUPS     (R10)(AX*1), Z10
	VFMADD231PS Z10, Z8, Z0
	VFMADD231PS Z10, Z9, Z4
	VMOVUPS     (R11)(AX*1), Z11
	VFMADD231PS Z11, Z8, Z1
	VFMADD231PS Z11, Z9, Z5
	VMOVUPS     (R12)(AX*1), Z10
	VFMADD231PS Z10, Z8, Z2
	VFMADD231PS Z10, Z9, Z6
	VMOVUPS     (R13)(AX*1), Z11
	VFMADD231PS Z11, Z8, Z3
	VFMADD231PS Z11, Z9, Z7
	ADDQ        $64, AX
	JMP         mvs4zpcol16

mvs4zpcol8:
	CMPQ        R14, $32
	JL          mvs4zpreduce
	VMOVUPS.Z   (BX)(AX*1), K1, Z8
	VMOVUPS.Z   (DX)(AX*1), K1, Z9
	VMOVUPS.Z   (R10)(AX*1), K1, Z10
	VFMADD231PS Z10, Z8, K1, Z0
	VFMADD231PS Z10, Z9, K1, Z4
	VMOVUPS.Z   (R11)(AX*1), K1, Z11
	VFMADD231PS Z11, Z8, K1, Z1
	VFMADD231PS Z11, Z9, K1, Z5
	VMOVUPS.Z   (R12)(AX*1), K1, Z10
	VFMADD231PS Z10, Z8, K1, Z2
	VFMADD231PS Z10, Z9, K1, Z6
	VMOVUPS.Z   (R13)(AX*1), K1, Z11
	VFMADD231PS Z11, Z8, K1, Z3
	VFMADD231PS Z11, Z9, K1, Z7

mvs4zpreduce:
	VEXTRACTF64X4 $1, Z0, Y8
	VEXTRACTF64X4 $1, Z1, Y9
	VEXTRACTF64X4 $1, Z2, Y10
	VEXTRACTF64X4 $1, Z3, Y11
	VEXTRACTF64X4 $1, Z4, Y12
	VEXTRACTF64X4 $1, Z5, Y13
	VEXTRACTF64X4 $1, Z6, Y14
	VEXTRACTF64X4 $1, Z7, Y15
	VADDPS        Y8, Y0, Y0
	VADDPS        Y9, Y1, Y1
	VADDPS        Y10, Y2, Y2
	VADDPS        Y11, Y3, Y3
	VADDPS        Y12, Y4, Y4
	VADDPS        Y13, Y5, Y5
	VADDPS        Y14, Y6, Y6
	VADDPS        Y15, Y7, Y7
	VHADDPS       Y1, Y0, Y0
	VHADDPS       Y3, Y2, Y2
	VHADDPS       Y5, Y4, Y4
	VHADDPS       Y7, Y6, Y6
	VHADDPS       Y2, Y0, Y0
	VHADDPS       Y6, Y4, Y4
	VEXTRACTF128  $1, Y0, X1
	VEXTRACTF128  $1, Y4, X5
	VADDPS        X1, X0, X0
	VADDPS        X5, X4, X4
	VMOVUPS       X0, (DI)
	ADDQ          R15, DI
	VMOVUPS       X4, (DI)
	ADDQ          R15, DI
	LEAQ          (BX)(R8*2), BX
	LEAQ          (DX)(R8*2), DX
	SUBQ          $2, CX
	JMP           mvs4zpair

mvs4zrow:
	TESTQ  CX, CX
	JE     mvs4zdone
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	XORQ   AX, AX

mvs4zcol16:
	MOVQ        R8, R14
	SUBQ        AX, R14
	CMPQ        R14, $64
	JL          mvs4zcol8
	VMOVUPS     (BX)(AX*1), Z8
	VFMADD231PS (R10)(AX*1), Z8, Z0
	VFMADD231PS (R11)(AX*1), Z8, Z1
	VFMADD231PS (R12)(AX*1), Z8, Z2
	VFMADD231PS (R13)(AX*1), Z8, Z3
	ADDQ        $64, AX
	JMP         mvs4zcol16

mvs4zcol8:
	CMPQ        R14, $32
	JL          mvs4zreduce
	VMOVUPS.Z   (BX)(AX*1), K1, Z8
	VMOVUPS.Z   (R10)(AX*1), K1, Z9
	VFMADD231PS Z9, Z8, K1, Z0
	VMOVUPS.Z   (R11)(AX*1), K1, Z9
	VFMADD231PS Z9, Z8, K1, Z1
	VMOVUPS.Z   (R12)(AX*1), K1, Z9
	VFMADD231PS Z9, Z8, K1, Z2
	VMOVUPS.Z   (R13)(AX*1), K1, Z9
	VFMADD231PS Z9, Z8, K1, Z3

mvs4zreduce:
	VEXTRACTF64X4 $1, Z0, Y4
	VEXTRACTF64X4 $1, Z1, Y5
	VEXTRACTF64X4 $1, Z2, Y6
	VEXTRACTF64X4 $1, Z3, Y7
	VADDPS        Y4, Y0, Y0
	VADDPS        Y5, Y1, Y1
	VADDPS        Y6, Y2, Y2
	VADDPS        Y7, Y3, Y3
	VHADDPS       Y1, Y0, Y0
	VHADDPS       Y3, Y2, Y2
	VHADDPS       Y2, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VMOVUPS       X0, (DI)

mvs4zdone:
	VZEROUPPER
	RET
