/* clock.h - now, on the two clocks numafit uses.
 *
 * nf_wall_ms: CLOCK_REALTIME, for what is compared with other machines' times (received at,
 * Kubernetes timestamps, ages shown to people). nf_mono_ms / nf_mono_ns: CLOCK_MONOTONIC, for
 * timeouts and durations within this process (never jumps with the wall clock).
 * nf_mono_ts: a point in nf_mono_ms() time as a timespec, the deadline pthread_cond_timedwait
 * takes on a condition variable set to CLOCK_MONOTONIC (pthread_condattr_setclock):
 * nf_mono_ts(nf_mono_ms() + wait_ms). nf_mono_cond_init: such a condition variable.
 */
#ifndef NUMAFIT_CLOCK_H
#define NUMAFIT_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

int64_t nf_wall_ms(void);
int64_t nf_mono_ms(void);
uint64_t nf_mono_ns(void);
struct timespec nf_mono_ts(int64_t at_ms);
/* pthread_cond_init on CLOCK_MONOTONIC (its deadlines come from nf_mono_ts); 0 or -errno. */
int nf_mono_cond_init(pthread_cond_t *cv);

#endif
