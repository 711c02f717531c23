/* clock.h - now, on the two clocks numafit uses.
 *
 * nf_wall_ms: CLOCK_REALTIME, for what is compared with other machines' times (received at,
 * Kubernetes timestamps, ages shown to people). nf_mono_ms / nf_mono_ns: CLOCK_MONOTONIC, for
 * timeouts and durations within this process (never jumps with the wall clock).
 * nf_mono_ts: a point in nf_mono_ms() time as a timespec, the deadline pthread_cond_timedwait
 * takes on a condition variable set to CLOCK_MONOTONIC (pthread_condattr_setclock):
 * nf_mono_ts(nf_mono_ms() + wait_ms).
 */
#ifndef NUMAFIT_CLOCK_H
#define NUMAFIT_CLOCK_H

#include <stdint.h>
#include <time.h>

int64_t nf_wall_ms(void);
int64_t nf_mono_ms(void);
uint64_t nf_mono_ns(void);
struct timespec nf_mono_ts(int64_t at_ms);

#endif
