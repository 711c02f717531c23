/* test_docs.h - NodeTopology JSON documents for the cache, puller, dir and HTTP tests.
 *
 * nf_test_doc() writes a realistic document: `n_numa` NUMA nodes over two sockets, 24 CPUs per
 * NUMA node (2 threads per core, reserved CPUs on node 0), 1 GiB and 2 MiB hugepages, and one
 * SR-IOV PF with `vfs_per_numa` VFs per NUMA node. `cpu_free` is every NUMA node's free CPUs.
 */
#ifndef NUMAFIT_TESTS_CACHE_TEST_DOCS_H
#define NUMAFIT_TESTS_CACHE_TEST_DOCS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline char *nf_test_doc(const char *node, int n_numa, uint64_t gen, int cpu_free,
                                int vfs_per_numa)
{
    json_t *numa = json_array(), *sockets = json_array();
    json_t *s0 = json_array(), *s1 = json_array();
    for (int i = 0; i < n_numa; i++) {
        int base = i * 12, sib = n_numa * 12 + i * 12; /* 12 cores; siblings after all cores */
        char online[64], reserved[32], allocatable[64], allocated[64], fr[64], pci[32];
        snprintf(online, sizeof(online), "%d-%d,%d-%d", base, base + 11, sib, sib + 11);
        snprintf(reserved, sizeof(reserved), i == 0 ? "%d,%d" : "", base, sib);
        int lo = i == 0 ? 1 : 0; /* first allocatable core */
        snprintf(allocatable, sizeof(allocatable), "%d-%d,%d-%d", base + lo, base + 11, sib + lo,
                 sib + 11);
        int cores_free = cpu_free / 2 > 11 - lo + 1 ? 11 - lo + 1 : cpu_free / 2;
        int first_free = base + 12 - cores_free;
        if (cores_free > 0) {
            snprintf(fr, sizeof(fr), "%d-%d,%d-%d", first_free, base + 11, sib + 12 - cores_free,
                     sib + 11);
        } else {
            fr[0] = 0;
        }
        if (first_free - 1 >= base + lo)
            snprintf(allocated, sizeof(allocated), "%d-%d,%d-%d", base + lo, first_free - 1,
                     sib + lo, sib + 12 - cores_free - 1);
        else
            allocated[0] = 0;
        json_t *dist = json_array();
        for (int j = 0; j < n_numa; j++)
            json_array_append_new(dist, json_integer(i == j ? 10
                                                     : (i / (n_numa / 2 ? n_numa / 2 : 1)) ==
                                                             (j / (n_numa / 2 ? n_numa / 2 : 1))
                                                         ? 11
                                                         : 21));
        json_t *vfs = json_array();
        for (int v = 0; v < vfs_per_numa; v++) {
            snprintf(pci, sizeof(pci), "0000:%02x:%02x.%d", 0x18 + i, 1 + v / 8, v % 8);
            json_array_append_new(vfs, json_pack("{s:s, s:s, s:s, s:s, s:i, s:b, s:n}", "pci", pci,
                                                 "vendor", "8086", "device", "1889", "driver",
                                                 "vfio-pci", "iommuGroup", 100 + v, "allocated",
                                                 v == 0, "podUID"));
        }
        snprintf(pci, sizeof(pci), "0000:%02x:00.0", 0x18 + i);
        json_t *dev = json_pack("[{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:i, s:i}, s:o}]", "resource",
                                "intel.com/intel_sriov_dpdk", "pf", "pci", pci, "netdev", "ens1f0",
                                "vendor", "8086", "device", "1592", "driver", "ice", "totalVfs", 64,
                                "numVfs", vfs_per_numa, "vfs", vfs);
        json_int_t gib = 1073741824;
        json_t *n = json_object();
        json_object_set_new(n, "id", json_integer(i));
        json_object_set_new(n, "socket", json_integer(i < (n_numa + 1) / 2 ? 0 : 1));
        json_object_set_new(n, "distances", dist);
        json_object_set_new(n, "cpus",
                            json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "online", online,
                                      "reserved", reserved, "allocatable", allocatable, "allocated",
                                      allocated, "free", fr, "threadsPerCore", 2, "freeFullCores",
                                      cores_free));
        json_object_set_new(n, "memory",
                            json_pack("{s:I, s:I}", "totalBytes", 96 * gib, "freeBytes", 90 * gib));
        json_t *hp = json_object();
        json_object_set_new(hp, "hugepages-1Gi",
                            json_pack("{s:I, s:i, s:i, s:i}", "pageBytes", gib, "total", 16, "free",
                                      12, "surplus", 0));
        json_object_set_new(hp, "hugepages-2Mi",
                            json_pack("{s:I, s:i, s:i, s:i}", "pageBytes", (json_int_t)2097152,
                                      "total", 0, "free", 0, "surplus", 0));
        json_object_set_new(n, "hugepages", hp);
        json_object_set_new(n, "devices", dev);
        json_t *res = json_object();
        json_object_set_new(res, "cpu",
                            json_pack("{s:i, s:i, s:i}", "capacity", 24, "allocatable",
                                      24 - 2 * (i == 0), "available", cores_free * 2));
        json_object_set_new(res, "memory",
                            json_pack("{s:I, s:I, s:I}", "capacity", 96 * gib, "allocatable",
                                      94 * gib, "available", 90 * gib));
        json_object_set_new(res, "hugepages-1Gi",
                            json_pack("{s:I, s:I, s:I}", "capacity", 16 * gib, "allocatable",
                                      16 * gib, "available", 12 * gib));
        json_object_set_new(res, "intel.com/intel_sriov_dpdk",
                            json_pack("{s:i, s:i, s:i}", "capacity", vfs_per_numa, "allocatable",
                                      vfs_per_numa, "available",
                                      vfs_per_numa ? vfs_per_numa - 1 : 0));
        json_object_set_new(n, "resources", res);
        json_array_append_new(numa, n);
        json_array_append_new(i < (n_numa + 1) / 2 ? s0 : s1, json_integer(i));
    }
    json_array_append_new(sockets, json_pack("{s:i, s:o}", "id", 0, "numaNodes", s0));
    if (json_array_size(s1))
        json_array_append_new(sockets, json_pack("{s:i, s:o}", "id", 1, "numaNodes", s1));
    else
        json_decref(s1);
    char reserved_cpus[32];
    snprintf(reserved_cpus, sizeof(reserved_cpus), "0,%d", n_numa * 12);
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:I, s:s, s:{s:s, s:{s:s}, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}},"
        " s:o, s:o}",
        "apiVersion", "numafit.io/v1", "kind", "NodeTopology", "node", node, "generation",
        (json_int_t)gen, "observedAt", "2026-11-25T14:00:00Z", "kubelet", "cpuManagerPolicy",
        "static", "cpuManagerPolicyOptions", "full-pcpus-only", "true", "topologyManagerPolicy",
        "single-numa-node", "topologyManagerScope", "pod", "memoryManagerPolicy", "None",
        "reservedCpus", reserved_cpus, "stateFiles", "cpuManager", "ok", "memoryManager", "absent",
        "devicePlugins", "ok", "sockets", sockets, "numaNodes", numa);
    if (!doc) {
        fprintf(stderr, "nf_test_doc: json_pack failed\n");
        abort();
    }
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return s;
}

#endif
