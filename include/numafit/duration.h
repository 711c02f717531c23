/* duration.h - command-line durations: "500ms", "30s", "5m", "24h" (and sums like "1m30s"). */
#ifndef NUMAFIT_DURATION_H
#define NUMAFIT_DURATION_H

#include <stdint.h>

#include "numafit/error.h"

int nf_duration_parse_ms(const char *s, int64_t *out_ms, nf_err *err);

#endif
