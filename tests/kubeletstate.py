"""kubeletstate.py - write kubelet checkpoint files the way kubelet does, for end-to-end tests.

The checksum is FNV-1a-32 of go-spew's dump of kubelet's Go struct (see
tests/realdata/kubelet/FORMATS.md); this is an independent implementation of that rule, so
the exporter's C implementation is checked against it, and files are written by temp + rename.
"""
import base64
import json
import os
import tempfile


def fnv1a32(text):
    h = 0x811C9DC5
    for b in text.encode():
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def write_atomic(path, text):
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def cpu_manager_state(entries, default_cpuset, policy="static"):
    """entries: {podUID: {container: cpulist}} -> V2 checkpoint text with kubelet's checksum."""
    def spew_map(m):
        return "map[" + " ".join(
            "%s:map[%s]" % (uid, " ".join("%s:%s" % (c, m[uid][c]) for c in sorted(m[uid])))
            for uid in sorted(m)) + "]"
    dump = ("(*state.CPUManagerCheckpoint){PolicyName:(string)%s DefaultCPUSet:(string)%s "
            "Entries:(map[string]map[string]string)%s Checksum:(checksum.Checksum)0}"
            % (policy, default_cpuset, spew_map(entries)))
    doc = {"policyName": policy, "defaultCpuSet": default_cpuset}
    if entries:
        doc["entries"] = entries
    doc["checksum"] = fnv1a32(dump)
    return json.dumps(doc, separators=(",", ":"))


def device_checkpoint(entries, registered):
    """entries: [(podUID, container, resource, {numa: [ids]})]; registered: {resource: [ids]}."""
    alloc = bytes([10, 2, 8, 1])
    parts = []
    for uid, cont, res, per_numa in entries:
        ids = " ".join("%s:[%s]" % (n, " ".join(per_numa[n]))
                       for n in sorted(per_numa, key=lambda k: str(k)))
        parts.append("{PodUID:(string)%s ContainerName:(string)%s ResourceName:(string)%s "
                     "DeviceIDs:(checkpoint.DevicesPerNUMA)map[%s] AllocResp:([]uint8)[%s]}"
                     % (uid, cont, res, ids, " ".join(str(b) for b in alloc)))
    reg = " ".join("%s:[%s]" % (r, " ".join(registered[r])) for r in sorted(registered))
    dump = ("(checkpoint.checkpointData){PodDeviceEntries:([]checkpoint.PodDevicesEntry)[%s] "
            "RegisteredDevices:(map[string][]string)map[%s]}" % (" ".join(parts), reg))
    data = {
        "PodDeviceEntries": [
            {"PodUID": uid, "ContainerName": cont, "ResourceName": res,
             "DeviceIDs": {str(n): ids for n, ids in per_numa.items()},
             "AllocResp": base64.b64encode(alloc).decode()}
            for uid, cont, res, per_numa in entries],
        "RegisteredDevices": registered,
    }
    return json.dumps({"Data": data, "Checksum": fnv1a32(dump)}, separators=(",", ":"))
