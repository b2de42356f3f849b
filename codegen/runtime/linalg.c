/* Matrix functions that compiled programs call: BLAS's GEMM and LAPACK, through the function
   pointers SciPy exports (scipy.linalg.cython_blas / cython_lapack; linalg.py sets them with
   codegen_linalg_set), on stacks of row-major matrices.

   BLAS and LAPACK are column-major: they see a row-major matrix as its transpose. Each function
   below says how it uses that. Where NumPy raises LinAlgError (a singular matrix for inv/solve,
   one that is not positive definite for cholesky, no convergence) the result is NaN, as in JAX.
   Entry points: codegen_<name>_<f64|f32>(inputs..., output, sizes...), sizes as int64.

   GEMM runs on the compiled code's thread pool (codegen_linalg_parallel), each thread a block of
   the product with BLAS limited to one thread on it: BLAS's own threads spin after each call and
   would take the cores from the pool's next parallel loop. That needs OpenBLAS's thread-local
   setting (openblas_set_num_threads_local, found beside GEMM); without it BLAS threads itself. */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int lapack_int; /* SciPy's LAPACK is LP64 */

#define ROUTINES(X) X(gemm) X(getrf) X(getri) X(getrs) X(potrf) X(syevd) X(gesdd) X(geqrf) X(orgqr)
#define SLOT(name) static void *d##name, *s##name;
ROUTINES(SLOT)

typedef int (*set_threads_t)(int);
typedef void (*body_t)(void *, int64_t, int64_t);
typedef void (*parallel_for_t)(body_t, void *, int64_t, int64_t);
static set_threads_t blas_threads_local; /* OpenBLAS's per-thread thread count, if it has one */
static parallel_for_t parallel_for;      /* the thread pool's codegen_parallel_for */
static int64_t pool_threads = 1;

void codegen_linalg_parallel(void *pool_for, int64_t threads) {
    parallel_for = (parallel_for_t)pool_for, pool_threads = threads;
}

static void find_blas_threading(void *gemm) {
    Dl_info info;
    if (!dladdr(gemm, &info) || !info.dli_fname) return;
    void *blas = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
    if (blas) blas_threads_local = (set_threads_t)dlsym(blas, "openblas_set_num_threads_local");
}

