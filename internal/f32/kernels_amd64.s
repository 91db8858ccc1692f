//go:build amd64 && !purego

#include "textflag.h"

// AVX2 + FMA kernels. Each is called only when the CPU has both (see
// kernels_amd64.go) and processes whole slices; results are rounded in a
// fixed order, so they are the same on every call with the same inputs.

// func dotAVX2(x, y []float32) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-52
	MOVQ   x_base+0(FP), SI
	MOVQ   y_base+24(FP), DI
	MOVQ   x_len+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32:
	CMPQ        CX, $32
	JL          dot8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dot32

dot8:
	CMPQ        CX, $8
	JL          dotreduce
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dot8

dotreduce:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0

dottail:
	TESTQ       CX, CX
	JE          dotdone
	VMOVSS      (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         dottail

dotdone:
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// func axpyAVX2(dst []float32, a float32, x []float32)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-56
	MOVQ         dst_base+0(FP), DI
	MOVQ         dst_len+8(FP), CX
	MOVQ         x_base+32(FP), SI
	VBROADCASTSS a+24(FP), Y0

axpy32:
	CMPQ        CX, $32
	JL          axpy8
	VMOVUPS     (DI), Y1
	VMOVUPS     32(DI), Y2
	VMOVUPS     64(DI), Y3
	VMOVUPS     96(DI), Y4
	VFMADD231PS (SI), Y0, Y1
	VFMADD231PS 32(SI), Y0, Y2
	VFMADD231PS 64(SI), Y0, Y3
	VFMADD231PS 96(SI), Y0, Y4
	VMOVUPS     Y1, (DI)
	VMOVUPS     Y2, 32(DI)
	VMOVUPS     Y3, 64(DI)
	VMOVUPS     Y4, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         axpy32

axpy8:
	CMPQ        CX, $8
	JL          axpytail
	VMOVUPS     (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         axpy8

axpytail:
	TESTQ       CX, CX
	JE          axpydone
	VMOVSS      (DI), X1
	VFMADD231SS (SI), X0, X1
	VMOVSS      X1, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         axpytail

axpydone:
	VZEROUPPER
	RET

// func addAVX2(dst, x []float32)
TEXT ·addAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ x_base+24(FP), SI

add32:
	CMPQ    CX, $32
	JL      add8
	VMOVUPS (DI), Y1
	VMOVUPS 32(DI), Y2
	VMOVUPS 64(DI), Y3
	VMOVUPS 96(DI), Y4
	VADDPS  (SI), Y1, Y1
	VADDPS  32(SI), Y2, Y2
	VADDPS  64(SI), Y3, Y3
	VADDPS  96(SI), Y4, Y4
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	VMOVUPS Y3, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	JMP     add32

add8:
	CMPQ    CX, $8
	JL      addtail
	VMOVUPS (DI), Y1
	VADDPS  (SI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     add8

addtail:
	TESTQ  CX, CX
	JE     adddone
	VMOVSS (DI), X1
	VADDSS (SI), X1, X1
	VMOVSS X1, (DI)
	ADDQ   $4, SI
	ADDQ   $4, DI
	DECQ   CX
	JMP    addtail

adddone:
	VZEROUPPER
	RET

// func matTVecAVX2(dst, w, x []float32)
// dst = W^T x for W of len(x) rows and len(dst) columns; len(dst) is a
// multiple of 8. Columns go in blocks of 64 (eight accumulators held in
// registers over all rows), then in blocks of 8.
TEXT ·matTVecAVX2(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), DX
	MOVQ w_base+24(FP), SI
	MOVQ x_base+48(FP), BX
	MOVQ x_len+56(FP), CX
	MOVQ DX, R8
	SHLQ $2, R8            // row stride in bytes
	XORQ R9, R9            // column offset in bytes

mtv64:
	MOVQ   R8, AX
	SUBQ   R9, AX          // bytes of columns left
	CMPQ   AX, $256
	JL     mtv8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	LEAQ   (SI)(R9*1), R10
	MOVQ   BX, R11
	MOVQ   CX, R12

mtv64row:
	TESTQ        R12, R12
	JE           mtv64store
	VBROADCASTSS (R11), Y8
	VFMADD231PS  (R10), Y8, Y0
	VFMADD231PS  32(R10), Y8, Y1
	VFMADD231PS  64(R10), Y8, Y2
	VFMADD231PS  96(R10), Y8, Y3
	VFMADD231PS  128(R10), Y8, Y4
	VFMADD231PS  160(R10), Y8, Y5
	VFMADD231PS  192(R10), Y8, Y6
	VFMADD231PS  224(R10), Y8, Y7
	ADDQ         R8, R10
	ADDQ         $4, R11
	DECQ         R12
	JMP          mtv64row

mtv64store:
	VMOVUPS Y0, (DI)(R9*1)
	VMOVUPS Y1, 32(DI)(R9*1)
	VMOVUPS Y2, 64(DI)(R9*1)
	VMOVUPS Y3, 96(DI)(R9*1)
	VMOVUPS Y4, 128(DI)(R9*1)
	VMOVUPS Y5, 160(DI)(R9*1)
	VMOVUPS Y6, 192(DI)(R9*1)
	VMOVUPS Y7, 224(DI)(R9*1)
	ADDQ    $256, R9
	JMP     mtv64

mtv8:
	CMPQ   AX, $32
	JL     mtvdone
	VXORPS Y0, Y0, Y0
	LEAQ   (SI)(R9*1), R10
	MOVQ   BX, R11
	MOVQ   CX, R12

mtv8row:
	TESTQ        R12, R12
	JE           mtv8store
	VBROADCASTSS (R11), Y8
	VFMADD231PS  (R10), Y8, Y0
	ADDQ         R8, R10
	ADDQ         $4, R11
	DECQ         R12
	JMP          mtv8row

mtv8store:
	VMOVUPS Y0, (DI)(R9*1)
	ADDQ    $32, R9
	MOVQ    R8, AX
	SUBQ    R9, AX
	JMP     mtv8

mtvdone:
	VZEROUPPER
	RET

// func matVecAVX2(dst, w, x []float32)
// dst = W x for W of len(dst) rows and len(x) columns; len(x) is a multiple
// of 8. Rows go four at a time, each with two accumulators (even and odd
// blocks of 8 columns), then one at a time.
TEXT ·matVecAVX2(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ w_base+24(FP), SI
	MOVQ x_base+48(FP), BX
	MOVQ x_len+56(FP), DX
	MOVQ DX, R8
	SHLQ $2, R8            // row stride in bytes

mv4:
	CMPQ   CX, $4
	JL     mv1
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ   SI, R10         // row r
	LEAQ   (SI)(R8*1), R11 // row r+1
	LEAQ   (R11)(R8*1), R12 // row r+2
	LEAQ   (R12)(R8*1), R13 // row r+3
	XORQ   AX, AX          // column offset in bytes

mv4col16:
	MOVQ        R8, R14
	SUBQ        AX, R14
	CMPQ        R14, $64
	JL          mv4col8
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
	JMP         mv4col16

mv4col8:
	CMPQ        R14, $32
	JL          mv4reduce
	VMOVUPS     (BX)(AX*1), Y8
	VFMADD231PS (R10)(AX*1), Y8, Y0
	VFMADD231PS (R11)(AX*1), Y8, Y1
	VFMADD231PS (R12)(AX*1), Y8, Y2
	VFMADD231PS (R13)(AX*1), Y8, Y3

mv4reduce:
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
	ADDQ         $16, DI
	LEAQ         (R13)(R8*1), SI
	SUBQ         $4, CX
	JMP          mv4

mv1:
	TESTQ  CX, CX
	JE     mvdone
	VXORPS Y0, Y0, Y0
	XORQ   AX, AX

mv1col:
	CMPQ        AX, R8
	JGE         mv1reduce
	VMOVUPS     (BX)(AX*1), Y8
	VFMADD231PS (SI)(AX*1), Y8, Y0
	ADDQ        $32, AX
	JMP         mv1col

mv1reduce:
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, (DI)
	ADDQ         $4, DI
	ADDQ         R8, SI
	DECQ         CX
	JMP          mv1

mvdone:
	VZEROUPPER
	RET

// func adamAVX2(p, m, v, g []float32, c *[8]float32)
// One Adam step over len(p) elements, a multiple of 8. c holds lr, beta1,
// beta2, eps, weight decay, 1-beta1, 1-beta2.
TEXT ·adamAVX2(SB), NOSPLIT, $0-104
	MOVQ         p_base+0(FP), DI
	MOVQ         p_len+8(FP), CX
	MOVQ         m_base+24(FP), R8
	MOVQ         v_base+48(FP), R9
	MOVQ         g_base+72(FP), SI
	MOVQ         c+96(FP), AX
	VBROADCASTSS 0(AX), Y10  // lr
	VBROADCASTSS 4(AX), Y11  // beta1
	VBROADCASTSS 8(AX), Y12  // beta2
	VBROADCASTSS 12(AX), Y13 // eps
	VBROADCASTSS 16(AX), Y14 // weight decay
	VBROADCASTSS 20(AX), Y15 // 1-beta1
	VBROADCASTSS 24(AX), Y9  // 1-beta2

adam8:
	CMPQ         CX, $8
	JL           adamdone
	VMOVUPS      (DI), Y0            // p
	VMOVUPS      (SI), Y1            // g
	VFMADD231PS  Y14, Y0, Y1         // g += wd*p
	VMULPS       (R8), Y11, Y2       // m*beta1
	VFMADD231PS  Y15, Y1, Y2         // + (1-beta1)*g
	VMULPS       Y1, Y9, Y3          // (1-beta2)*g
	VMULPS       Y1, Y3, Y3          // * g
	VFMADD231PS  (R9), Y12, Y3       // + beta2*v
	VMOVUPS      Y2, (R8)
	VMOVUPS      Y3, (R9)
	VSQRTPS      Y3, Y4
	VADDPS       Y13, Y4, Y4         // sqrt(v)+eps
	VMULPS       Y10, Y2, Y2         // lr*m
	VDIVPS       Y4, Y2, Y2          // lr*m/(sqrt(v)+eps)
	VSUBPS       Y2, Y0, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, DI
	ADDQ         $32, SI
	ADDQ         $32, R8
	ADDQ         $32, R9
	SUBQ         $8, CX
	JMP          adam8

adamdone:
	VZEROUPPER
	RET

// func prefetchAsm(x []float32)
TEXT ·prefetchAsm(SB), NOSPLIT, $0-24
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	LEAQ (SI)(CX*4), CX

pfloop:
	CMPQ       SI, CX
	JGE        pfdone
	PREFETCHT0 (SI)
	ADDQ       $64, SI
	JMP        pfloop

pfdone:
	RET
