/* topo_builder.h - small NodeTopology documents for the fit/score/protocol tests, built as JSON
 * and decoded with the real codec (nf_topology_from_json), so tests see what the extender sees. */
#ifndef NUMAFIT_TESTS_TOPO_BUILDER_H
#define NUMAFIT_TESTS_TOPO_BUILDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/topology.h"
#include "numafit/topology_json.h"

#define GI ((int64_t)1 << 30)

/* One NUMA node. Negative *_alloc leaves the resource out; vf_usable < 0 leaves `usable` out. */
typedef struct zspec {
    int id, socket;
    int cpu_alloc, cpu_avail;
    int tpc, ffc;               /* threadsPerCore (0 = leave out), freeFullCores */
    int64_t hp_alloc, hp_avail; /* hugepages-1Gi, in GiB */
    int vf_alloc, vf_avail, vf_usable;
    int64_t mem_alloc, mem_avail; /* GiB */
} zspec;

typedef struct kspec {
    const char *cpu_policy; /* NULL leaves it out */
    const char *scope;
    const char *mm_policy;
    bool fpo;
} kspec;

#define VF "intel.com/sriov"

/* The usual NUMA node of these tests: CPUs, 1Gi hugepages (GiB) and VFs, no memory and no `cpus`
 * block. hp_alloc or vf_alloc < 0 leaves that resource out; vf_usable < 0 leaves `usable` out. */
static inline zspec tb_zone(int id, int socket, int cpu_alloc, int cpu_avail, int64_t hp_alloc,
                            int64_t hp_avail, int vf_alloc, int vf_avail, int vf_usable)
{
    return (zspec){.id = id,
                   .socket = socket,
                   .cpu_alloc = cpu_alloc,
                   .cpu_avail = cpu_avail,
                   .hp_alloc = hp_alloc,
                   .hp_avail = hp_avail,
                   .vf_alloc = vf_alloc,
                   .vf_avail = vf_avail,
                   .vf_usable = vf_usable,
                   .mem_alloc = -1};
}

static inline void tb_res(json_t *res, const char *name, int64_t alloc, int64_t avail,
                          int64_t usable)
{
    if (alloc < 0)
        return;
    json_t *r = json_pack("{s:I, s:I, s:I}", "capacity", (json_int_t)alloc, "allocatable",
                          (json_int_t)alloc, "available", (json_int_t)avail);
    if (usable >= 0)
        json_object_set_new(r, "usable", json_integer(usable));
    json_object_set_new(res, name, r);
}

static inline json_t *tb_doc(const char *node, kspec k, const zspec *z, size_t n)
{
    json_t *kub = json_object();
    if (k.cpu_policy)
        json_object_set_new(kub, "cpuManagerPolicy", json_string(k.cpu_policy));
    if (k.scope)
        json_object_set_new(kub, "topologyManagerScope", json_string(k.scope));
    if (k.mm_policy)
        json_object_set_new(kub, "memoryManagerPolicy", json_string(k.mm_policy));
    if (k.fpo)
        json_object_set_new(kub, "cpuManagerPolicyOptions",
                            json_pack("{s:s}", "full-pcpus-only", "true"));
    json_t *numa = json_array();
    json_t *sockets = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *res = json_object();
        tb_res(res, "cpu", z[i].cpu_alloc, z[i].cpu_avail, -1);
        tb_res(res, "hugepages-1Gi", z[i].hp_alloc < 0 ? -1 : z[i].hp_alloc * GI,
               z[i].hp_avail * GI, -1);
        tb_res(res, VF, z[i].vf_alloc, z[i].vf_avail, z[i].vf_usable);
        tb_res(res, "memory", z[i].mem_alloc < 0 ? -1 : z[i].mem_alloc * GI, z[i].mem_avail * GI,
               -1);
        json_t *nn =
            json_pack("{s:i, s:i, s:o}", "id", z[i].id, "socket", z[i].socket, "resources", res);
        if (z[i].tpc)
            json_object_set_new(
                nn, "cpus",
                json_pack("{s:i, s:i}", "threadsPerCore", z[i].tpc, "freeFullCores", z[i].ffc));
        json_array_append_new(numa, nn);
        json_t *s = NULL;
        for (size_t j = 0; j < json_array_size(sockets); j++)
            if (json_integer_value(json_object_get(json_array_get(sockets, j), "id")) ==
                z[i].socket)
                s = json_array_get(sockets, j);
        if (!s) {
            s = json_pack("{s:i, s:[]}", "id", z[i].socket, "numaNodes");
            json_array_append_new(sockets, s);
        }
        json_array_append_new(json_object_get(s, "numaNodes"), json_integer(z[i].id));
    }
    return json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:o}", "apiVersion", NF_API_VERSION, "kind",
                     NF_KIND, "node", node, "generation", (json_int_t)1, "kubelet", kub, "sockets",
                     sockets, "numaNodes", numa);
}

/* doc decoded (heap; free with tb_free); takes the reference. Aborts the test program on a codec
 * error. */
static inline nf_topology *tb_decode(json_t *doc)
{
    nf_topology *t = calloc(1, sizeof(*t));
    nf_err err = {{0}};
    if (!doc || !t || nf_topology_from_json(doc, t, &err)) {
        fprintf(stderr, "tb_decode: %s\n", err.msg);
        abort();
    }
    json_decref(doc);
    return t;
}

/* A decoded topology (heap; free with tb_free). */
static inline nf_topology *tb_topo(const char *node, kspec k, const zspec *z, size_t n)
{
    return tb_decode(tb_doc(node, k, z, n));
}

static inline void tb_free(nf_topology *t)
{
    nf_topology_free(t);
    free(t);
}

#endif
