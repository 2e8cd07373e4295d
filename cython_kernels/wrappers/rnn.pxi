# Wrappers of src/rnn.h (LSTM and GRU recurrences) and of the stage scheduler that runs them
# (src/stage_scheduler.h).
from libc.stdint cimport int64_t

cdef extern from "src/rnn.h" nogil:
    ctypedef struct gk_rnn_io:
        long steps
        long batch
        long hidden
        long dirs
        int reverse
        const float *xw
        long xw_t
        long xw_b
        long xw_ld
        const int64_t *lens
        float *y
        long y_t
        long y_d
        long y_b
        const float *h0
        const float *c0
        float *yh
        float *yc
        long s_d
        long s_b
        float lo
        float hi
    size_t gk_rnn_packed_size(long gates, long hidden)
    int gk_rnn_threads(long steps, long batch, long hidden, long dirs, long gates, int threads)
    void gk_rnn_size_rule(int on)

cdef extern from "src/stage_scheduler.h" nogil:
    int gk_sched_team_ok()
    void gk_sched_team_policy(int adapt)
    long gk_sched_check(long stages, long units, int threads, int redo, int stall_rank,
                        long stall_us, long *out)
    void gk_rnn_pack(const float *r, long gates, long hidden, float *out)
    void gk_lstm(const gk_rnn_io *io, const float *rp, const float *peep, int input_forget,
                 int threads)
    void gk_gru(const gk_rnn_io *io, const float *rzr, const float *rh, const float *rbh,
                int linear_before_reset, int threads)


def rnn_team_ok():
    """False while the recurrences back off to one thread (see src/stage_scheduler.h)."""
    return bool(gk_sched_team_ok())


def rnn_threads(long steps, long batch, long hidden, long dirs, long gates, int threads):
    """The threads an LSTM (gates 4) or GRU (3) recurrence of these sizes runs on (src/rnn.h)."""
    if steps < 0 or batch < 0 or hidden < 0 or dirs < 1 or gates < 1:
        raise ValueError("rnn_threads: negative sizes")
    return gk_rnn_threads(steps, batch, hidden, dirs, gates, threads)


def rnn_size_rule(bint on):
    """on True (default): a recurrence gets a team only where it pays (src/rnn.c); False: every
    thread that gets a 16-unit panel runs (tests)."""
    gk_rnn_size_rule(on)


def rnn_team_policy(bint adapt):
    """adapt True (default): after a team whose other threads hardly ran, the next calls run on
    one thread for a while; False: always the threads asked for (tests)."""
    gk_sched_team_policy(adapt)


def stage_scheduler_check(long stages, long units, int threads, bint redo=False,
                          int stall_rank=-1, long stall_us=0):
    """Runs a synthetic schedule through the stage scheduler and checks its contract (every unit
    of every stage runs, exactly once without redo; no stage starts before the previous one
    ended); the thread of rank stall_rank sleeps stall_us us in the first item it runs from
    stage 1 on. Returns (violations, items stolen, units run twice, team size, whether it
    slept)."""
    cdef long out[4]
    cdef long bad
    if stages < 0 or units < 1 or threads < 1 or stall_us < 0 or stall_us > 10_000_000:
        raise ValueError("stage_scheduler_check: stages >= 0, units >= 1, threads >= 1, "
                         "stall_us in [0, 1e7]")
    out[0] = out[1] = out[2] = out[3] = 0
    with nogil:
        bad = gk_sched_check(stages, units, threads, redo, stall_rank, stall_us, out)
    if bad < 0:
        raise MemoryError("stage_scheduler_check: out of memory")
    return bad, out[0], out[1], out[2], bool(out[3])


def rnn_packed_size(long gates, long hidden):
    """Floats of one direction's R (`gates` gates) packed by rnn_pack."""
    return gk_rnn_packed_size(gates, hidden)


def rnn_pack(const float[:, ::1] r, long gates, long hidden, float[::1] out):
    """out = rows [0, gates * hidden) of R (each `hidden` long) in 16-unit panels."""
    if hidden < 0 or gates < 0:
        raise ValueError("rnn_pack: negative size")
    if hidden == 0 or gates == 0:
        return
    if r is None or r.shape[1] != hidden or r.shape[0] < gates * hidden:
        raise ValueError(f"rnn_pack: r must have at least {gates * hidden} rows of {hidden}")
    _vec("rnn_pack", "out", out, gk_rnn_packed_size(gates, hidden), False)
    with nogil:
        gk_rnn_pack(&r[0, 0], gates, hidden, &out[0])


cdef inline float *_rnn_out(float[::1] v) noexcept nogil:
    return NULL if v is None or v.shape[0] == 0 else &v[0]


