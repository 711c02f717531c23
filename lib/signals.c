/* signals.c - see signals.h. */
#include "numafit/signals.h"

#include <errno.h>
#include <pthread.h>

void nf_stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

int nf_block_stop_signals(sigset_t *set)
{
    sigset_t stop;
    nf_stop_signals(&stop);
    if (set)
        *set = stop;
    signal(SIGPIPE, SIG_IGN);
    return pthread_sigmask(SIG_BLOCK, &stop, NULL) ? -EINVAL : 0;
}
