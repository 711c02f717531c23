/* pod_eal.h - DPDK EAL arguments for what this container holds (`numafit-pod eal-args`).
 *
 *   -l <cpus> --main-lcore <first> -a <VF>... --huge-dir <mount> | --in-memory
 *   --socket-mem <MiB per NUMA node id, the limit on the CPUs' node, 0 elsewhere> --file-prefix <p>
 */
#ifndef NUMAFIT_POD_EAL_H
#define NUMAFIT_POD_EAL_H

#include <stddef.h>

#include "numafit/buf.h"
#include "pod_verdict.h"
#include "pod_view.h"

typedef struct nf_pod_eal {
    char **argv; /* the arguments, in order */
    size_t argc;
    char *lcores; /* -l */
    unsigned main_lcore;
    char *socket_mem; /* NULL when left out */
    int socket_mem_node;
} nf_pod_eal;

int nf_pod_eal_make(const nf_pod_view *v, const nf_pod_verdict *vd, nf_pod_eal *out);
void nf_pod_eal_free(nf_pod_eal *e);
/* One line for a shell: words with characters outside [A-Za-z0-9_./:,=@%+-] single-quoted. */
int nf_pod_eal_line(const nf_pod_eal *e, nf_buf *out);
/* The same as a JSON object, with the verdict (aligned, numaNode, problems, notes). */
int nf_pod_eal_json(const nf_pod_eal *e, const nf_pod_view *v, const nf_pod_verdict *vd,
                    nf_buf *out);

#endif
