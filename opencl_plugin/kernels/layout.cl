// Data movement: every Transpose, Slice, Concat piece and Split piece is one strided copy.

// dst[dst_off + sum_a c_a*dstride_a] = src[src_off + sum_a c_a*sstride_a] for every coordinate c
// of the copied shape; geo = [rank, shape[rank], sstride[rank], dstride[rank]] (contiguous axes
// merged by the host). A work-item copies `chunk` elements along the last axis.
__kernel void copy_strided_f32(__global const data_t* restrict src, const int src_off,
                               __global data_t* restrict dst, const int dst_off,
                               __global const int* restrict geo, const int chunk,
                               const int items) {
  const int i = get_global_id(0);
  if (i >= items) return;
  const int rank = geo[0];
  const int last = geo[rank];
  const int pieces = (last + chunk - 1) / chunk;
  int rem = i / pieces;
  const int j0 = (i % pieces) * chunk;
  int s = src_off, d = dst_off;
  for (int a = rank - 2; a >= 0; --a) {
    const int n = geo[1 + a];
    const int c = rem % n;
    rem /= n;
    s += c * geo[1 + rank + a];
    d += c * geo[1 + 2 * rank + a];
  }
  const int ss = geo[2 * rank], ds = geo[3 * rank];
  const int j1 = min(last, j0 + chunk);
  for (int j = j0; j < j1; ++j) ST(LD(src, s + j * ss), dst, d + j * ds);
}

// y[o, j, i] = x[o, idx[j], i]: Gather along an axis of length L with J (normalised) indices.
__kernel void gather_f32(__global const data_t* restrict x, __global data_t* restrict y,
                         __global const int* restrict idx, const int L, const int J,
                         const int inner, const int total) {
  const int t = get_global_id(0);
  if (t >= total) return;
  const int i = t % inner, j = (t / inner) % J, o = t / (inner * J);
  ST(LD(x, ((long)o * L + idx[j]) * inner + i), y, t);
}

// y[i] = map[i] >= 0 ? x[map[i]] : fill: Pad, nearest Resize, Tile, DepthToSpace, SpaceToDepth,
// whose source index of every output element the reference itself computed once (index_map.py).
__kernel void gather_map_f32(__global const data_t* restrict x, __global data_t* restrict y,
                             __global const int* restrict map, const float fill,
                             const int total) {
  const int i = get_global_id(0);
  if (i >= total) return;
  const int j = map[i];
  ST(j >= 0 ? LD(x, j) : fill, y, i);
}
