/* What compiled programs keep between calls: a pool of worker threads for their parallel loops,
 * and a cache of their temporary buffers.
 *
 * codegen_parallel_for(body, ctx, extent, chunks) runs body(ctx, start, end) over [0, extent) in
 * `chunks` equal chunks: chunk 0 on the caller, chunk k on worker k. Workers stay alive between
 * calls, poll briefly for the next job and then sleep, so a parallel loop costs a wake-up instead
 * of a pthread_create/join (~30 µs). One job at a time: a caller that finds the pool busy (another
 * Python thread's loop) runs its loop alone. A forked child starts its own workers.
 *
 * The number of threads is decided at each call: codegen_set_num_threads(n) when set, else
 * OMP_NUM_THREADS (so a Dask worker or an MPI rank that sets it is not oversubscribed), else the
 * chunks the code was compiled for.
 *
 * codegen_temp_alloc/codegen_temp_free give a program its big temporaries. A freed block is kept
 * for the next call (up to CACHED_BLOCKS blocks and CACHED_BYTES in all) instead of going back to
 * the kernel, which would zero and page-fault it in again on every call: for a convolution's
 * windows that cost more than the arithmetic. Each block is 64-byte aligned and records its size.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_WORKERS 63
#define SPINS 100000 /* polls (tens of µs) before a worker or the caller sleeps */

typedef void (*body_fn)(void *ctx, int64_t start, int64_t end);

static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER; /* held for a whole job */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* guards sleeping and waking */
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER, finished = PTHREAD_COND_INITIALIZER;
static atomic_long generation; /* bumped once per job, after the job is written */
static atomic_int pending;     /* workers still on the current job */
static long first_seen[MAX_WORKERS + 1];
static int workers;
static body_fn job_body;
static void *job_ctx;
static int64_t job_extent, job_chunk, job_chunks;

static void run_chunk(int64_t k) {
    int64_t start = job_chunk * k, end = start + job_chunk;
    if (end > job_extent) end = job_extent;
    if (start < end) job_body(job_ctx, start, end);
}

static void *worker(void *arg) {
    int64_t k = (int64_t)(intptr_t)arg;
    long seen = first_seen[k]; /* the generation before any job this worker must run */
    for (;;) {
        for (int spin = 0; spin < SPINS && atomic_load(&generation) == seen; spin++) {}
        if (atomic_load(&generation) == seen) {
            pthread_mutex_lock(&lock);
            while (atomic_load(&generation) == seen) pthread_cond_wait(&wake, &lock);
            pthread_mutex_unlock(&lock);
        }
        seen = atomic_load(&generation);
        if (k < job_chunks) run_chunk(k);
        if (atomic_fetch_sub(&pending, 1) == 1) {
            pthread_mutex_lock(&lock);
            pthread_cond_signal(&finished);
            pthread_mutex_unlock(&lock);
        }
    }
    return NULL;
}

#define CACHED_BLOCKS 32
#define CACHED_BYTES ((int64_t)256 << 20)
#define HEADER 64 /* the block's size, keeping the data 64-byte aligned */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char *cached[CACHED_BLOCKS];
static int n_cached;
static int64_t cached_bytes;

static int64_t block_size(char *block) { return *(int64_t *)block; }

void *codegen_temp_alloc(int64_t size) {
    char *block = NULL;
    pthread_mutex_lock(&cache_lock);
    int best = -1; /* the smallest cached block that fits and wastes at most half of itself */
    for (int i = 0; i < n_cached; i++) {
        int64_t have = block_size(cached[i]);
        if (have >= size && have / 2 <= size && (best < 0 || have < block_size(cached[best]))) best = i;
    }
    if (best >= 0) {
        block = cached[best];
        cached_bytes -= block_size(block);
        cached[best] = cached[--n_cached];
    }
    pthread_mutex_unlock(&cache_lock);
    if (block == NULL) {
        void *fresh = NULL;
        if (posix_memalign(&fresh, 64, HEADER + (size > 0 ? size : 1)) != 0) return NULL;
        block = fresh;
        *(int64_t *)block = size;
    }
    return block + HEADER;
}

void codegen_temp_free(void *data) {
    if (data == NULL) return;
    char *block = (char *)data - HEADER;
    pthread_mutex_lock(&cache_lock);
    if (n_cached < CACHED_BLOCKS && cached_bytes + block_size(block) <= CACHED_BYTES) {
        cached[n_cached++] = block;
        cached_bytes += block_size(block);
        block = NULL;
    }
    pthread_mutex_unlock(&cache_lock);
    free(block);
}

static void forget_workers(void) { /* in a forked child, where the parent's workers do not exist */
    pthread_mutex_init(&cache_lock, NULL);
    pthread_mutex_init(&busy, NULL);
    pthread_mutex_init(&lock, NULL);
    pthread_cond_init(&wake, NULL);
    pthread_cond_init(&finished, NULL);
    atomic_store(&pending, 0);
    workers = 0;
}

static void register_fork_handler(void) { pthread_atfork(NULL, NULL, forget_workers); }

static void start_workers(int64_t wanted) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_fork_handler);
    while (workers < wanted && workers < MAX_WORKERS) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        first_seen[workers + 1] = atomic_load(&generation);
        int failed = pthread_create(&thread, &attr, worker, (void *)(intptr_t)(workers + 1));
        pthread_attr_destroy(&attr);
        if (failed) return;
        workers++;
    }
}

static atomic_long thread_setting; /* 0: not set */

void codegen_set_num_threads(int64_t n) { atomic_store(&thread_setting, n); }

static int64_t thread_limit(int64_t chunks) {
    long n = atomic_load(&thread_setting);
    if (n <= 0) {
        const char *env = getenv("OMP_NUM_THREADS");
        n = env ? atol(env) : 0;
    }
    return n > 0 && n < chunks ? n : chunks;
}

void codegen_parallel_for(body_fn body, void *ctx, int64_t extent, int64_t chunks) {
    chunks = thread_limit(chunks);
    if (chunks <= 1 || extent <= 1 || pthread_mutex_trylock(&busy) != 0) {
        body(ctx, 0, extent);
        return;
    }
    start_workers(chunks - 1);
    if (chunks > workers + 1) chunks = workers + 1;
    job_body = body, job_ctx = ctx, job_extent = extent, job_chunks = chunks;
    job_chunk = (extent + chunks - 1) / chunks;
    atomic_store(&pending, workers);
    pthread_mutex_lock(&lock);
    atomic_fetch_add(&generation, 1);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    run_chunk(0);
    for (int spin = 0; spin < SPINS && atomic_load(&pending) != 0; spin++) {}
    if (atomic_load(&pending) != 0) {
        pthread_mutex_lock(&lock);
        while (atomic_load(&pending) != 0) pthread_cond_wait(&finished, &lock);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_unlock(&busy);
}
