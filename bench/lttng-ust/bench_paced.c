/*
 * LTTng-UST producer of bench/consumer.ts, the counterpart of bench/consumer-app.ts: one thread
 * emitting bench_ust:event (an int64, a double, a 16-character string), driven by lines:
 *   -> "ready"                     (the tracer registered in the constructor: run it with
 *                                   LTTNG_UST_REGISTER_TIMEOUT so that it waits for the daemon)
 *   <- "run RATE SECONDS"          emit at RATE events/s (0: flat out) for SECONDS
 *   -> "result EMITTED ELAPSED_NS"
 *   <- end of stdin                exit
 * Pacing: each turn reads the clock and emits the events due by then (RATE x elapsed), so a late
 * turn catches up; flat out, the clock is read every 1024 events.
 * Build: gcc -O2 -I. bench_paced.c -llttng-ust -ldl
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "bench_ust_tp.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static char strings[16][17];

static void emit_for(double rate, double seconds) {
  int64_t duration = (int64_t)(seconds * 1e9);
  int64_t emitted = 0, elapsed = 0;
  int64_t start = now_ns();
  while (elapsed < duration) {
    int64_t due = rate > 0 ? (int64_t)(rate * (double)elapsed / 1e9) : emitted + 1024;
    for (; emitted < due; emitted++)
      lttng_ust_tracepoint(bench_ust, event, emitted, (double)emitted * 0.5, strings[emitted & 15]);
    elapsed = now_ns() - start;
  }
  printf("result %lld %lld\n", (long long)emitted, (long long)elapsed);
  fflush(stdout);
}

int main(void) {
  /* 16 distinct strings in turn, as the Node producer does. */
  for (int k = 0; k < 16; k++) {
    for (int j = 0; j < 16; j++) strings[k][j] = "abcdefghijklmnop"[(j + k) % 16];
    strings[k][16] = '\0';
  }
  printf("ready\n");
  fflush(stdout);
  char line[128];
  while (fgets(line, sizeof line, stdin)) {
    double rate, seconds;
    if (sscanf(line, "run %lf %lf", &rate, &seconds) != 2) {
      fprintf(stderr, "unknown command: %s", line);
      return 1;
    }
    emit_for(rate, seconds);
  }
  return 0;
}
