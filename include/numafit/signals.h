/* signals.h - how a daemon's main takes its stop signals.
 *
 * The servers stop on SIGTERM or SIGINT, taken by one thread with sigwait/sigtimedwait: so the
 * signals are blocked in main before any thread exists (every thread inherits the mask) and
 * never interrupt a worker. SIGPIPE is ignored: a client that hangs up is an error return of
 * write/send, not the end of the process.
 */
#ifndef NUMAFIT_SIGNALS_H
#define NUMAFIT_SIGNALS_H

#include <signal.h>

/* *set = {SIGTERM, SIGINT}, for sigwait/sigtimedwait. */
void nf_stop_signals(sigset_t *set);
/* Blocks the stop signals in the calling thread, ignores SIGPIPE, and fills *set (may be NULL)
 * with the stop signals. 0 or -EINVAL. */
int nf_block_stop_signals(sigset_t *set);

#endif