cdef int _rnn_io(str name, long gates, gk_rnn_io *io, const float[:, ::1] xw, long steps, long batch, long hidden,
                 long dirs, bint reverse, int layout, const int64_t[::1] lens, float[::1] y,
                 const float[::1] h0, const float[::1] c0, float[::1] yh, float[::1] yc,
                 float lo, float hi) except -1:
    """Fills io: xw rows (t, b) [T*B] (layout 0) or (b, t) [B*T] (layout 1); Y [T, D, B, H] or
    [B, T, D, H]; states [D, B, H] or [B, D, H]; all flat and C-contiguous. Raises ValueError
    where an array is too small for the sizes (xw: `gates` gates per direction) or a length is
    outside [0, steps]."""
    cdef long b, v, states = dirs * batch * hidden
    if steps < 0 or batch < 0 or hidden < 0 or (dirs != 1 and dirs != 2):
        raise ValueError(f"{name}: bad sizes (steps {steps}, batch {batch}, hidden {hidden}, "
                         f"dirs {dirs})")
    if layout != 0 and layout != 1:
        raise ValueError(f"{name}: layout must be 0 or 1")
    if xw is None or xw.shape[0] < steps * batch or xw.shape[1] < dirs * gates * hidden:
        raise ValueError(f"{name}: xw needs {steps * batch} rows of {dirs * gates * hidden}")
    if lens is not None:
        if lens.shape[0] < batch:
            raise ValueError(f"{name}: lens has {lens.shape[0]} entries, batch is {batch}")
        for b in range(batch):
            v = lens[b]
            if v < 0 or v > steps:
                raise ValueError(f"{name}: lens[{b}] = {v} is outside [0, {steps}]")
    if y is not None and 0 < y.shape[0] < steps * states:
        raise ValueError(f"{name}: y has {y.shape[0]} floats, needs {steps * states}")
    _vec(name, "h0", h0, states if h0 is not None and h0.shape[0] else 0, True)
    _vec(name, "c0", c0, states if c0 is not None and c0.shape[0] else 0, True)
    if (yh is not None and 0 < yh.shape[0] < states) or (yc is not None and 0 < yc.shape[0] < states):
        raise ValueError(f"{name}: yh or yc has fewer than {states} floats")
    memset(io, 0, sizeof(gk_rnn_io))
    io.steps, io.batch, io.hidden, io.dirs, io.reverse = steps, batch, hidden, dirs, reverse
    io.xw = &xw[0, 0] if xw.shape[0] and xw.shape[1] else NULL
    io.xw_ld = xw.shape[1]
    io.xw_t, io.xw_b = (1, steps) if layout else (batch, 1)
    io.lens = &lens[0] if lens is not None and lens.shape[0] else NULL
    io.y = _rnn_out(y)
    if layout:
        io.y_t, io.y_d, io.y_b = dirs * hidden, hidden, steps * dirs * hidden
        io.s_d, io.s_b = hidden, dirs * hidden
    else:
        io.y_t, io.y_d, io.y_b = dirs * batch * hidden, batch * hidden, hidden
        io.s_d, io.s_b = batch * hidden, hidden
    io.h0 = optr(h0)
    io.c0 = optr(c0)
    io.yh = _rnn_out(yh)
    io.yc = _rnn_out(yc)
    io.lo, io.hi = lo, hi
    return 0


# Segment replay (wrappers/plan.pxi): a recorded LSTM/GRU call keeps the io struct's pointers in
# slots 0-5 (xw, y, h0, c0, yh, yc; GRU, which has no c0/yc, keeps its rbh in slot 5), the packed
# weights in 6-7 (LSTM: rp, peep; GRU: rzr, rh), the sizes and strides in the integer slots and
# the clip bounds in the float slots. A call with sequence_lens is not recorded (Python checked
# their values).
cdef void _io_from_call(const gk_call *c, gk_rnn_io *io) noexcept nogil:
    memset(io, 0, sizeof(gk_rnn_io))
    io.xw, io.y = <const float *>c.p[0], <float *>c.p[1]
    io.h0, io.c0 = <const float *>c.p[2], <const float *>c.p[3]
    io.yh, io.yc = <float *>c.p[4], <float *>c.p[5]
    io.steps, io.batch, io.hidden, io.dirs, io.reverse = c.i[0], c.i[1], c.i[2], c.i[3], <int>c.i[4]
    io.xw_t, io.xw_b, io.xw_ld = c.i[5], c.i[6], c.i[7]
    io.y_t, io.y_d, io.y_b, io.s_d, io.s_b = c.i[8], c.i[9], c.i[10], c.i[11], c.i[12]
    io.lo, io.hi = c.f[0], c.f[1]


cdef int _run_lstm(const gk_call *c) noexcept nogil:
    cdef gk_rnn_io io
    _io_from_call(c, &io)
    gk_lstm(&io, <const float *>c.p[6], <const float *>c.p[7], <int>c.i[13], <int>c.i[14])
    return 0


