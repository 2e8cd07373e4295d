// LSTM and GRU over a whole sequence in one launch: one work-group per direction (axis 1, so
// the directions of a bidirectional layer run in parallel) walks the T steps, each work-item
// updating hidden units lid, lid + L, ... of every batch row, with a barrier between steps (a
// step reads every unit's h of the step before). The state h lives in float, double-buffered by
// step parity (hbuf[2][B][H]); c (LSTM) in float (cbuf[B][H], each work-item reads back only its
// own units). xw[d] = X W_d^T for every step, precomputed by one GEMM. With sequence_lens, batch
// row b runs its first lens[b] steps (reversed: from lens[b] - 1 down), then holds its state and
// writes zeros, as the reference does. layout 1: X [B, T, I], Y [B, T, D, H], states [B, D, H];
// layout 0: X [T, B, I], Y [T, D, B, H], states [D, B, H].
inline float rnn_clip(float v, float clip, int has_clip) {
  return has_clip ? fmin(fmax(v, -clip), clip) : v;
}
inline float rnn_sigmoid(float x) {  // exp(-logaddexp(0, -x)), as the reference: no overflow
  return x >= 0.0f ? 1.0f / (1.0f + exp(-x)) : exp(x) / (1.0f + exp(x));
}
// four independent accumulators: one fma chain waited ~4 cycles a step (the recurrence runs on
// one work-group, one core, so its dot products' latency is the layer's time)
inline float dot_hf(__global const data_t* restrict row, __global const float* restrict v,
                    const int n) {
  float8 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
  int k = 0;
  for (; k + 32 <= n; k += 32) {
    a0 = fma(LD8(row + k, 0), vload8(0, v + k), a0);
    a1 = fma(LD8(row + k, 1), vload8(1, v + k), a1);
    a2 = fma(LD8(row + k, 2), vload8(2, v + k), a2);
    a3 = fma(LD8(row + k, 3), vload8(3, v + k), a3);
  }
  for (; k + 8 <= n; k += 8) a0 = fma(LD8(row + k, 0), vload8(0, v + k), a0);
  const float8 acc = (a0 + a1) + (a2 + a3);
  float s = (acc.s0 + acc.s1) + (acc.s2 + acc.s3) + ((acc.s4 + acc.s5) + (acc.s6 + acc.s7));
  for (; k < n; ++k) s = fma(LD(row, k), v[k], s);
  return s;
}

// the work-group's geometry and index helpers, shared by both kernels
#define RNN_SETUP(G)                                                                 \
  const int lid = get_local_id(0), L = get_local_size(0), d = get_global_id(1);      \
  const int reverse = direction == 2 ? d == 1 : direction == 1;                      \
  xw += (long)d * T * B * G * H;                                                     \
  R += (long)d * G * H * H;                                                          \
  __global const data_t* wb = bias + (long)d * 2 * G * H;                            \
  __global const data_t* rb = wb + G * H;                                            \
  hbuf += (long)d * 2 * B * H;
#define XW_ROW(t, b) (layout ? (long)(b) * T + (t) : (long)(t) * B + (b))
#define Y_AT(t, b) ((layout ? ((long)(b) * T + (t)) * D + d : ((long)(t) * D + d) * B + (b)) * H)
#define S_AT(b) ((layout ? (long)(b) * D + d : (long)d * B + (b)) * H)
// an LSTM kernel's start: RNN_SETUP, its peepholes and cell buffer, the initial h and c states
#define LSTM_SETUP                                            \
  RNN_SETUP(4)                                                \
  P += has_p ? d * 3 * H : 0;                                 \
  cbuf += (long)d * B * H;                                    \
  for (int u = lid; u < B * H; u += L) {                      \
    const int b = u / H, j = u % H;                           \
    hbuf[u] = has_h0 ? LD(h0, S_AT(b) + j) : 0.0f;            \
    cbuf[u] = has_c0 ? LD(c0, S_AT(b) + j) : 0.0f;            \
  }                                                           \
  barrier(CLK_GLOBAL_MEM_FENCE);
// step s of batch row b: the time index it reads and writes, and whether the row is still live
#define RNN_STEP(s, b, t, live)                                            \
  const int len = has_lens ? lens[b] : T;                                  \
  const int live = (s) < len;                                              \
  const int t = live && reverse ? len - 1 - (s) : (s);

