"""podview.py - a fake 2-socket machine and the view a container has of it, for numafit-pod.

    m = podview.machine(root)            sysfs + procfs of the machine (tests/fixtures/mkfixture.py)
    args, env = podview.container(root, ...)   the container's procfs/cgroup/downward API files;
                                         args are numafit-pod's --*-root flags, env the device
                                         plugin's variables

The machine ("rr"): 2 sockets x 1 NUMA node, 4 cores x 2 threads each, CPUs enumerated round
robin across the sockets as some BIOSes do: CPU c sits on socket/node (c % 8) % 2, core
(c % 8) // 2, SMT siblings c and c + 8 (node0 0,2,4,6,8,10,12,14; node1 the odd ones), so CPU 0
and CPU 1 of any 2-CPU test machine land on different nodes under `taskset`. Hugepages per
node: 2048kB 512/512/0, 1048576kB 8/8/0 (node1: 8/1/0, one 1 GiB page free). VFs: PF
0000:18:00.0 (ice, numa 0) with vfio-pci VFs 0000:18:01.0-3 (iommu groups 40-43), PF 0000:86:00.0
(ice, numa 1) with vfio-pci VFs 0000:86:01.0-3 (iommu groups 60-63).

The container's procfs holds self/status (CapEff, and Cpus_allowed_list only when `cpus` is
given: otherwise numafit-pod asks sched_getaffinity, so `taskset` decides), self/mountinfo (an
overlay root, /proc, /sys and one hugetlbfs line per mount; mount points are real directories
under root/mnt), self/cgroup, self/limits, meminfo. The cgroup tree is v2 (unified,
hugetlb.<size>.max, memory.max) or v1 (hugetlb/ and memory/ hierarchies, *.limit_in_bytes), under
the pod's kubepods path; podinfo/ holds the downward API files name, uid, annotations.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import mkfixture  # noqa: E402

GIB = 1 << 30
MIB = 1 << 20
CAP_NET_ADMIN, CAP_IPC_LOCK, CAP_SYS_RAWIO = 12, 14, 17
# what Docker/containerd grant by default (CapEff 00000000a80425fb), without IPC_LOCK
DEFAULT_CAPS = 0xA80425FB
POD_NAME, POD_UID = "testpmd-0", "7d0c6f3e-5b8a-4c1e-9f0a-2a4b6c8d0e1f"
CGROUP_PATH = "/kubepods.slice/kubepods-pod7d0c6f3e.slice/cri-containerd-abc123.scope"
RESOURCE_ENV = "PCIDEVICE_INTEL_COM_INTEL_SRIOV_DPDK"


def machine(root):
    m = mkfixture.Machine()
    for c in range(16):
        p = c % 8
        m.add_cpu(c, p % 2, p % 2, p // 2)
    m.add_node(0, 65536000, 40000000, {2048: (512, 512, 0), 1048576: (8, 8, 0)})
    m.add_node(1, 65536000, 40000000, {2048: (512, 512, 0), 1048576: (8, 1, 0)})
    m.distances = [[10, 21], [21, 10]]
    m.add_pf("0000:18:00.0", "ice", "8086", "1592", "ens1f0", 0, "1889", "vfio-pci", 4, 40)
    m.add_pf("0000:86:00.0", "ice", "8086", "1592", "ens5f0", 1, "1889", "vfio-pci", 4, 60)
    mkfixture.write_machine(m, root)
    return m


def _w(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def hugetlb_name(page_bytes):
    if page_bytes >= GIB:
        return "%dGB" % (page_bytes // GIB)
    return "%dMB" % (page_bytes // MIB)


def network_status(bdfs, name="default/sriov-dpdk"):
    """Multus' annotation value for these VFs (the cluster network first, as Multus writes it)."""
    nets = [{"name": "k8s-pod-network", "interface": "eth0", "ips": ["10.244.1.7"],
             "default": True, "dns": {}}]
    for i, bdf in enumerate(bdfs):
        nets.append({"name": name, "interface": "net%d" % (i + 1), "dns": {},
                     "device-info": {"type": "pci", "version": "1.1.0",
                                     "pci": {"pci-address": bdf}}})
    return json.dumps(nets, indent=4)


