/*
 * LTTng-UST reference of bench/ust.ts: times COUNT tracepoint() calls of bench_ust:event (an
 * int64, a double, a 16-character string), RUNS times after one warm-up run, and prints one line
 * per timed run: the ns per event. Whether the event records depends on the session it runs
 * under. Build: gcc -O2 -I. bench_ust.c -llttng-ust -ldl
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "bench_ust_tp.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  long count = argc > 1 ? atol(argv[1]) : 10000000L;
  int runs = argc > 2 ? atoi(argv[2]) : 5;
  static const char s[] = "abcdefghijklmnop";
  for (int r = -1; r < runs; r++) {
    double start = now_ns();
    for (long i = 0; i < count; i++) lttng_ust_tracepoint(bench_ust, event, (int64_t)i, (double)i * 0.5, s);
    double ns = (now_ns() - start) / (double)count;
    if (r >= 0) printf("%.3f\n", ns);
  }
  return 0;
}
