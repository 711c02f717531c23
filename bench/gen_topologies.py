#!/usr/bin/env python3
"""Generate the extender benchmark's inputs (stdlib only).

usage: gen_topologies.py OUTDIR [NODES] [VFS_PER_NODE]

Writes into OUTDIR:
  topo/worker-NNNNN.json   NODES NodeTopology documents (numafit.io/v1): 2 sockets x 4 NUMA nodes,
                           12 cores x 2 threads per NUMA node, 1Gi/2Mi hugepages, one ice PF per
                           NUMA node with VFS_PER_NODE/8 probed VFs (default 32 per node), a few
                           pods in kubelet's state; free amounts vary so that most nodes fit the
                           DPDK pod, some fail on current use and some can never hold it.
  pod.json                 the DPDK pod (cpu=4, hugepages-1Gi=4Gi, intel.com/intel_sriov_dpdk=1)
  names.json               ExtenderArgs with every node in NodeNames (nodeCacheCapable: true)
  nodelist.json            ExtenderArgs with a full v1.NodeList of realistic Node objects
Deterministic (fixed seed), so runs compare.
"""
import json
import os
import random
import sys

RES = "intel.com/intel_sriov_dpdk"
GIB = 1 << 30
N_NUMA = 8
CORES = 12  # per NUMA node; 2 threads each


sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from mkfixture import cpulist  # noqa: E402  (CPU ids -> the kernel's list form)


