/* pod_summary.h - the human summary `numafit-pod` prints: CPUs, VFs, hugepages, limits, verdict. */
#ifndef NUMAFIT_POD_SUMMARY_H
#define NUMAFIT_POD_SUMMARY_H

#include <stdio.h>

#include "pod_verdict.h"
#include "pod_view.h"

void nf_pod_summary_print(FILE *f, const nf_pod_roots *r, const nf_pod_view *v,
                          const nf_pod_verdict *vd);

#endif
