/* Tracepoint provider of the ust benchmark: one event with an int64, a double and a string. */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER bench_ust

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./bench_ust_tp.h"

#if !defined(BENCH_UST_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define BENCH_UST_TP_H

#include <lttng/tracepoint.h>
#include <stdint.h>

LTTNG_UST_TRACEPOINT_EVENT(
  bench_ust, event,
  LTTNG_UST_TP_ARGS(int64_t, a, double, b, const char *, s),
  LTTNG_UST_TP_FIELDS(
    lttng_ust_field_integer(int64_t, a, a)
    lttng_ust_field_float(double, b, b)
    lttng_ust_field_string(s, s)
  )
)

#endif

#include <lttng/tracepoint-event.h>
