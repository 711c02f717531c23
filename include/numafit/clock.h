/* clock.h - milliseconds now, on the two clocks numafit uses.
 *
 * nf_wall_ms: CLOCK_REALTIME, for what is compared with other machines' times (received at,
 * Kubernetes timestamps, ages shown to people). nf_mono_ms: CLOCK_MONOTONIC, for timeouts and
 * durations within this process (never jumps with the wall clock).
 */
#ifndef NUMAFIT_CLOCK_H
#define NUMAFIT_CLOCK_H

#include <stdint.h>

int64_t nf_wall_ms(void);
int64_t nf_mono_ms(void);

#endif
