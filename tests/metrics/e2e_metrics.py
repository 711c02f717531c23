#!/usr/bin/env python3
"""e2e_metrics.py - GET /metrics of the real numafit-exporter and numafit-extender.

The exporter runs on the snc2 fixture with kubelet state (pod A holds CPUs 2-5,34-37 and VF
0000:18:01.1 on numa0); a second one (node worker-gone) runs the DPDK probe (--probe on), is
pulled and then stopped, so its node goes stale. The extender pulls both exporters, plus an
unreachable one, and reads a topology dir with two more nodes. Both /metrics bodies must pass
`promtool check metrics` with no duplicate series, carry the numbers of the JSON documents, and
count the /filter decisions by outcome and reason. Last, every PromQL expression of
deploy/grafana/numafit-dashboard.json must name only metrics that the live outputs contain.
"""
import json
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import metricsutil as mu  # noqa: E402
from nftest import GIB, check, free_port, http, summary, wait_for, wait_until  # noqa: E402

POD_FITS = {"metadata": {"name": "dpdk", "namespace": "ran", "uid": "u1"},
            "spec": {"containers": [{"name": "c", "resources": {
                "requests": {"cpu": "4", "memory": "1Gi", "hugepages-1Gi": "2Gi",
                             "intel.com/intel_sriov_dpdk": "1"},
                "limits": {"cpu": "4", "memory": "1Gi", "hugepages-1Gi": "2Gi",
                           "intel.com/intel_sriov_dpdk": "1"}}}]}}
POD_HUGE = json.loads(json.dumps(POD_FITS))
for k in ("requests", "limits"):
    POD_HUGE["spec"]["containers"][0]["resources"][k]["hugepages-1Gi"] = "64Gi"
POD_PLAIN = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c"}]}}


def file_node(name, cpu_available, policy="static"):
    return {"apiVersion": "numafit.io/v1", "kind": "NodeTopology", "node": name, "generation": 3,
            "kubelet": {"cpuManagerPolicy": policy, "topologyManagerPolicy": "single-numa-node",
                        "topologyManagerScope": "pod", "memoryManagerPolicy": "None"},
            "sockets": [{"id": 0, "numaNodes": [0]}],
            "numaNodes": [{"id": 0, "socket": 0,
                           "resources": {
                               "cpu": {"capacity": 8, "allocatable": 8, "available": cpu_available},
                               "hugepages-1Gi": {"capacity": 8 * GIB, "allocatable": 8 * GIB,
                                                 "available": 8 * GIB},
                               "intel.com/intel_sriov_dpdk": {"capacity": 4, "allocatable": 4,
                                                              "available": 4}}}]}


def get_metrics(base, who):
    status, headers, body = http(base + "/metrics")
    text = body.decode()
    check(status == 200, "%s /metrics status %d" % (who, status))
    check(headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
          "%s /metrics content type %r" % (who, headers.get("Content-Type")))
    rc, out = mu.promtool(text)
    check(rc == 0, "%s: promtool check metrics exit %d: %s" % (who, rc, out[:2000]))
    samples, types, problems = mu.parse(text)
    check(not problems, "%s: parse problems %r" % (who, problems[:5]))
    dups = mu.duplicates(samples)
    check(not dups, "%s: duplicate series %r" % (who, dups[:5]))
    return text, samples, types


