//go:build amd64 && !purego

#include "textflag.h"

// Matrix-matrix kernels (see matmul.go). Each output element is rounded
// exactly as the matrix-vector kernel of kernels_amd64.s that it batches
// rounds it: the blocks below change which products share a pass over
// memory, never the order in which an element's products are summed.

// The mmRxC kernels compute an R x C block of dst = A B: for every element,
// the FMA of its k products in order of p, from zero (as matTVecAVX2).
// c is the block's first element, ldc the row stride of dst; A's element
// (i, p) lies at a[i*ai + p*ap]; b is B's first column of the block, ldb
// its row stride. All strides count floats.

// func mm6x16AVX2(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int)
TEXT ·mm6x16AVX2(SB), NOSPLIT, $0-112
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
	LEAQ   (SI)(R9*2), R12 // row 2 of A
	LEAQ   (R12)(R9*2), R13 // row 4 of A
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

mm6x16loop:
	TESTQ        CX, CX
	JE           mm6x16store
	VMOVUPS      (BX), Y12
	VMOVUPS      32(BX), Y13
	VBROADCASTSS (SI), Y14
	VBROADCASTSS (SI)(R9*1), Y15
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y14, Y1
	VFMADD231PS  Y12, Y15, Y2
	VFMADD231PS  Y13, Y15, Y3
	VBROADCASTSS (R12), Y14
	VBROADCASTSS (R12)(R9*1), Y15
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y14, Y5
	VFMADD231PS  Y12, Y15, Y6
	VFMADD231PS  Y13, Y15, Y7
	VBROADCASTSS (R13), Y14
	VBROADCASTSS (R13)(R9*1), Y15
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y13, Y14, Y9
	VFMADD231PS  Y12, Y15, Y10
	VFMADD231PS  Y13, Y15, Y11
	ADDQ         R10, SI
	ADDQ         R10, R12
	ADDQ         R10, R13
	ADDQ         R11, BX
	DECQ         CX
	JMP          mm6x16loop

mm6x16store:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    R8, DI
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	ADDQ    R8, DI
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	ADDQ    R8, DI
	VMOVUPS Y6, (DI)
	VMOVUPS Y7, 32(DI)
	ADDQ    R8, DI
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 32(DI)
	ADDQ    R8, DI
	VMOVUPS Y10, (DI)
	VMOVUPS Y11, 32(DI)
	VZEROUPPER
	RET

// func mm6x8AVX2(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int)
TEXT ·mm6x8AVX2(SB), NOSPLIT, $0-112
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
	VXORPS Y0, Y0, Y0
	VXORPS Y2, Y2, Y2
	VXORPS Y4, Y4, Y4
	VXORPS Y6, Y6, Y6
	VXORPS Y8, Y8, Y8
	VXORPS Y10, Y10, Y10

mm6x8loop:
	TESTQ        CX, CX
	JE           mm6x8store
	VMOVUPS      (BX), Y12
	VBROADCASTSS (SI), Y14
	VBROADCASTSS (SI)(R9*1), Y15
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y12, Y15, Y2
	VBROADCASTSS (R12), Y14
	VBROADCASTSS (R12)(R9*1), Y15
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y12, Y15, Y6
	VBROADCASTSS (R13), Y14
	VBROADCASTSS (R13)(R9*1), Y15
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y12, Y15, Y10
	ADDQ         R10, SI
	ADDQ         R10, R12
	ADDQ         R10, R13
	ADDQ         R11, BX
	DECQ         CX
	JMP          mm6x8loop

mm6x8store:
	VMOVUPS Y0, (DI)
	ADDQ    R8, DI
	VMOVUPS Y2, (DI)
	ADDQ    R8, DI
	VMOVUPS Y4, (DI)
	ADDQ    R8, DI
	VMOVUPS Y6, (DI)
	ADDQ    R8, DI
	VMOVUPS Y8, (DI)
	ADDQ    R8, DI
	VMOVUPS Y10, (DI)
	VZEROUPPER
	RET

