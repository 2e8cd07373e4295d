/* The blocked (NCHW8c) k x k conv on ResNet-18's, SqueezeNet 1.1's, YOLOv8n's and a few odd
 * shapes (Session 19, issue 16): the level-2 kernels of this build's library ("old") against the
 * working copy's nchwc_kernels.inc compiled here at level 2 ("new", suffix _bx), interleaved call
 * by call, fastest of REPS; "same" when both give the same bits (with a residual). Weights are not
 * packed: the outputs only compare the two. COLD=1 streams 64 MB between calls (cold caches);
 * WOFF=4 starts the weights 16 bytes past a 64-byte boundary (numpy's alignment); BOTHNEW=1 runs
 * the working copy's kernels on both sides (noise floor); KTAPS=k sets gk_nchwc_ktaps on the "new"
 * side (input channel x tap pairs per pass; 0: all in one); EVEN=0|1 and XPF=k set the "new" side's
 * gk_nchwc_pw_even and gk_nchwc_pw_xpf (the pointwise tiles; nchwc.h). Not built by setup.py:
 *
 *   mkdir -p /tmp/ncb/obj && cd cython_kernels/src && F="-O3 -pthread -fno-math-errno \
 *     -fno-trapping-math -I." && for f in $(ls *.c | grep -v _check | grep -v '^nchwc.c$') \
 *     levels/*.c; do gcc $F -c $f -o /tmp/ncb/obj/$(echo $f | tr / _).o; done && \
 *     ar rcs /tmp/ncb/libgk.a /tmp/ncb/obj/*.o    # once (the old kernels: the tree as built)
 *   printf '#include "isa.h"\n#pragma GCC target("avx512f,avx2,fma,prefer-vector-width=512")\n#include <stdlib.h>\n#include <string.h>\n#define GK_LEVEL 2\n#define GK_SFX(name) name##_bx\n#include "dispatch.h"\n#include "maths.h"\n#include "vec.h"\n#include "nchwc_kernels.inc"\n' > /tmp/ncb/lvl.c
 *   gcc $F -c /tmp/ncb/lvl.c -o /tmp/ncb/lvl.o && gcc $F -c nchwc.c -o /tmp/ncb/nchwc.o && \
 *     gcc $F -o /tmp/ncb/bench ../../benchmarks/nchwc_kxk_bench.c /tmp/ncb/nchwc.o \
 *     /tmp/ncb/lvl.o /tmp/ncb/libgk.a -lm && /tmp/ncb/bench 1 15 [name filter]   # threads, reps
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <immintrin.h>
#include "dispatch.h"
#include "nchwc.h"
#include "threadpool.h"
extern const gk_nchwc_kernels gk_nchwc_kernels_bx;
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static float *rnd(long n){float *p=aligned_alloc(64,((n*4+63)/64)*64+64);for(long i=0;i<n;i++)p[i]=(float)rand()/RAND_MAX-0.5f;return p;}
static int TH=1, REPS=15; static long WOFF=0;
__attribute__((target("avx512f,fma"))) static double peak(void){
  __m512 a[24]; for(int i=0;i<24;i++) a[i]=_mm512_set1_ps(i*0.001f);
  __m512 w=_mm512_set1_ps(0.9999f), x=_mm512_set1_ps(0.0001f);
  long n=20000000; double t0=now();
  for(long k=0;k<n;k++){
#pragma GCC unroll 24
    for(int i=0;i<24;i++) a[i]=_mm512_fmadd_ps(a[i],w,x);
    __asm__("":"+v"(w));
  }
  double t=now()-t0; float s=0; for(int i=0;i<24;i++) s+=_mm512_reduce_add_ps(a[i]);
  if(s==12345) printf("x");
  return n*24.0*32/t*1e-9;
}
static double PEAK;
static const gk_nchwc_kernels *KT[2];
static long KTAPS[2] = {128, 128}; /* KTAPS=k: the "new" side's gk_nchwc_ktaps */
static long EVEN = 1, XPF = 0; /* EVEN=0|1, XPF=k: the "new" side's gk_nchwc_pw_even, _pw_xpf */
static char *FLUSH; static long FLUSH_N;
static void flush(void){ if(FLUSH){ for(long i=0;i<FLUSH_N;i+=64) FLUSH[i]++; } }
static void conv(const char*name,long c,long m,long h,long k,long s){
  long p=k/2, oh=(h+2*p-k)/s+1;
  float *x=rnd(c*h*h),*w0=rnd(m*c*k*k+16),*b=rnd(m),*y=rnd(m*oh*oh);
  float *w=w0+WOFF;
  double best[2]={1e9,1e9};
  for(int r=0;r<REPS+2;r++) for(int v=0;v<2;v++){
    gk_k.nchwc=KT[v]; gk_nchwc_ktaps=KTAPS[v]; gk_nchwc_pw_even=v?EVEN:0; gk_nchwc_pw_xpf=v?XPF:0; flush();
    double t0=now(); gk_nchwc_conv(x,1,c,h,h,1,w,m,k,k,s,s,1,1,p,p,oh,oh,b,NULL,0,INFINITY,NULL,y,TH); double t=now()-t0;
    if(r>=2 && t<best[v])best[v]=t;}
  float *y2=rnd(m*oh*oh), *z=rnd(m*oh*oh);
  for(int v=0;v<2;v++){gk_k.nchwc=KT[v]; gk_nchwc_conv(x,1,c,h,h,1,w,m,k,k,s,s,1,1,p,p,oh,oh,b,z,0,INFINITY,NULL,v?y2:y,TH);}
  int same=!memcmp(y,y2,sizeof(float)*m*oh*oh); free(y2); free(z);
  double fl=2.0*c*m*k*k*oh*oh;
  printf("%s ", same?"same":"DIFF");
  printf("%-14s %4ld->%-4ld %ldx%ld s%ld %3ldx%-3ld  old %8.1f us %6.1f GF/s  new %8.1f us %6.1f GF/s  old/new %.2f\n",name,c,m,k,k,s,h,h,best[0]*1e6,fl/best[0]*1e-9,best[1]*1e6,fl/best[1]*1e-9,best[0]/best[1]);
  free(x);free(w0);free(b);free(y);
}
int main(int argc,char**argv){
  gk_set_simd_level(2); TH=argc>1?atoi(argv[1]):1; gk_pool_start(TH);
  KT[0]=getenv("BOTHNEW")?&gk_nchwc_kernels_bx:gk_k.nchwc; KT[1]=&gk_nchwc_kernels_bx; if(argc>2) REPS=atoi(argv[2]); if(getenv("WOFF")) WOFF=atol(getenv("WOFF")); if(getenv("KTAPS")) KTAPS[1]=atol(getenv("KTAPS")); if(getenv("EVEN")) EVEN=atol(getenv("EVEN")); if(getenv("XPF")) XPF=atol(getenv("XPF"));
  if(getenv("COLD")){FLUSH_N=64L<<20; FLUSH=malloc(FLUSH_N); memset(FLUSH,1,FLUSH_N);}
  const char *only = argc>3 ? argv[3] : "";
  PEAK=peak();
  printf("threads %d, one core's FMA peak %.1f GFLOP/s\n",TH,PEAK);
#define L(n,c,m,h,k,s) if(!*only||strstr(n,only)) conv(n,c,m,h,k,s)
  L("r18 3x3",64,64,56,3,1); L("r18 3x3",128,128,28,3,1); L("r18 3x3",256,256,14,3,1); L("r18 3x3",512,512,7,3,1);
  L("r18 3x3 s2",64,128,56,3,2); L("r18 3x3 s2",128,256,28,3,2);
  L("r18 1x1 s2",64,128,56,1,2);
  L("sq expand3",16,64,55,3,1); L("sq expand3",32,128,27,3,1); L("sq expand3",48,192,13,3,1); L("sq expand3",64,256,13,3,1);
  L("sq expand1",16,64,55,1,1); L("sq expand1",32,128,27,1,1);L("sq expand1",64,256,13,1,1);
  L("sq squeeze",64,16,55,1,1); L("sq squeeze",128,32,27,1,1); L("sq squeeze",384,64,13,1,1); L("sq final",512,1000,13,1,1);
  L("yolo 3x3",16,16,80,3,1); L("yolo 3x3",32,32,40,3,1); L("yolo 3x3",64,64,20,3,1); L("yolo 3x3",128,128,10,3,1); L("yolo 3x3 s2",64,128,40,3,2); L("yolo 3x3 s2",128,256,20,3,2);
  L("odd 3x3 s2",40,48,13,3,2); L("odd 3x3 s2",24,16,15,3,2); L("odd 3x3",8,24,6,3,1); L("odd 3x3",16,40,11,3,1);
  L("mnv2 1x1 28",32,192,28,1,1); L("mnv2 1x1 28",192,32,28,1,1);
  L("mnv2 1x1 14",192,64,14,1,1); L("mnv2 1x1 14",64,384,14,1,1); L("mnv2 1x1 14",384,64,14,1,1); L("mnv2 1x1 14",384,96,14,1,1); L("mnv2 1x1 14",96,576,14,1,1); L("mnv2 1x1 14",576,96,14,1,1);
  L("mnv2 1x1 7",576,160,7,1,1); L("mnv2 1x1 7",160,960,7,1,1); L("mnv2 1x1 7",960,160,7,1,1); L("mnv2 1x1 7",960,320,7,1,1); L("mnv2 1x1 7",320,1280,7,1,1);
  L("r50 1x1",64,256,56,1,1); L("r50 1x1",256,64,56,1,1); L("r50 3x3",64,64,56,3,1);
  return 0;
}
