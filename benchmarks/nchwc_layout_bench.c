/* Layout micro-benchmark for the blocked channel layout (issue 16): depthwise 3x3 and 1x1 conv on
 * MobileNetV2's shapes, NCHW (today's kernels: gk_depthwise; pack_b + packed GEMM) against NCHW8c
 * and NHWC computed by the same strided kernels (src/nchwc.h: the NHWC strides take the kernels'
 * generic-stride path, so the NHWC column measures the layout, not a tuned NHWC kernel). The
 * weights are not packed for the kernels: the outputs are meaningless, only the times count.
 * Results and the layout chosen: benchmarks/results/nchwc_layout.md. Not built by setup.py:
 *
 *   cd cython_kernels/src && gcc -O3 -pthread -fno-math-errno -fno-trapping-math -I. \
 *       -o /tmp/nchwc_bench ../../benchmarks/nchwc_layout_bench.c \
 *       $(ls *.c | grep -v _check) levels/*.c -lm && /tmp/nchwc_bench 1 1   # level, threads
 */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>
#include "dispatch.h"
#include "gemm.h"
#include "conv.h"
#include "nchwc.h"
#include "threadpool.h"
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static float *rnd(long n){float *p=aligned_alloc(64,((n*4+63)/64)*64+64);for(long i=0;i<n;i++)p[i]=(float)rand()/RAND_MAX-0.5f;return p;}
#define REP(expr) ({ for(int w_=0;w_<3;w_++){expr;} double best=1e9; for(int r=0;r<7;r++){double t0=now(); for(int k=0;k<5;k++){expr;} double t=(now()-t0)/5; if(t<best)best=t;} best*1e6; })
static int TH=1;
static void dw(long c,long h,long s){
  long oh=(h+2-3)/s+1, ow=oh;
  float *x=rnd(c*h*h),*wt=rnd(c*9),*b=rnd(c),*y=rnd(c*oh*ow);
  double t1=REP(gk_depthwise(x,1,c,h,h,wt,3,3,s,s,1,1,1,1,oh,ow,b,0,6,1,y,TH));
  double t2=REP(gk_nchwc_depthwise(x,1,c,h,h,wt,3,3,s,s,1,1,1,1,oh,ow,b,NULL,0,6,NULL,y,TH));
  gk_nchwc_conv_args a={x,c,h,h,{8,c*h*h,8,h*c,c},wt,c,3,3,s,s,1,1,1,1,oh,ow,b,NULL,0,6,y,{8,c*oh*ow,8,ow*c,c}};
  double t3=REP(gk_nchwc_depthwise_strided(&a,1,TH));
  printf("dw3x3 s%ld c=%4ld %3ldx%-3ld  NCHW %7.1f  NCHW8c %7.1f  NHWC %7.1f us\n",s,c,h,h,t1,t2,t3);
}
static void pw(long c,long m,long h){
  long hw=h*h;
  float *x=rnd(c*hw),*w=rnd(m*c),*b=rnd(m),*y=rnd(m*hw);
  float *ap=aligned_alloc(64,gk_packed_a_size(m,c)*4+64); gk_pack_a(m,c,w,c,1,ap,1);
  float *bp=aligned_alloc(64,gk_packed_b_size(c,hw)*4+64);
  gk_epilogue ep={b,NULL,0,6,1};
  double t1=REP((gk_pack_b(c,hw,x,hw,1,bp,TH),gk_gemm_packed(m,hw,c,ap,bp,y,hw,&ep,TH)));
  double t2=REP(gk_nchwc_conv(x,1,c,h,h,1,w,m,1,1,1,1,1,1,0,0,h,h,b,NULL,0,6,NULL,y,TH));
  gk_nchwc_conv_args a={x,c,h,h,{8,c*hw,8,h*c,c},w,m,1,1,1,1,1,1,0,0,h,h,b,NULL,0,6,y,{8,m*hw,8,h*m,m}};
  double t3=REP(gk_nchwc_conv_strided(&a,1,TH));
  double fl=2.0*c*m*hw;
  printf("1x1 %4ld->%-4ld %3ldx%-3ld  NCHW %7.1f  NCHW8c %7.1f  NHWC %7.1f us  (NCHW8c %.1f GFLOP/s)\n",c,m,h,h,t1,t2,t3,fl/t2*1e-3);
}
int main(int argc,char**argv){
  gk_set_simd_level(argc>1?atoi(argv[1]):1); TH=argc>2?atoi(argv[2]):1; gk_pool_start(TH);
  printf("level %d threads %d\n",gk_simd_level(),TH);
  dw(32,112,1); dw(96,112,2); dw(144,56,1); dw(144,56,2); dw(192,28,1); dw(384,14,1); dw(576,14,1); dw(576,14,2); dw(960,7,1);
  pw(16,96,112); pw(24,144,56); pw(144,24,56); pw(32,192,28); pw(192,32,28); pw(64,384,14); pw(384,64,14); pw(96,576,14); pw(576,96,14); pw(160,960,7); pw(960,160,7); pw(320,1280,7);
}
