/* kleak trace's benchmark: a malloc/free-heavy loop, run with and without the tracer.
 *
 *   trace_alloc ROUNDS THREADS LIVE
 *
 * Each thread does ROUNDS times: pick a slot of a ring of LIVE blocks, free the block in
 * it, malloc a new one of 16..1039 bytes. Prints the wall time of the loop in seconds and
 * the peak RSS (VmHWM, KiB) of the process.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long rounds;
static int live;

static void *loop(void *arg) {
    unsigned seed = 12345u + (unsigned)(long)arg * 7919u;
    void **ring = calloc((size_t)live, sizeof *ring);
    for (long i = 0; i < rounds; i++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % (unsigned)live);
        free(ring[k]);
        ring[k] = malloc(16 + (seed >> 16) % 1024);
    }
    for (int k = 0; k < live; k++) free(ring[k]);
    free(ring);
    return NULL;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atol(argv[1]) : 10000000;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    live = argc > 3 ? atoi(argv[3]) : 4096;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pthread_t th[64];
    for (long t = 0; t < threads && t < 64; t++) pthread_create(&th[t], NULL, loop, (void *)t);
    for (int t = 0; t < threads && t < 64; t++) pthread_join(th[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long hwm = 0;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) hwm = atol(line + 6);
    if (f) fclose(f);
    printf("%.3f %ld\n", (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9, hwm);
    return 0;
}
