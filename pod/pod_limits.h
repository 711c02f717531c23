/* pod_limits.h - the process limits and capabilities DPDK depends on: RLIMIT_MEMLOCK (self/limits,
 * else getrlimit) and the effective capability set (CapEff of self/status).
 */
#ifndef NUMAFIT_POD_LIMITS_H
#define NUMAFIT_POD_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "numafit/error.h"
#include "pod_roots.h"

/* capability numbers (linux/capability.h) */
#define NF_CAP_NET_ADMIN 12
#define NF_CAP_IPC_LOCK 14
#define NF_CAP_SYS_RAWIO 17

typedef struct nf_pod_limits {
    int64_t memlock;  /* soft limit in bytes; INT64_MAX unlimited; -1 unknown */
    uint64_t cap_eff; /* valid when caps_known */
    bool caps_known;
} nf_pod_limits;

int nf_pod_limits_read(const nf_pod_roots *r, nf_pod_limits *out, nf_err *err);
bool nf_pod_has_cap(const nf_pod_limits *l, int cap);

#endif