def go_quote(s):
    """strconv.Quote, as the downward API writes annotation values"""
    out = []
    for ch in s:
        out.append({'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}.get(ch, ch))
    return '"' + "".join(out) + '"'


def container(root, vfs=("0000:18:01.0",), cpus=None, cgroup="v2",
              limits=None, memory=4 * GIB, mounts=((GIB, "rw"),), caps=DEFAULT_CAPS | (1 << CAP_IPC_LOCK),
              memlock="unlimited", pod=(POD_NAME, POD_UID), annotations=None, vf_env=True):
    """Write the container's view under root; returns (numafit-pod args, environment).

    limits: {page bytes: hugetlb limit in bytes or "max"}, default 2 GiB of 1 GiB pages, no 2 MiB
    mounts: (page bytes, "rw"|"ro") per hugetlbfs mount, at root/mnt/hugepages-<size>
    """
    if limits is None:
        limits = {GIB: 2 * GIB, 2 * MIB: 0}
    proc = os.path.join(root, "proc")
    status = "Name:\tdpdk-app\nState:\tR (running)\nPid:\t1\n"
    if cpus is not None:
        status += "Cpus_allowed:\tffff\nCpus_allowed_list:\t%s\n" % cpus
    status += "CapInh:\t0000000000000000\nCapPrm:\t%016x\nCapEff:\t%016x\n" % (caps, caps)
    _w(os.path.join(proc, "self/status"), status)
    lines = ["1581 1402 0:312 / / rw,relatime master:631 - overlay overlay rw,lowerdir=/l",
             "1582 1581 0:315 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw",
             "1590 1581 0:30 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro"]
    paths = []
    for i, (page, mode) in enumerate(mounts):
        mp = os.path.join(root, "mnt", "hugepages-%s" % hugetlb_name(page))
        os.makedirs(mp, exist_ok=True)
        paths.append(mp)
        ps = "%dM" % (page // MIB)
        lines.append("%d 1581 0:%d / %s %s,relatime - hugetlbfs nodev %s,pagesize=%s"
                     % (1600 + i, 400 + i, mp.replace(" ", "\\040"), mode, mode, ps))
    _w(os.path.join(proc, "self/mountinfo"), "\n".join(lines) + "\n")
    if cgroup == "v2":
        _w(os.path.join(proc, "self/cgroup"), "0::%s\n" % CGROUP_PATH)
    else:
        _w(os.path.join(proc, "self/cgroup"),
           "12:hugetlb:%s\n11:memory:%s\n5:cpu,cpuacct:%s\n1:name=systemd:%s\n"
           % ((CGROUP_PATH,) * 4))
    ml = "unlimited" if memlock == "unlimited" else str(memlock)
    _w(os.path.join(proc, "self/limits"),
       "Limit                     Soft Limit           Hard Limit           Units     \n"
       "Max open files            1048576              1048576              files     \n"
       "Max locked memory         %-20s %-20s bytes     \n" % (ml, ml))
    cg = os.path.join(root, "cgroup")
    if cgroup == "v2":
        _w(os.path.join(cg, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids\n")
        d = os.path.join(cg, CGROUP_PATH.lstrip("/"))
        for page, lim in limits.items():
            _w(os.path.join(d, "hugetlb.%s.max" % hugetlb_name(page)), "%s\n" % lim)
        _w(os.path.join(d, "memory.max"), "%s\n" % memory)
    elif cgroup == "v1":
        d = os.path.join(cg, "hugetlb", CGROUP_PATH.lstrip("/"))
        for page, lim in limits.items():
            v = 9223372036854771712 if lim == "max" else lim
            _w(os.path.join(d, "hugetlb.%s.limit_in_bytes" % hugetlb_name(page)), "%d\n" % v)
        _w(os.path.join(cg, "memory", CGROUP_PATH.lstrip("/"), "memory.limit_in_bytes"),
           "%d\n" % memory)
    podinfo = os.path.join(root, "podinfo")
    os.makedirs(podinfo, exist_ok=True)
    if pod:
        _w(os.path.join(podinfo, "name"), pod[0])
        _w(os.path.join(podinfo, "uid"), pod[1])
    if annotations is not None:
        _w(os.path.join(podinfo, "annotations"),
           "".join("%s=%s\n" % (k, go_quote(v)) for k, v in annotations.items()))
    args = ["--sysfs-root", os.path.join(root, "sys"), "--procfs-root", proc,
            "--cgroup-root", cg, "--podinfo-dir", podinfo]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PCIDEVICE_")}
    if vf_env and vfs:
        env[RESOURCE_ENV] = ",".join(vfs)
        env[RESOURCE_ENV + "_INFO"] = json.dumps({vfs[0]: {"generic": {"deviceID": vfs[0]}}})
    return args, env, paths