int codegen_linalg_set(const char *name, void *function) {
    if (!strcmp(name, "sgemm")) find_blas_threading(function);
#define SET(routine)                                                                                  \
    if (!strcmp(name, "d" #routine)) { d##routine = function; return 1; }                             \
    if (!strcmp(name, "s" #routine)) { s##routine = function; return 1; }
    ROUTINES(SET)
    return 0;
}

static lapack_int lead(int64_t n) { return n > 1 ? (lapack_int)n : 1; }

#define DEFINE(T, P, SUFFIX)                                                                          \
typedef void (*P##gemm_t)(char *, char *, lapack_int *, lapack_int *, lapack_int *, T *, T *, lapack_int *, \
                          T *, lapack_int *, T *, T *, lapack_int *);                                 \
typedef void (*P##getrf_t)(lapack_int *, lapack_int *, T *, lapack_int *, lapack_int *, lapack_int *); \
typedef void (*P##getri_t)(lapack_int *, T *, lapack_int *, lapack_int *, T *, lapack_int *, lapack_int *); \
typedef void (*P##getrs_t)(char *, lapack_int *, lapack_int *, T *, lapack_int *, lapack_int *, T *,  \
                           lapack_int *, lapack_int *);                                               \
typedef void (*P##potrf_t)(char *, lapack_int *, T *, lapack_int *, lapack_int *);                    \
typedef void (*P##syevd_t)(char *, char *, lapack_int *, T *, lapack_int *, T *, T *, lapack_int *,   \
                           lapack_int *, lapack_int *, lapack_int *);                                 \
typedef void (*P##gesdd_t)(char *, lapack_int *, lapack_int *, T *, lapack_int *, T *, T *,           \
                           lapack_int *, T *, lapack_int *, T *, lapack_int *, lapack_int *,          \
                           lapack_int *);                                                             \
typedef void (*P##geqrf_t)(lapack_int *, lapack_int *, T *, lapack_int *, T *, T *, lapack_int *, lapack_int *); \
typedef void (*P##orgqr_t)(lapack_int *, lapack_int *, lapack_int *, T *, lapack_int *, T *, T *, lapack_int *, \
                           lapack_int *);                                                             \
                                                                                                      \
static void P##fill_nan(T *x, int64_t n) { for (int64_t i = 0; i < n; i++) x[i] = (T)NAN; }           \
                                                                                                      \
/* C = op(A) op(B) for each of ``batch`` row-major products, C m × n; op(A) is A (stored m × k) or,  \
   with ``ta``, Aᵀ (A stored k × m); likewise B. Column-major, that is Cᵀ = op(B)ᵀ op(A)ᵀ. Each      \
   task is one product's block of rows (or of columns, when there are more of those).              */ \
typedef struct { const T *a, *b; T *c; int64_t m, n, k, ta, tb, blocks; } P##gemm_job;                \
                                                                                                      \
static void P##gemm_block(const P##gemm_job *g, int64_t task) {                                       \
    int64_t i = task / g->blocks, block = task % g->blocks, by_rows = g->m >= g->n;                   \
    int64_t extent = by_rows ? g->m : g->n, lo = extent * block / g->blocks;                          \
    int64_t hi = extent * (block + 1) / g->blocks;                                                    \
    const T *a = g->a + i * g->m * g->k, *b = g->b + i * g->k * g->n;                                 \
    T *c = g->c + i * g->m * g->n;                                                                    \
    lapack_int M = (lapack_int)(by_rows ? hi - lo : g->m), N = (lapack_int)(by_rows ? g->n : hi - lo); \
    lapack_int K = (lapack_int)g->k, lda = lead(g->ta ? g->m : g->k);                                 \
    lapack_int ldb = lead(g->tb ? g->k : g->n), ldc = lead(g->n);                                     \
    char opa = g->ta ? 'T' : 'N', opb = g->tb ? 'T' : 'N';                                            \
    T one = 1, zero = 0;                                                                              \
    if (M == 0 || N == 0) return;                                                                     \
    if (by_rows) a += g->ta ? lo : lo * g->k, c += lo * g->n;                                         \
    else b += g->tb ? lo * g->k : lo, c += lo;                                                        \
    ((P##gemm_t)P##gemm)(&opb, &opa, &N, &M, &K, &one, (T *)b, &ldb, (T *)a, &lda, &zero, c, &ldc);   \
}                                                                                                     \
                                                                                                      \
static void P##gemm_tasks(void *job, int64_t start, int64_t end) {                                    \
    int previous = blas_threads_local ? blas_threads_local(1) : 0;                                    \
    for (int64_t task = start; task < end; task++) P##gemm_block(job, task);                          \
    if (blas_threads_local) blas_threads_local(previous);                                             \
}                                                                                                     \
                                                                                                      \
void codegen_gemm_##SUFFIX(const T *a, const T *b, T *c, int64_t batch, int64_t m, int64_t n, int64_t k, \
                           int64_t ta, int64_t tb) {                                                  \
    int pooled = parallel_for && blas_threads_local && pool_threads > 1;                              \
    int64_t longest = m > n ? m : n;                                                                  \
    int64_t blocks = pooled && batch < pool_threads ? (pool_threads + batch - 1) / batch : 1;        \
    P##gemm_job job = {a, b, c, m, n, k, ta, tb, blocks < longest ? blocks : (longest ? longest : 1)}; \
    if (m == 0 || n == 0) return;                                                                     \
    if (pooled) parallel_for(P##gemm_tasks, &job, batch * job.blocks, pool_threads);                  \
    else for (int64_t task = 0; task < batch; task++) P##gemm_block(&job, task);                      \
}                                                                                                     \
                                                                                                      \
/* inv(Aᵀ) = inv(A)ᵀ: inverting what LAPACK sees inverts A in row-major terms */                     \
void codegen_inv_##SUFFIX(const T *a, T *out, int64_t batch, int64_t n) {                            \
    lapack_int N = (lapack_int)n, ld = lead(n), info, lwork = -1;                                     \
    lapack_int *pivots = malloc(sizeof(lapack_int) * (n + 1));                                        \
    T query = 0;                                                                                      \
    ((P##getri_t)P##getri)(&N, out, &ld, pivots, &query, &lwork, &info);                              \
    lwork = (lapack_int)query > 1 ? (lapack_int)query : 1;                                            \
    T *work = malloc(sizeof(T) * lwork);                                                              \
    for (int64_t b = 0; b < batch; b++) {                                                             \
        T *m = out + b * n * n;                                                                       \
        memcpy(m, a + b * n * n, sizeof(T) * n * n);                                                  \
        ((P##getrf_t)P##getrf)(&N, &N, m, &ld, pivots, &info);                                        \
        if (info == 0) ((P##getri_t)P##getri)(&N, m, &ld, pivots, work, &lwork, &info);              \
        if (info != 0) P##fill_nan(m, n * n);                                                         \
    }                                                                                                 \
    free(work);                                                                                       \
    free(pivots);                                                                                     \
}                                                                                                     \
                                                                                                      \
/* A X = B: factor Aᵀ (what LAPACK sees), solve with its transpose; B and X are transposed into and \
   out of column-major */                                                                             \
void codegen_solve_##SUFFIX(const T *a, const T *rhs, T *out, int64_t batch, int64_t n, int64_t k) { \
    lapack_int N = (lapack_int)n, K = (lapack_int)k, ld = lead(n), info;                              \
    lapack_int *pivots = malloc(sizeof(lapack_int) * (n + 1));                                        \
    T *lu = malloc(sizeof(T) * (n * n + 1)), *x = malloc(sizeof(T) * (n * k + 1));                    \
    char trans = 'T';                                                                                 \
    for (int64_t b = 0; b < batch; b++) {                                                             \
        const T *bb = rhs + b * n * k;                                                                \
        T *ob = out + b * n * k;                                                                      \
        memcpy(lu, a + b * n * n, sizeof(T) * n * n);                                                 \
        for (int64_t i = 0; i < n; i++)                                                               \
            for (int64_t j = 0; j < k; j++) x[i + j * n] = bb[i * k + j];                             \
        ((P##getrf_t)P##getrf)(&N, &N, lu, &ld, pivots, &info);                                       \
        if (info == 0 && n > 0 && k > 0)                                                              \
            ((P##getrs_t)P##getrs)(&trans, &N, &K, lu, &ld, pivots, x, &ld, &info);                   \
        if (info != 0) { P##fill_nan(ob, n * k); continue; }                                          \
        for (int64_t i = 0; i < n; i++)                                                               \
            for (int64_t j = 0; j < k; j++) ob[i * k + j] = x[i + j * n];                             \
    }                                                                                                 \
    free(x);                                                                                          \
    free(lu);                                                                                         \
    free(pivots);                                                                                     \
}                                                                                                     \
                                                                                                      \
/* det Aᵀ = det A: the product of U's diagonal, negated for each row swap; an exactly singular        \
   matrix has sign 0 and log |det| −inf, as in NumPy. Either output may be NULL. */                   \
static void P##slogdet(const T *a, T *sign, T *logabs, int64_t batch, int64_t n) {                   \
    lapack_int N = (lapack_int)n, ld = lead(n), info;                                                 \
    lapack_int *pivots = malloc(sizeof(lapack_int) * (n + 1));                                        \
    T *lu = malloc(sizeof(T) * (n * n + 1));                                                          \
    for (int64_t b = 0; b < batch; b++) {                                                             \
        memcpy(lu, a + b * n * n, sizeof(T) * n * n);                                                 \
        ((P##getrf_t)P##getrf)(&N, &N, lu, &ld, pivots, &info);                                       \
        T s = 1, l = 0;                                                                               \
        for (int64_t i = 0; i < n; i++) {                                                             \
            T d = lu[i * n + i];                                                                      \
            if (pivots[i] != i + 1) s = -s;                                                           \
            if (d < 0) s = -s;                                                                        \
            l += (T)log(fabs((double)d));                                                             \
        }                                                                                             \
        if (info > 0) { s = 0; l = (T)-INFINITY; }                                                    \
        if (sign) sign[b] = s;                                                                        \
        if (logabs) logabs[b] = l;                                                                    \
    }                                                                                                 \
    free(lu);                                                                                         \
    free(pivots);                                                                                     \
}                                                                                                     \
void codegen_slogdet_sign_##SUFFIX(const T *a, T *out, int64_t batch, int64_t n) {                   \
    P##slogdet(a, out, NULL, batch, n);                                                               \
}                                                                                                     \
void codegen_slogdet_log_##SUFFIX(const T *a, T *out, int64_t batch, int64_t n) {                    \
    P##slogdet(a, NULL, out, batch, n);                                                               \
}                                                                                                     \
                                                                                                      \
/* NumPy reads A's lower triangle: LAPACK's upper one. Its U (A = UᵀU) read row-major is L. */        \
void codegen_cholesky_##SUFFIX(const T *a, T *out, int64_t batch, int64_t n) {                       \
    lapack_int N = (lapack_int)n, ld = lead(n), info;                                                 \
    char upper = 'U';                                                                                 \
    for (int64_t b = 0; b < batch; b++) {                                                             \
        T *m = out + b * n * n;                                                                       \
        memcpy(m, a + b * n * n, sizeof(T) * n * n);                                                  \
        ((P##potrf_t)P##potrf)(&upper, &N, m, &ld, &info);                                            \
        if (info != 0) { P##fill_nan(m, n * n); continue; }                                           \
        for (int64_t i = 0; i < n; i++)                                                               \
            for (int64_t j = i + 1; j < n; j++) m[i * n + j] = 0;                                     \
    }                                                                                                 \
}                                                                                                     \
                                                                                                      \
/* eigh (NumPy's UPLO='L': LAPACK's 'U'); the eigenvectors come back as rows of the column-major    \
   result, transposed into columns. Either output may be NULL. */                                     \
static void P##eigh(const T *a, T *w, T *v, int64_t batch, int64_t n) {                              \
    lapack_int N = (lapack_int)n, ld = lead(n), info, lwork = -1, liwork = -1, iquery = 0;            \
    char jobz = 'V', upper = 'U';                                                                     \
    T query = 0, *m = malloc(sizeof(T) * (n * n + 1)), *values = malloc(sizeof(T) * (n + 1));         \
    ((P##syevd_t)P##syevd)(&jobz, &upper, &N, m, &ld, values, &query, &lwork, &iquery, &liwork, &info); \
    lwork = (lapack_int)query > 1 ? (lapack_int)query : 1;                                            \
    liwork = iquery > 1 ? iquery : 1;                                                                 \
    T *work = malloc(sizeof(T) * lwork);                                                              \
    lapack_int *iwork = malloc(sizeof(lapack_int) * liwork);                                          \
    for (int64_t b = 0; b < batch; b++) {                                                             \
        memcpy(m, a + b * n * n, sizeof(T) * n * n);                                                  \
        ((P##syevd_t)P##syevd)(&jobz, &upper, &N, m, &ld, values, work, &lwork, iwork, &liwork, &info); \
        if (info != 0) { P##fill_nan(values, n); P##fill_nan(m, n * n); }                             \
        if (w) memcpy(w + b * n, values, sizeof(T) * n);                                              \
        if (v)                                                                                        \
            for (int64_t i = 0; i < n; i++)                                                           \
                for (int64_t j = 0; j < n; j++) v[b * n * n + i * n + j] = m[j * n + i];              \
    }                                                                                                 \
    free(iwork);                                                                                      \
    free(work);                                                                                       \
    free(values);                                                                                     \
    free(m);                                                                                          \
}                                                                                                     \
void codegen_eigh_w_##SUFFIX(const T *a, T *out, int64_t batch, int64_t n) {                         \
    P##eigh(a, out, NULL, batch, n);                                                                  \
}                                                                                                     \
void codegen_eigh_v_##SUFFIX(const T *a, T *out, int64_t batch, int64_t n) {                         \
    P##eigh(a, NULL, out, batch, n);                                                                  \
}                                                                                                     \
                                                                                                      \
/* The reduced SVD of an m × n row-major A is that of Aᵀ = V S Uᵀ: LAPACK's U is V (read row-major,  \
   Vᴴ) and its Vᵀ is Uᵀ (read row-major, U), so nothing is transposed. Any output may be NULL. */     \
static void P##svd(const T *a, T *u, T *s, T *vh, int64_t batch, int64_t m, int64_t n) {             \
    int64_t k = m < n ? m : n;                                                                        \
    lapack_int M = (lapack_int)n, N = (lapack_int)m, K = (lapack_int)k, info, lwork = -1;            \
    lapack_int ldm = lead(n), ldk = lead(k);                                                          \
    char jobz = (u || vh) ? 'S' : 'N';                                                                \
    T query = 0, *x = malloc(sizeof(T) * (m * n + 1)), *sv = malloc(sizeof(T) * (k + 1));             \
    T *left = malloc(sizeof(T) * (n * k + 1)), *right = malloc(sizeof(T) * (k * m + 1));              \
    lapack_int *iwork = malloc(sizeof(lapack_int) * (8 * k + 1));                                     \
    ((P##gesdd_t)P##gesdd)(&jobz, &M, &N, x, &ldm, sv, left, &ldm, right, &ldk, &query, &lwork, iwork, &info); \
    lwork = (lapack_int)query > 1 ? (lapack_int)query : 1;                                            \
    T *work = malloc(sizeof(T) * lwork);                                                              \
    (void)K;                                                                                          \
    for (int64_t b = 0; b < batch; b++) {                                                             \
        memcpy(x, a + b * m * n, sizeof(T) * m * n);                                                  \
        if (k > 0)                                                                                    \
            ((P##gesdd_t)P##gesdd)(&jobz, &M, &N, x, &ldm, sv, left, &ldm, right, &ldk, work, &lwork, iwork, &info); \
        else info = 0;                                                                                \
        if (info != 0) { P##fill_nan(sv, k); P##fill_nan(left, n * k); P##fill_nan(right, k * m); }   \
        if (s) memcpy(s + b * k, sv, sizeof(T) * k);                                                  \
        if (vh) memcpy(vh + b * k * n, left, sizeof(T) * k * n);                                      \
        if (u) memcpy(u + b * m * k, right, sizeof(T) * m * k);                                       \
    }                                                                                                 \
    free(work);                                                                                       \
    free(iwork);                                                                                      \
    free(right);                                                                                      \
    free(left);                                                                                       \
    free(sv);                                                                                         \
    free(x);                                                                                          \
}                                                                                                     \
void codegen_svd_s_##SUFFIX(const T *a, T *out, int64_t batch, int64_t m, int64_t n) {               \
    P##svd(a, NULL, out, NULL, batch, m, n);                                                          \
}                                                                                                     \
void codegen_svd_u_##SUFFIX(const T *a, T *out, int64_t batch, int64_t m, int64_t n) {               \
    P##svd(a, out, NULL, NULL, batch, m, n);                                                          \
}                                                                                                     \
void codegen_svd_vh_##SUFFIX(const T *a, T *out, int64_t batch, int64_t m, int64_t n) {              \
    P##svd(a, NULL, NULL, out, batch, m, n);                                                          \
}                                                                                                     \
                                                                                                      \
/* QR of an m × n A: transposed into column-major for geqrf; R (k × n, the factored matrix's upper    \
   triangle) and Q (m × k, from orgqr) transposed out. Either output may be NULL. */                  \
static void P##qr(const T *a, T *q, T *r, int64_t batch, int64_t m, int64_t n) {                     \
    int64_t k = m < n ? m : n;                                                                        \
    lapack_int M = (lapack_int)m, N = (lapack_int)n, K = (lapack_int)k, ld = lead(m), info = 0, lwork = -1; \
    T query = 1, more = 1, *x = malloc(sizeof(T) * (m * n + 1)), *tau = malloc(sizeof(T) * (k + 1));  \
    if (k > 0) {                                                                                      \
        ((P##geqrf_t)P##geqrf)(&M, &N, x, &ld, tau, &query, &lwork, &info);                           \
        ((P##orgqr_t)P##orgqr)(&M, &K, &K, x, &ld, tau, &more, &lwork, &info);                        \
    }                                                                                                 \
    lwork = (lapack_int)(query > more ? query : more);                                                \
    lwork = lwork > 1 ? lwork : 1;                                                                    \
    T *work = malloc(sizeof(T) * lwork);                                                              \
    for (int64_t b = 0; b < batch && k > 0; b++) {                                                    \
        for (int64_t i = 0; i < m; i++)                                                               \
            for (int64_t j = 0; j < n; j++) x[i + j * m] = a[b * m * n + i * n + j];                  \
        ((P##geqrf_t)P##geqrf)(&M, &N, x, &ld, tau, work, &lwork, &info);                             \
        if (r)                                                                                        \
            for (int64_t i = 0; i < k; i++)                                                           \
                for (int64_t j = 0; j < n; j++) r[b * k * n + i * n + j] = j >= i ? x[i + j * m] : 0; \
        if (q) {                                                                                      \
            ((P##orgqr_t)P##orgqr)(&M, &K, &K, x, &ld, tau, work, &lwork, &info);                     \
            for (int64_t i = 0; i < m; i++)                                                           \
                for (int64_t j = 0; j < k; j++) q[b * m * k + i * k + j] = x[i + j * m];              \
        }                                                                                             \
        if (info != 0) {                                                                              \
            if (q) P##fill_nan(q + b * m * k, m * k);                                                 \
            if (r) P##fill_nan(r + b * k * n, k * n);                                                 \
        }                                                                                             \
    }                                                                                                 \
    free(work);                                                                                       \
    free(tau);                                                                                        \
    free(x);                                                                                          \
}                                                                                                     \
void codegen_qr_q_##SUFFIX(const T *a, T *out, int64_t batch, int64_t m, int64_t n) {                \
    P##qr(a, out, NULL, batch, m, n);                                                                 \
}                                                                                                     \
void codegen_qr_r_##SUFFIX(const T *a, T *out, int64_t batch, int64_t m, int64_t n) {                \
    P##qr(a, NULL, out, batch, m, n);                                                                 \
}

DEFINE(double, d, f64)
DEFINE(float, s, f32)
