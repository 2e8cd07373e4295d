/* Multi-head attention over a packed q|k|v tensor (gossamer::PackedAttention), one head at a time
 * in cache: per (batch, head), S = q k^T (gemm.h's packed GEMM, q and k packed from their strided
 * columns of qkv: no Split, no Transpose copies), the scale, the mask and the softmax in one pass
 * over each row of S (normalize.h's softmax_scaled_row), then y's head columns = P v. Heads run
 * on the pool's threads (one head per unit); each thread's buffers are its own. */
#ifndef GK_ATTENTION_H
#define GK_ATTENTION_H

/* qkv: [batch, s, 3 e] (e = heads * d; q, k, v blocks of e columns, head h at h d); mask: NULL or
 * rows of s floats added to every score row of a batch (row b at mask + b * mask_bs; mask_bs 0
 * broadcasts one row); y: [batch, s, e]. Returns 0, or -1 where a buffer could not be had (y
 * then holds garbage). */
int gk_attention(long batch, long s, long heads, long d, const float *qkv, const float *mask,
                 long mask_bs, float scale, float *y, int threads);

#endif