def test_exporter(ex):
    text, s, types = get_metrics(ex.url(""), "exporter")
    doc = json.loads(http(ex.url("/v1/topology"))[2])
    node = doc["node"]
    V = lambda name, **kw: mu.value(s, name, node=node, **kw)  # noqa: E731
    for n in doc["numaNodes"]:
        nid = str(n["id"])
        res = n["resources"]
        for kind in ("capacity", "allocatable", "available"):
            want = res.get("cpu", {}).get(kind)
            check(V("numafit_numa_cpus_" + kind, numa=nid) == want,
                  "numa%s cpus %s: %r, JSON %r" % (nid, kind, V("numafit_numa_cpus_" + kind,
                                                               numa=nid), want))
            want = res.get("memory", {}).get(kind)
            check(V("numafit_numa_memory_%s_bytes" % kind, numa=nid) == want,
                  "numa%s memory %s" % (nid, kind))
            for rname, r in res.items():
                if rname.startswith("hugepages-"):
                    got = V("numafit_numa_hugepages_%s_bytes" % kind, numa=nid,
                            page_size=rname[10:])
                    check(got == r[kind], "numa%s %s %s: %r vs %r" % (nid, rname, kind, got, r[kind]))
                elif rname not in ("cpu", "memory"):
                    got = V("numafit_numa_devices_" + kind, numa=nid, resource=rname)
                    check(got == r[kind], "numa%s %s %s: %r vs %r" % (nid, rname, kind, got, r[kind]))
        for size, hp in n.get("hugepages", {}).items():
            check(V("numafit_numa_hugepages_free_pages", numa=nid, page_size=size[10:]) == hp["free"],
                  "numa%s %s free pages" % (nid, size))
        vfs = sum(len(g["vfs"]) for g in n.get("devices", []))
        got = sum(v for name, l, v in s if name == "numafit_numa_vfs" and l["numa"] == nid)
        check(got == vfs, "numa%s VFs by probe status sum to %d: %r" % (nid, vfs, got))
    # the numbers the fixture was built for (tests/exporter/e2e_exporter.py)
    check(V("numafit_numa_cpus_available", numa="0") == 6, "numa0: 6 exclusive CPUs free")
    check(V("numafit_numa_hugepages_available_bytes", numa="0", page_size="1Gi") == 12 * GIB,
          "numa0: 12 GiB of 1Gi pages free")
    check(V("numafit_numa_hugepages_capacity_bytes", numa="0", page_size="2Mi") == 1024 * 2 << 20,
          "numa0: 2 GiB of 2Mi pages")
    check(V("numafit_numa_devices_available", numa="0", resource="intel.com/intel_sriov_dpdk") == 3,
          "numa0: 3 dpdk VFs free")
    check(V("numafit_numa_vfs", numa="0", resource="intel.com/intel_sriov_dpdk", allocated="true",
            probe="none") == 1, "numa0: one allocated, never probed VF")
    check(V("numafit_numa_vfs", numa="unknown", resource="intel.com/intel_sriov_dpdk",
            allocated="false", probe="none") == 2, "unplaced PF's 2 VFs under numa=unknown")
    check(V("numafit_numa_devices_usable", numa="0", resource="intel.com/intel_sriov_dpdk") is None,
          "no usable series without the probe")
    check(V("numafit_numa_cpus_available", numa="4") is None, "memory-only numa4 has no CPU series")
    check(V("numafit_numa_node_info", numa="2", socket="1") == 1, "numa2 is on socket 1")
    check(V("numafit_exporter_kubelet_state_ok", source="cpuManager") == 1, "cpuManager state ok")
    check(V("numafit_exporter_kubelet_state_ok", source="memoryManager") == 0, "memoryManager not ok")
    check(V("numafit_exporter_kubelet_state_info", source="memoryManager", status="absent") == 1,
          "memoryManager state info says absent")
    check(V("numafit_kubelet_policy_info", cpu_manager_policy="static",
            topology_manager_policy="single-numa-node", topology_manager_scope="pod") == 1,
          "kubelet policy info")
    check(V("numafit_exporter_topology_generation") == doc["generation"], "generation")
    refreshes = mu.value(s, "numafit_exporter_refreshes_total")
    check(refreshes is not None and refreshes >= 1, "refreshes counted: %r" % refreshes)
    check(mu.value(s, "numafit_exporter_refresh_duration_seconds_count") == refreshes,
          "refresh histogram count = refreshes")
    check(mu.value(s, "numafit_exporter_refresh_duration_seconds_bucket", le="+Inf") == refreshes,
          "refresh histogram +Inf bucket = refreshes")
    check(types.get("numafit_exporter_refresh_duration_seconds") == "histogram", "histogram type")
    check(mu.value(s, "numafit_exporter_build_info", program="numafit-exporter") == 1, "build info")
    return text