// func mm1x16AVX2(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int)
TEXT ·mm1x16AVX2(SB), NOSPLIT, $0-112
	MOVQ   c_base+0(FP), DI
	MOVQ   a_base+32(FP), SI
	MOVQ   ap+64(FP), R10
	SHLQ   $2, R10
	MOVQ   b_base+72(FP), BX
	MOVQ   ldb+96(FP), R11
	SHLQ   $2, R11
	MOVQ   k+104(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

mm1x16loop:
	TESTQ        CX, CX
	JE           mm1x16store
	VBROADCASTSS (SI), Y14
	VFMADD231PS  (BX), Y14, Y0
	VFMADD231PS  32(BX), Y14, Y1
	ADDQ         R10, SI
	ADDQ         R11, BX
	DECQ         CX
	JMP          mm1x16loop

mm1x16store:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VZEROUPPER
	RET

// func mm1x8AVX2(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int)
TEXT ·mm1x8AVX2(SB), NOSPLIT, $0-112
	MOVQ   c_base+0(FP), DI
	MOVQ   a_base+32(FP), SI
	MOVQ   ap+64(FP), R10
	SHLQ   $2, R10
	MOVQ   b_base+72(FP), BX
	MOVQ   ldb+96(FP), R11
	SHLQ   $2, R11
	MOVQ   k+104(FP), CX
	VXORPS Y0, Y0, Y0

mm1x8loop:
	TESTQ        CX, CX
	JE           mm1x8store
	VBROADCASTSS (SI), Y14
	VFMADD231PS  (BX), Y14, Y0
	ADDQ         R10, SI
	ADDQ         R11, BX
	DECQ         CX
	JMP          mm1x8loop

mm1x8store:
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func mvs4AVX2(c []float32, ldc int, a, b []float32, m int)
// For each of the m rows x of A (row stride len(b)/4), sets c[g*ldc :
// g*ldc+4] to the products of the four rows of b (each len(b)/4 long, a
// multiple of 8) with x, rounded as the four-row blocks of matVecAVX2 round
// them. b stays in the L1 cache while the rows of A pass.
TEXT ·mvs4AVX2(SB), NOSPLIT, $0-88
	MOVQ c_base+0(FP), DI
	MOVQ ldc+24(FP), R15
	SHLQ $2, R15
	MOVQ a_base+32(FP), BX
	MOVQ b_base+56(FP), R10
	MOVQ b_len+64(FP), R8  // 4 rows: len/4 floats = len bytes
	MOVQ m+80(FP), CX
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (R12)(R8*1), R13

mvs4row:
	TESTQ  CX, CX
	JE     mvs4done
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ   AX, AX

mvs4col16:
	MOVQ        R8, R14
	SUBQ        AX, R14
	CMPQ        R14, $64
	JL          mvs4col8
	VMOVUPS     (BX)(AX*1), Y8
	VMOVUPS     32(BX)(AX*1), Y9
	VFMADD231PS (R10)(AX*1), Y8, Y0
	VFMADD231PS (R11)(AX*1), Y8, Y1
	VFMADD231PS (R12)(AX*1), Y8, Y2
	VFMADD231PS (R13)(AX*1), Y8, Y3
	VFMADD231PS 32(R10)(AX*1), Y9, Y4
	VFMADD231PS 32(R11)(AX*1), Y9, Y5
	VFMADD231PS 32(R12)(AX*1), Y9, Y6
	VFMADD231PS 32(R13)(AX*1), Y9, Y7
	ADDQ        $64, AX
	JMP         mvs4col16

mvs4col8:
	CMPQ        R14, $32
	JL          mvs4reduce
	VMOVUPS     (BX)(AX*1), Y8
	VFMADD231PS (R10)(AX*1), Y8, Y0
	VFMADD231PS (R11)(AX*1), Y8, Y1
	VFMADD231PS (R12)(AX*1), Y8, Y2
	VFMADD231PS (R13)(AX*1), Y8, Y3

mvs4reduce:
	VADDPS       Y4, Y0, Y0
	VADDPS       Y5, Y1, Y1
	VADDPS       Y6, Y2, Y2
	VADDPS       Y7, Y3, Y3
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (DI)
	ADDQ         R15, DI
	ADDQ         R8, BX
	DECQ         CX
	JMP          mvs4row

mvs4done:
	VZEROUPPER
	RET