cdef int _run_gru(const gk_call *c) noexcept nogil:
    cdef gk_rnn_io io
    _io_from_call(c, &io)
    io.c0, io.yc = NULL, NULL
    gk_gru(&io, <const float *>c.p[6], <const float *>c.p[7], <const float *>c.p[5],
           <int>c.i[13], <int>c.i[14])
    return 0


cdef void _record_rnn(gk_call_fn fn, str name, const gk_rnn_io *io, tuple keep, void *w0,
                      void *w1, void *rbh, int flag, int threads):
    """Appends the call just made to the open trace (not when it read sequence lengths)."""
    cdef Call call
    if io.lens != NULL:
        _trace.append(None)
        return
    call = _record(fn, name, keep)
    call.c.p[0], call.c.p[1] = <void *>io.xw, <void *>io.y
    call.c.p[2], call.c.p[3] = <void *>io.h0, <void *>io.c0
    call.c.p[4], call.c.p[5] = <void *>io.yh, <void *>io.yc
    if rbh != NULL:
        call.c.p[5] = rbh
    call.c.p[6], call.c.p[7] = w0, w1
    call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = io.steps, io.batch, io.hidden, io.dirs
    call.c.i[4], call.c.i[5], call.c.i[6], call.c.i[7] = io.reverse, io.xw_t, io.xw_b, io.xw_ld
    call.c.i[8], call.c.i[9], call.c.i[10] = io.y_t, io.y_d, io.y_b
    call.c.i[11], call.c.i[12], call.c.i[13], call.c.i[14] = io.s_d, io.s_b, flag, threads
    call.c.f[0], call.c.f[1] = io.lo, io.hi


def lstm(const float[:, ::1] xw, long steps, long batch, long hidden, long dirs, bint reverse,
         int layout, const int64_t[::1] lens, float[::1] y, const float[::1] h0,
         const float[::1] c0, float[::1] yh, float[::1] yc, const float[::1] rp,
         const float[::1] peep, bint input_forget, float lo, float hi, int threads):
    """The LSTM recurrence over precomputed xw = X W^T + Wb + Rb (see src/rnn.h); arrays flat,
    None where absent (h0/c0: zeros; lens: all steps; y/yh/yc: not written)."""
    cdef gk_rnn_io io
    _rnn_io("lstm", 4, &io, xw, steps, batch, hidden, dirs, reverse, layout, lens, y, h0, c0, yh,
            yc, lo, hi)
    _vec("lstm", "rp", rp, dirs * gk_rnn_packed_size(4, hidden), False)
    _vec("lstm", "peep", peep, dirs * 3 * hidden, False)
    if rp is None or peep is None or rp.shape[0] == 0 or peep.shape[0] == 0:
        if steps and batch and hidden:
            raise ValueError("lstm: rp and peep are required")
        return
    with nogil:
        gk_lstm(&io, &rp[0], &peep[0], input_forget, threads)
    if _tracing():
        _record_rnn(_run_lstm, "lstm", &io, (xw, y, h0, c0, yh, yc, rp, peep), <void *>&rp[0],
                    <void *>&peep[0], NULL, input_forget, threads)


def gru(const float[:, ::1] xw, long steps, long batch, long hidden, long dirs, bint reverse,
        int layout, const int64_t[::1] lens, float[::1] y, const float[::1] h0, float[::1] yh,
        const float[::1] rzr, const float[::1] rh, const float[::1] rbh,
        bint linear_before_reset, float lo, float hi, int threads):
    """The GRU recurrence over precomputed xw (see src/rnn.h); rbh: the R bias of gate h per
    direction (used when linear_before_reset)."""
    cdef gk_rnn_io io
    _rnn_io("gru", 3, &io, xw, steps, batch, hidden, dirs, reverse, layout, lens, y, h0, None, yh,
            None, lo, hi)
    _vec("gru", "rzr", rzr, dirs * gk_rnn_packed_size(2, hidden), False)
    _vec("gru", "rh", rh, dirs * gk_rnn_packed_size(1, hidden), False)
    if linear_before_reset:
        _vec("gru", "rbh (linear_before_reset)", rbh, dirs * hidden, False)
    if rzr is None or rh is None or rzr.shape[0] == 0 or rh.shape[0] == 0:
        if steps and batch and hidden:
            raise ValueError("gru: rzr and rh are required")
        return
    cdef const float *pbh = optr(rbh) if linear_before_reset else NULL
    with nogil:
        gk_gru(&io, &rzr[0], &rh[0], pbh, linear_before_reset, threads)
    if _tracing():
        _record_rnn(_run_gru, "gru", &io, (xw, y, h0, yh, rzr, rh, rbh), <void *>&rzr[0],
                    <void *>&rh[0], <void *>pbh, linear_before_reset, threads)