def test_probed_exporter(ex):
    """--probe on (the DPDK probe on the fixture's fake VFs: their results depend on the machine,
    so the test checks that the series agree with each other, not what the probe found)."""
    def probed():
        s = mu.parse(http(ex.url("/metrics"))[2].decode())[0]
        return s if any(n == "numafit_numa_devices_usable" for n, _, _ in s) else None
    wait_for(probed, 20, "the first probe results")
    text, s, _ = get_metrics(ex.url(""), "exporter --probe on")
    usable = [(l, v) for n, l, v in s if n == "numafit_numa_devices_usable"]
    check(len(usable) == 3, "usable per resource on numa0, numa1, numa2: %r" % usable)
    for l, v in usable:
        ok = sum(w for n, m, w in s if n == "numafit_numa_vfs" and m["numa"] == l["numa"] and
                 m["resource"] == l["resource"] and m["allocated"] == "false" and m["probe"] == "ok")
        avail = mu.value(s, "numafit_numa_devices_available", node=l["node"], numa=l["numa"],
                         resource=l["resource"])
        check(v == ok and v <= avail, "numa%s %s: usable %r = free VFs probed ok %r <= free %r"
              % (l["numa"], l["resource"], v, ok, avail))
    unprobed = sum(v for n, l, v in s if n == "numafit_numa_vfs" and l["probe"] == "none" and
                   l["allocated"] == "false")
    check(unprobed == 0, "every free VF has a probe result: %r unprobed" % unprobed)
    return text


def filter_(ext, pod, nodes):
    body = json.dumps({"Pod": pod, "NodeNames": nodes}).encode()
    status, _, out = http(ext.url("/filter"), data=body, method="POST")
    check(status == 200, "/filter status %d: %r" % (status, out[:300]))
    return json.loads(out)


