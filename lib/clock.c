/* clock.c - see clock.h. */
#include "numafit/clock.h"

static int64_t ms_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t nf_wall_ms(void)
{
    return ms_of(CLOCK_REALTIME);
}

int64_t nf_mono_ms(void)
{
    return ms_of(CLOCK_MONOTONIC);
}

uint64_t nf_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct timespec nf_mono_ts(int64_t at_ms)
{
    return (struct timespec){.tv_sec = at_ms / 1000, .tv_nsec = (at_ms % 1000) * 1000000};
}

int nf_mono_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc)
        return -rc;
    if (!(rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)))
        rc = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return -rc;
}