def numa_node(rng, node_idx, i, vfs_per_numa, kind):
    total_cores = N_NUMA * CORES
    cores = list(range(i * CORES, (i + 1) * CORES))
    threads = {c: [c, c + total_cores] for c in cores}
    online = [t for c in cores for t in threads[c]]
    reserved = threads[cores[0]] if i == 0 else []
    alloc = [t for t in online if t not in reserved]
    # cores in use by pods (whole cores): fewer on "fits" nodes, all on "busy" nodes
    usable_cores = [c for c in cores if not (i == 0 and c == cores[0])]
    if kind == "busy":
        used_cores = usable_cores[: len(usable_cores) - rng.randint(0, 1)]
    else:
        used_cores = usable_cores[: rng.randint(0, len(usable_cores) - 3)]
    allocated = [t for c in used_cores for t in threads[c]]
    free = [t for t in alloc if t not in allocated]
    free_full = sum(1 for c in usable_cores if c not in used_cores)
    hp_total = 2 if kind == "small" else 16
    hp_free = hp_total - min(hp_total, 2 * len(used_cores) // 4)
    pci_bus = 0x18 + 0x20 * (i // 4) + (i % 4)
    pf_pci = "0000:%02x:00.0" % pci_bus
    vfs = []
    n_alloc_vf = min(vfs_per_numa, len(used_cores) // 4)
    pods = []
    for v in range(vfs_per_numa):
        allocated_vf = v < n_alloc_vf
        uid = "%08x-%04x-4%03x-8%03x-%012x" % (rng.getrandbits(32), rng.getrandbits(16),
                                               rng.getrandbits(12), rng.getrandbits(12),
                                               rng.getrandbits(48))
        vfs.append({
            "pci": "0000:%02x:%02x.%d" % (pci_bus, 1 + v // 8, v % 8),
            "vendor": "8086", "device": "1889", "driver": "vfio-pci",
            "iommuGroup": 100 + i * 16 + v, "allocated": allocated_vf,
            "podUID": uid if allocated_vf else None,
            "probe": {"status": "ok", "pmd": "net_iavf", "mac": "02:00:%02x:%02x:%02x:%02x" %
                      (node_idx >> 8 & 0xff, node_idx & 0xff, i, v), "link": "up",
                      "maxRxQueues": 16, "checkedAt": "2026-11-25T13:59:58Z"},
        })
        if allocated_vf:
            pcores = used_cores[4 * v:4 * v + 4]
            pods.append({"podUID": uid, "cpus": cpulist([t for c in pcores for t in threads[c]]),
                         "resources": {"cpu": 8, "hugepages-1Gi": 2 * GIB, RES: 1}})
    avail_vf = vfs_per_numa - n_alloc_vf
    return {
        "id": i, "socket": i // 4,
        "distances": [10 if j == i else 11 if j // 4 == i // 4 else 21 for j in range(N_NUMA)],
        "cpus": {"online": cpulist(online), "reserved": cpulist(reserved),
                 "allocatable": cpulist(alloc), "allocated": cpulist(allocated),
                 "free": cpulist(free), "threadsPerCore": 2, "freeFullCores": free_full},
        "memory": {"totalBytes": 96 * GIB, "freeBytes": 80 * GIB + rng.randint(0, 8) * GIB},
        "hugepages": {
            "hugepages-1Gi": {"pageBytes": GIB, "total": hp_total, "free": hp_free, "surplus": 0},
            "hugepages-2Mi": {"pageBytes": 2 << 20, "total": 1024, "free": 1024, "surplus": 0},
        },
        "devices": [{
            "resource": RES,
            "pf": {"pci": pf_pci, "netdev": "ens%df0" % (1 + i), "vendor": "8086",
                   "device": "1592", "driver": "ice", "totalVfs": 64, "numVfs": vfs_per_numa},
            "vfs": vfs,
        }],
        "resources": {
            "cpu": {"capacity": len(online), "allocatable": len(alloc), "available": len(free)},
            "memory": {"capacity": 96 * GIB, "allocatable": 94 * GIB, "available": 80 * GIB},
            "hugepages-1Gi": {"capacity": hp_total * GIB, "allocatable": hp_total * GIB,
                              "available": hp_free * GIB},
            "hugepages-2Mi": {"capacity": 2 * GIB, "allocatable": 2 * GIB, "available": 2 * GIB},
            RES: {"capacity": vfs_per_numa, "allocatable": vfs_per_numa, "available": avail_vf,
                  "usable": avail_vf},
        },
        "pods": pods,
        "kubeletReserved": {"memory": GIB} if i == 0 else {},
    }


def topology(rng, idx, vfs_per_node):
    name = "worker-%05d" % idx
    r = rng.random()
    kind = "fits" if r < 0.7 else "busy" if r < 0.9 else "small"
    per = max(1, vfs_per_node // N_NUMA)
    return name, {
        "apiVersion": "numafit.io/v1", "kind": "NodeTopology", "node": name,
        "generation": rng.randint(1, 500), "observedAt": "2026-11-25T14:00:00Z",
        "kubelet": {
            "cpuManagerPolicy": "static", "cpuManagerPolicyOptions": {"full-pcpus-only": "true"},
            "topologyManagerPolicy": "single-numa-node", "topologyManagerScope": "pod",
            "memoryManagerPolicy": "None", "reservedCpus": cpulist([0, N_NUMA * CORES]),
            "reservedCpusSource": "kubeletConfig",
            "stateFiles": {"cpuManager": "ok", "memoryManager": "absent", "devicePlugins": "ok"},
        },
        "sockets": [{"id": 0, "numaNodes": [0, 1, 2, 3]}, {"id": 1, "numaNodes": [4, 5, 6, 7]}],
        "numaNodes": [numa_node(rng, idx, i, per, kind) for i in range(N_NUMA)],
    }


def node_object(rng, name, idx):
    """A v1.Node as kube-scheduler sends it in a NodeList (a few KB)."""
    ip = "10.%d.%d.%d" % (idx >> 16 & 0xff, idx >> 8 & 0xff, idx & 0xff)
    res = {"cpu": "192", "memory": "792384412Ki", "ephemeral-storage": "937692664Ki",
           "hugepages-1Gi": "128Gi", "hugepages-2Mi": "16Gi", "pods": "250", RES: "32"}
    alloc = dict(res, cpu="190", memory="789238684Ki")
    conds = []
    for t, s, reason in (("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                         ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                         ("PIDPressure", "False", "KubeletHasSufficientPID"),
                         ("Ready", "True", "KubeletReady")):
        conds.append({"type": t, "status": s, "lastHeartbeatTime": "2026-11-25T13:59:41Z",
                      "lastTransitionTime": "2026-10-02T08:11:05Z", "reason": reason,
                      "message": "kubelet is posting ready status" if t == "Ready"
                      else "kubelet has sufficient resources"})
    return {
        "metadata": {
            "name": name, "uid": "%032x" % rng.getrandbits(128),
            "resourceVersion": str(rng.randint(10 ** 6, 10 ** 8)),
            "creationTimestamp": "2026-10-02T08:10:51Z",
            "labels": {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name,
                       "kubernetes.io/os": "linux", "node-role.kubernetes.io/worker": "",
                       "feature.node.kubernetes.io/network-sriov.capable": "true",
                       "feature.node.kubernetes.io/cpu-cpuid.AVX512F": "true",
                       "topology.kubernetes.io/zone": "zone-%d" % (idx % 3),
                       "topology.kubernetes.io/region": "eu-west",
                       "node.kubernetes.io/instance-type": "bm.dpdk.2s8n"},
            "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                            "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                            "numafit.io/exporter": "http://%s:9750" % ip},
        },
        "spec": {"podCIDR": "10.244.%d.0/24" % (idx % 256),
                 "podCIDRs": ["10.244.%d.0/24" % (idx % 256)]},
        "status": {
            "capacity": res, "allocatable": alloc, "conditions": conds,
            "addresses": [{"type": "InternalIP", "address": ip},
                          {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"machineID": "%032x" % rng.getrandbits(128),
                         "systemUUID": "%032x" % rng.getrandbits(128),
                         "bootID": "%032x" % rng.getrandbits(128),
                         "kernelVersion": "6.1.0-27-amd64", "osImage": "Debian GNU/Linux 12",
                         "containerRuntimeVersion": "containerd://1.7.22",
                         "kubeletVersion": "v1.31.2", "kubeProxyVersion": "v1.31.2",
                         "operatingSystem": "linux", "architecture": "amd64"},
            "images": [{"names": ["registry.example.com/dpdk/testpmd@sha256:%064x" %
                                  rng.getrandbits(256), "registry.example.com/dpdk/testpmd:23.11"],
                        "sizeBytes": 412345678}],
        },
    }


POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "dpdk-testpmd-0", "namespace": "dpdk", "uid":
                 "5b0c6d2e-1f7a-4d0c-9a52-1c2b3d4e5f60",
                 "annotations": {"k8s.v1.cni.cncf.io/networks": "sriov-dpdk"}},
    "spec": {
        "containers": [{
            "name": "testpmd", "image": "registry.example.com/dpdk/testpmd:23.11",
            "resources": {
                "requests": {"cpu": "4", "memory": "2Gi", "hugepages-1Gi": "4Gi", RES: "1"},
                "limits": {"cpu": "4", "memory": "2Gi", "hugepages-1Gi": "4Gi", RES: "1"},
            },
        }],
        "schedulerName": "default-scheduler",
    },
    "status": {"phase": "Pending", "qosClass": "Guaranteed"},
}


def main():
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):  # never a directory named like an option
        sys.exit(__doc__.strip())
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    vfs = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    rng = random.Random(20261125)
    os.makedirs(os.path.join(out, "topo"), exist_ok=True)
    names, nodes = [], []
    for k in range(n):
        name, doc = topology(rng, k, vfs)
        with open(os.path.join(out, "topo", name + ".json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))
        names.append(name)
        nodes.append(node_object(rng, name, k))
    with open(os.path.join(out, "pod.json"), "w") as f:
        json.dump(POD, f)
    with open(os.path.join(out, "names.json"), "w") as f:
        json.dump({"Pod": POD, "Nodes": None, "NodeNames": names}, f, separators=(",", ":"))
    with open(os.path.join(out, "nodelist.json"), "w") as f:
        json.dump({"Pod": POD, "Nodes": {"metadata": {"resourceVersion": "123456"},
                                         "items": nodes}, "NodeNames": None},
                  f, separators=(",", ":"))


if __name__ == "__main__":
    main()