def test_extender(ext, ex_url, dead_url):
    # every node known before the decisions are counted
    wait_for(lambda: mu.value(mu.parse(http(ext.url("/metrics"))[2].decode())[0],
                                   "numafit_extender_stale_nodes") == 1, 15,
                  "worker-gone to go stale")
    text0, s0, _ = get_metrics(ext.url(""), "extender (before)")
    F = lambda s, o, r: mu.value(s, "numafit_extender_filter_nodes_total", outcome=o, reason=r)  # noqa
    check(F(s0, "fit", "none") == 0 and F(s0, "failed", "cpu") == 0,
          "filter counters start at 0 (pre-initialised)")
    filters0 = mu.value(s0, "numafit_extender_requests_total", verb="filter", code="200")
    check(filters0 == 0, "no filter request yet: %r" % filters0)

    r = filter_(ext, POD_FITS, ["worker-snc2", "file-busy", "file-nopin", "ghost", "worker-gone"])
    check(r["NodeNames"] == ["worker-snc2"], "only worker-snc2 fits: %r" % r)
    r = filter_(ext, POD_HUGE, ["worker-snc2"])
    check("worker-snc2" in r["FailedAndUnresolvableNodes"], "64Gi of 1Gi pages never fit: %r" % r)
    r = filter_(ext, POD_PLAIN, ["a", "b", "c"])
    check(r["NodeNames"] == ["a", "b", "c"], "a pod needing nothing aligned passes: %r" % r)
    status, _, _ = http(ext.url("/filter"), data=b"{not json", method="POST")
    check(status == 400, "malformed /filter -> 400")

    # a request is counted when libmicrohttpd reports it complete, just after the client has
    # read the answer: wait for the 4th before reading every counter
    wait_until(lambda: mu.value(mu.parse(http(ext.url("/metrics"))[2].decode())[0],
                                "numafit_extender_request_duration_seconds_count",
                                verb="filter") == 4, 5)
    text, s, types = get_metrics(ext.url(""), "extender")
    want = {("fit", "none"): 1, ("failed", "cpu"): 1, ("unresolvable", "policy"): 1,
            ("unresolvable", "missing"): 1, ("unresolvable", "stale"): 1,
            ("failed", "missing"): 0, ("failed", "stale"): 0, ("unresolvable", "hugepages"): 1,
            ("fit", "not_aligned"): 3, ("failed", "device"): 0}
    for (o, reason), n in want.items():
        check(F(s, o, reason) == n, "filter %s/%s = %r, want %d" % (o, reason, F(s, o, reason), n))
    check(mu.value(s, "numafit_extender_requests_total", verb="filter", code="200") == 3,
          "3 filter requests answered 200")
    check(mu.value(s, "numafit_extender_requests_total", verb="filter", code="400") == 1,
          "1 filter request answered 400")
    H = "numafit_extender_request_duration_seconds"
    count = mu.value(s, H + "_count", verb="filter")
    check(count == 4, "filter latency histogram counted 4 requests: %r" % count)
    buckets = sorted(((float(l["le"]), v) for n, l, v in s
                      if n == H + "_bucket" and l["verb"] == "filter"))
    check(buckets and buckets[-1] == (float("inf"), 4), "+Inf bucket = 4: %r" % buckets[-1:])
    check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "buckets are cumulative")
    check(any(le <= 1.0 and v == 4 for le, v in buckets), "every filter answered within 1 s")
    check(types.get(H) == "histogram", "latency is a histogram")
    check(mu.value(s, H + "_count", verb="metrics") >= 1, "the earlier scrapes were counted")

    check(mu.value(s, "numafit_extender_cache_nodes") == 4, "4 nodes cached")
    check(mu.value(s, "numafit_extender_stale_nodes") == 1, "1 stale node")
    check(mu.value(s, "numafit_extender_node_stale", node="worker-gone") == 1, "worker-gone stale")
    check(mu.value(s, "numafit_extender_node_stale", node="worker-snc2") == 0, "worker-snc2 fresh")
    check(mu.value(s, "numafit_extender_node_topology_generation", node="file-busy") == 3,
          "file-busy generation")
    check(mu.value(s, "numafit_extender_exporters") == 3, "3 exporters pulled")
    check(mu.value(s, "numafit_extender_exporters_failing") == 2, "2 failing (dead, gone)")
    check(mu.value(s, "numafit_extender_exporter_up", exporter=ex_url) == 1, "live exporter up")
    check(mu.value(s, "numafit_extender_exporter_up", exporter=dead_url) == 0, "dead exporter down")
    pulls = mu.value(s, "numafit_extender_exporter_pulls_total", exporter=ex_url)
    check(pulls is not None and pulls >= 1, "pulls from the live exporter: %r" % pulls)
    check(mu.value(s, "numafit_extender_exporter_pull_errors_total", exporter=ex_url) == 0,
          "no errors from the live exporter")
    errs = mu.value(s, "numafit_extender_exporter_pull_errors_total", exporter=dead_url)
    check(errs is not None and errs >= 1, "errors from the dead exporter: %r" % errs)
    check(mu.value(s, "numafit_extender_build_info", program="numafit-extender") == 1, "build info")
    return text


# Series the dashboard joins with that neither program exports: kube-state-metrics' node labels
# (the node-pool panels; documented in the panel and the README).
EXTERNAL = {"kube_node_labels"}