__kernel void lstm_seq_f32(__global const data_t* restrict xw, __global const data_t* restrict R,
                           __global const data_t* restrict bias, __global const data_t* restrict P,
                           const int has_p, __global const data_t* restrict h0, const int has_h0,
                           __global const data_t* restrict c0, const int has_c0,
                           __global const int* restrict lens, const int has_lens,
                           __global data_t* restrict y, __global data_t* restrict yh,
                           __global data_t* restrict yc, __global float* restrict hbuf,
                           __global float* restrict cbuf, const int T, const int B, const int H,
                           const int D, const int direction, const int layout, const float clip,
                           const int has_clip, const int input_forget) {
  LSTM_SETUP
  for (int s = 0; s < T; ++s) {
    __global const float* hcur = hbuf + (s & 1) * B * H;
    __global float* hnext = hbuf + ((s + 1) & 1) * B * H;
    for (int u = lid; u < B * H; u += L) {
      const int b = u / H, j = u % H;
      RNN_STEP(s, b, t, live)
      if (!live) {
        hnext[u] = hcur[u];
        ST(0.0f, y, Y_AT(t, b) + j);
        continue;
      }
      const float c = cbuf[u];
      __global const data_t* xr = xw + XW_ROW(t, b) * 4 * H;
      float pre[4];
      for (int g = 0; g < 4; ++g) {
        const float r = dot_hf(R + (long)(g * H + j) * H, hcur + b * H, H);
        pre[g] = ((LD(xr, g * H + j) + LD(wb, g * H + j)) + r) + LD(rb, g * H + j);
      }
      const float pi = has_p ? LD(P, j) : 0.0f, po = has_p ? LD(P, H + j) : 0.0f;
      const float pf = has_p ? LD(P, 2 * H + j) : 0.0f;
      const float i = rnn_sigmoid(rnn_clip(pre[0] + pi * c, clip, has_clip));
      const float f =
          input_forget ? 1.0f - i : rnn_sigmoid(rnn_clip(pre[2] + pf * c, clip, has_clip));
      const float cn = f * c + i * tanh(rnn_clip(pre[3], clip, has_clip));
      const float o = rnn_sigmoid(rnn_clip(pre[1] + po * cn, clip, has_clip));
      const float h = o * tanh(cn);
      cbuf[u] = cn;
      hnext[u] = h;
      ST(h, y, Y_AT(t, b) + j);
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
  }
  __global const float* hlast = hbuf + (T & 1) * B * H;
  for (int u = lid; u < B * H; u += L) {
    const int b = u / H, j = u % H;
    ST(hlast[u], yh, S_AT(b) + j);
    ST(cbuf[u], yc, S_AT(b) + j);
  }
}

// GRU, gates z, r, h (ONNX order): z, r = sig(clip(((xw + Wb) + h R_zr^T) + Rb_zr));
// h~ = tanh(clip((xw_h + Wb_h) + recur)) with recur = (r . h) R_h^T + Rb_h, or
// r . (h R_h^T + Rb_h) with linear_before_reset; h' = (1 - z) h~ + z h. Two phases per step:
// (r . h) needs every unit's r (scratch rh and z, float).
__kernel void gru_seq_f32(__global const data_t* restrict xw, __global const data_t* restrict R,
                          __global const data_t* restrict bias,
                          __global const data_t* restrict h0, const int has_h0,
                          __global const int* restrict lens, const int has_lens,
                          __global data_t* restrict y, __global data_t* restrict yh,
                          __global float* restrict hbuf, __global float* restrict rh,
                          __global float* restrict zs, const int T, const int B, const int H,
                          const int D, const int direction, const int layout, const float clip,
                          const int has_clip, const int lbr) {
  RNN_SETUP(3)
  rh += (long)d * B * H;
  zs += (long)d * B * H;
  for (int u = lid; u < B * H; u += L) hbuf[u] = has_h0 ? LD(h0, S_AT(u / H) + u % H) : 0.0f;
  barrier(CLK_GLOBAL_MEM_FENCE);
  for (int s = 0; s < T; ++s) {
    __global const float* hcur = hbuf + (s & 1) * B * H;
    __global float* hnext = hbuf + ((s + 1) & 1) * B * H;
    for (int u = lid; u < B * H; u += L) {
      const int b = u / H, j = u % H;
      RNN_STEP(s, b, t, live)
      if (!live) continue;
      __global const data_t* xr = xw + XW_ROW(t, b) * 3 * H;
      const float dz = dot_hf(R + (long)j * H, hcur + b * H, H);
      const float dr = dot_hf(R + (long)(H + j) * H, hcur + b * H, H);
      const float z =
          rnn_sigmoid(rnn_clip(((LD(xr, j) + LD(wb, j)) + dz) + LD(rb, j), clip, has_clip));
      const float r = rnn_sigmoid(
          rnn_clip(((LD(xr, H + j) + LD(wb, H + j)) + dr) + LD(rb, H + j), clip, has_clip));
      zs[u] = z;
      rh[u] = lbr ? r : r * hcur[u];
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (int u = lid; u < B * H; u += L) {
      const int b = u / H, j = u % H;
      RNN_STEP(s, b, t, live)
      if (!live) {
        hnext[u] = hcur[u];
        ST(0.0f, y, Y_AT(t, b) + j);
        continue;
      }
      __global const data_t* xr = xw + XW_ROW(t, b) * 3 * H;
      __global const data_t* row = R + (long)(2 * H + j) * H;
      float recur;
      if (lbr)
        recur = rh[u] * (dot_hf(row, hcur + b * H, H) + LD(rb, 2 * H + j));
      else
        recur = dot_hf(row, rh + b * H, H) + LD(rb, 2 * H + j);
      const float ht =
          tanh(rnn_clip((LD(xr, 2 * H + j) + LD(wb, 2 * H + j)) + recur, clip, has_clip));
      const float z = zs[u];
      const float h = (1.0f - z) * ht + z * hcur[u];
      hnext[u] = h;
      ST(h, y, Y_AT(t, b) + j);
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
  }
  __global const float* hlast = hbuf + (T & 1) * B * H;
  for (int u = lid; u < B * H; u += L) ST(hlast[u], yh, S_AT(u / H) + u % H);
}

// lstm_seq_f32 with 8 hidden units a work-item (H a multiple of 8): R packed per gate and block
// of 8 units as [g][H/8][H][8], so h R^T is a float8 fma per k with the units in the lanes (no
// horizontal sums), and the gates' sigmoid / tanh run on float8 (PoCL's scalar exp and tanh cost
// tens of ns each: 5 per unit a step were much of the recurrence's time).
inline float8 rnn_sigmoid8(float8 x) {  // rnn_sigmoid on 8 lanes: exp of -|x| either way
  const float8 e = exp(-fabs(x));
  return select(e / (1.0f + e), 1.0f / (1.0f + e), x >= 0.0f);
}
inline float8 rnn_clip8(float8 v, float clip, int has_clip) {
  return has_clip ? fmin(fmax(v, -clip), clip) : v;
}
__kernel void lstm_seq8_f32(__global const data_t* restrict xw, __global const data_t* restrict R,
                            __global const data_t* restrict bias,
                            __global const data_t* restrict P, const int has_p,
                            __global const data_t* restrict h0, const int has_h0,
                            __global const data_t* restrict c0, const int has_c0,
                            __global const int* restrict lens, const int has_lens,
                            __global data_t* restrict y, __global data_t* restrict yh,
                            __global data_t* restrict yc, __global float* restrict hbuf,
                            __global float* restrict cbuf, const int T, const int B,
                            const int H, const int D, const int direction, const int layout,
                            const float clip, const int has_clip, const int input_forget) {
  LSTM_SETUP
  const int H8 = H / 8;
  const float8 zero = 0.0f;
  for (int s = 0; s < T; ++s) {
    __global const float* hcur = hbuf + (s & 1) * B * H;
    __global float* hnext = hbuf + ((s + 1) & 1) * B * H;
    for (int v = lid; v < B * H8; v += L) {
      const int b = v / H8, j = (v % H8) * 8, u = b * H + j;
      RNN_STEP(s, b, t, live)
      if (!live) {
        vstore8(vload8(0, hcur + u), 0, hnext + u);
        ST8(zero, y + Y_AT(t, b) + j, 0);
        continue;
      }
      const float8 c = vload8(0, cbuf + u);
      __global const data_t* xr = xw + XW_ROW(t, b) * 4 * H + j;
      __global const float* hb = hcur + b * H;
      __global const data_t* r0 = R + (long)(j / 8) * H * 8;
      const long gs = (long)H * H;  // one gate's packed rows
      float8 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
      for (int k = 0; k < H; ++k) {
        const float8 hk = (float8)(hb[k]);
        a0 = fma(hk, LD8(r0 + k * 8, 0), a0);
        a1 = fma(hk, LD8(r0 + gs + k * 8, 0), a1);
        a2 = fma(hk, LD8(r0 + 2 * gs + k * 8, 0), a2);
        a3 = fma(hk, LD8(r0 + 3 * gs + k * 8, 0), a3);
      }
      const float8 p0 = ((LD8(xr, 0) + LD8(wb + j, 0)) + a0) + LD8(rb + j, 0);
      const float8 p1 = ((LD8(xr + H, 0) + LD8(wb + H + j, 0)) + a1) + LD8(rb + H + j, 0);
      const float8 p2 =
          ((LD8(xr + 2 * H, 0) + LD8(wb + 2 * H + j, 0)) + a2) + LD8(rb + 2 * H + j, 0);
      const float8 p3 =
          ((LD8(xr + 3 * H, 0) + LD8(wb + 3 * H + j, 0)) + a3) + LD8(rb + 3 * H + j, 0);
      const float8 pi = has_p ? LD8(P + j, 0) : zero, po = has_p ? LD8(P + H + j, 0) : zero;
      const float8 pf = has_p ? LD8(P + 2 * H + j, 0) : zero;
      const float8 i = rnn_sigmoid8(rnn_clip8(p0 + pi * c, clip, has_clip));
      const float8 f =
          input_forget ? 1.0f - i : rnn_sigmoid8(rnn_clip8(p2 + pf * c, clip, has_clip));
      const float8 cn = f * c + i * tanh(rnn_clip8(p3, clip, has_clip));
      const float8 o = rnn_sigmoid8(rnn_clip8(p1 + po * cn, clip, has_clip));
      const float8 h = o * tanh(cn);
      vstore8(cn, 0, cbuf + u);
      vstore8(h, 0, hnext + u);
      ST8(h, y + Y_AT(t, b) + j, 0);
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
  }
  __global const float* hlast = hbuf + (T & 1) * B * H;
  for (int u = lid; u < B * H; u += L) {
    const int b = u / H, j = u % H;
    ST(hlast[u], yh, S_AT(b) + j);
    ST(cbuf[u], yc, S_AT(b) + j);
  }
}