def test_dashboard(texts):
    exported = set()
    for t in texts:
        exported |= {name for name, _, _ in mu.parse(t)[0]}
    dash = mu.load_json(mu.DASHBOARD)
    check(isinstance(dash.get("schemaVersion"), int) and dash["schemaVersion"] >= 36,
          "schemaVersion %r" % dash.get("schemaVersion"))
    check(dash.get("uid") and dash.get("title"), "uid and title")
    exprs = mu.dashboard_exprs(dash)
    check(len(exprs) >= 8, "the dashboard has queries: %d" % len(exprs))
    ids = []

    def walk(ps):
        for p in ps or []:
            ids.append(p.get("id"))
            walk(p.get("panels"))
    walk(dash.get("panels"))
    check(len(ids) == len(set(ids)) and None not in ids, "panel ids unique")
    variables = {v.get("name") for v in (dash.get("templating") or {}).get("list") or []}
    check({"pool_label", "pool"} <= variables, "nodes can be grouped by pool: %s" % sorted(variables))
    used = set()
    for where, e in exprs:
        names = mu.promql_metrics(e)
        check(names, "%s: no metric in %r" % (where, e))
        for n in names:
            used.add(n)
            check(n in exported or n in EXTERNAL, "%s: %s is not exported by either program (%r)"
                  % (where, n, e))
    # the tentpoles the issue asks for are on the dashboard
    for n in ("numafit_numa_cpus_available", "numafit_numa_hugepages_available_bytes",
              "numafit_numa_devices_available", "numafit_extender_request_duration_seconds_bucket",
              "numafit_extender_filter_nodes_total", "numafit_extender_stale_nodes",
              "numafit_numa_vfs", "numafit_extender_shape_pods_fit",
              "numafit_extender_shape_pods_stranded"):
        check(n in used, "dashboard shows %s" % n)
    # the extraction itself: a known expression
    check(mu.promql_metrics('histogram_quantile(0.99, sum by (le, verb) (rate('
                            'numafit_extender_request_duration_seconds_bucket{verb=~"$verb"}'
                            '[$__rate_interval])))') ==
          {"numafit_extender_request_duration_seconds_bucket"}, "promql_metrics strips functions")


def main():
    tmp = tempfile.mkdtemp(prefix="nf-e2e-metrics-")
    procs = []
    try:
        root, kdir, cfg = mu.e2e_exporter.setup(tmp)
        ex = mu.start_exporter(root, kdir, cfg)
        procs.append(ex)
        # a probe child that hangs is killed after --probe-timeout: keep the wait short
        gone = mu.start_exporter(root, kdir, cfg, node="worker-gone",
                                 extra=["--probe", "on", "--probe-timeout", "2s"])
        procs.append(gone)
        exporter_text = test_exporter(ex)
        probed_text = test_probed_exporter(gone)

        tdir = os.path.join(tmp, "topologies")
        os.makedirs(tdir)
        for doc in (file_node("file-busy", 2), file_node("file-nopin", 8, policy="none")):
            with open(os.path.join(tdir, doc["node"] + ".json"), "w") as f:
                json.dump(doc, f)
        ex_url = "http://127.0.0.1:%d" % ex.port
        dead_url = "http://127.0.0.1:%d" % free_port()
        ext = mu.start_extender(["--exporter", ex_url, "--exporter", "http://127.0.0.1:%d" % gone.port,
                           "--exporter", dead_url, "--topology-dir", tdir,
                           "--shape", "upf=cpu=4,hugepages-1Gi=2Gi,intel.com/intel_sriov_dpdk=1"])
        procs.append(ext)
        wait_for(lambda: mu.value(mu.parse(http(ext.url("/metrics"))[2].decode())[0],
                                       "numafit_extender_cache_nodes") == 4, 10, "4 cached nodes")
        check(gone.stop() == 0, "second exporter stops cleanly")
        extender_text = test_extender(ext, ex_url, dead_url)
        test_dashboard([exporter_text, probed_text, extender_text])
        check(ext.stop() == 0, "extender: SIGTERM -> exit 0")
        check(ex.stop() == 0, "exporter: SIGTERM -> exit 0")
    finally:
        for p in procs:
            try:
                p.stop()
            except Exception:  # already stopped
                p.proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
