#!/usr/bin/env python3
"""e2e_nrt.py - GET /v1/noderesourcetopology of a REAL exporter on a fake machine, and
`numafit-exporter nrt FILE` on documents made from it.

  - the served object validates against the CRD's schema (deploy/kubernetes/nrt/crd.yaml) and the
    v1alpha2 types: field names, quantity strings, zone names node-<id>, type Node, costs from the
    distance matrix; its numbers are /v1/topology's (same generation and ETag, 304, 405)
  - it follows the document when the generation moves
  - the pod-set fingerprint equals one computed here with python3-xxhash from
    tests/realdata/nrt/README.md (its vector, random pod sets with names on several NUMA nodes,
    non-ASCII names); pods known by UID only (kubelet's checkpoints) or a lost kubelet state
    give no fingerprint and say why
  - unknown numbers (a corrupt cpu_manager_state) are left out of the zones with the reason, never
    published as 0; a document without NUMA nodes has no zones; a bad document is refused
  - the structural validator itself catches the mistakes it is there for
"""
import copy
import json
import os
import random
import subprocess
import sys

import nrtcheck  # first: may re-execute under the python3 that has python3-xxhash

sys.path.insert(0, os.path.join(nrtcheck.SRC, "tests"))
from nftest import (EXPORTER, MachineEnv, check, run_tests, wait_for, write)  # noqa: E402
import kubeletstate  # noqa: E402

NODE = "nrt-w1"
POD_A = "4f1c2d1e-0000-4000-8000-00000000000a"
POD_B = "4f1c2d1e-0000-4000-8000-00000000000b"
SCHEMA = nrtcheck.schema()


def cpu_state(env, entries, default):
    kubeletstate.write_atomic(os.path.join(env.kdir, "cpu_manager_state"),
                              kubeletstate.cpu_manager_state(entries, default))


def get_json(ex, path, headers=None):
    st, h, body = ex.get(path, headers=headers)
    return st, h, json.loads(body) if st == 200 else body


def check_against_document(nrt, doc, what):
    """The object says what the NodeTopology document says, in NRT's words."""
    errs = nrtcheck.validate(SCHEMA, nrt)
    check(not errs, "%s: valid against the CRD schema: %s" % (what, errs[:5]))
    check(nrt["apiVersion"] == "topology.node.k8s.io/v1alpha2" and
          nrt["kind"] == "NodeResourceTopology", "%s: v1alpha2 NodeResourceTopology" % what)
    check(nrt["metadata"] == {"name": doc["node"]},
          "%s: cluster-scoped, named after the node: %r" % (what, nrt["metadata"]))
    ids = [n["id"] for n in doc["numaNodes"]]
    zones = nrt["zones"]
    check([z["name"] for z in zones] == ["node-%d" % i for i in ids],
          "%s: one zone node-<id> per NUMA node: %r" % (what, [z["name"] for z in zones]))
    for z, n in zip(zones, doc["numaNodes"]):
        check(z["type"] == "Node", "%s: %s is of type Node" % (what, z["name"]))
        want = [{"name": "node-%d" % ids[j], "value": d} for j, d in enumerate(n["distances"])]
        check(z.get("costs") == want, "%s: %s costs are the distances %r" % (what, z["name"], z.get("costs")))
        known = {r: v for r, v in n["resources"].items()
                 if None not in (v["capacity"], v["allocatable"], v["available"])}
        got = {r["name"]: r for r in z["resources"]}
        check(set(got) == set(known), "%s: %s resources %s = the known ones %s"
              % (what, z["name"], sorted(got), sorted(known)))
        for name, r in got.items():
            for f in ("capacity", "allocatable", "available"):
                v = known.get(name, {}).get(f)
                try:
                    ok = nrtcheck.quantity(r[f]) == v
                except ValueError as e:
                    ok = False
                    print("   ", e)
                check(ok, "%s: %s %s %s = %r" % (what, z["name"], name, f, v))
                if name == "memory" or name.startswith("hugepages-"):
                    check(r[f] == nrtcheck.canonical_bytes(v),
                          "%s: %s %s %s in its short binary form: %r" % (what, z["name"], name, f, r[f]))
                else:
                    check(r[f] == str(v), "%s: %s %s plain integer %r" % (what, name, f, r[f]))
        unknown = sorted(set(n["resources"]) - set(known))
        om = nrtcheck.attr(z.get("attributes"), "numafit.io/omittedResources")
        if unknown:
            check(om is not None and all(u + ":" in om for u in unknown),
                  "%s: %s says which resources it left out and why: %r" % (what, z["name"], om))
        else:
            check(om is None, "%s: %s leaves nothing out" % (what, z["name"]))
    k = doc["kubelet"]
    attrs = nrt["attributes"]
    check(nrtcheck.attr(attrs, "topologyManagerPolicy") == k["topologyManagerPolicy"] and
          nrtcheck.attr(attrs, "topologyManagerScope") == k["topologyManagerScope"],
          "%s: topologyManager attributes from the kubelet config" % what)


def test_served_object(env):
    cpu_state(env, {POD_A: {"dpdk": "2-5,34-37"}}, "0-1,6-33,38-63")
    ex = env.exporter()
    st, h, doc = get_json(ex, "/v1/topology")
    st2, h2, nrt = get_json(ex, "/v1/noderesourcetopology")
    check(st == 200 and st2 == 200, "both documents served (%d %d)" % (st, st2))
    check(h2.get("Content-Type") == "application/json", "served as JSON")
    check(h2.get("ETag") == h.get("ETag") == '"%d"' % doc["generation"],
          "the same generation as ETag: %r %r" % (h2.get("ETag"), h.get("ETag")))
    check_against_document(nrt, doc, "served")
    check(nrt["topologyPolicies"] == ["SingleNUMANodePodLevel"],
          "NFD's name for single-numa-node + pod: %r" % nrt["topologyPolicies"])
    # the pods come from kubelet's checkpoint files, which name them by UID only
    why = nrtcheck.attr(nrt["attributes"], "numafit.io/podsFingerprintUnavailable")
    check(why is not None and POD_A in why and "namespace/name" in why,
          "a pod known by UID only: no fingerprint, and why: %r" % why)
    check(nrtcheck.attr(nrt["attributes"], "nodeTopologyPodsFingerprint") is None,
          "no made-up fingerprint")

    st, _, _ = ex.get("/v1/noderesourcetopology", headers={"If-None-Match": h2["ETag"]})
    check(st == 304, "If-None-Match with the current generation: 304 (%d)" % st)
    st, hh, _ = ex.get("/v1/noderesourcetopology", method="POST", data=b"{}")
    check(st == 405 and "GET" in hh.get("Allow", ""), "POST: 405 with Allow")
    st, _, body = ex.get("/v1/noderesourcetopologies")
    check(st == 404 and b"/v1/noderesourcetopology" in body, "404 names the path: %r" % body[:120])

    # kubelet hands pod B CPUs of NUMA node 1: the object follows the document
    gen = doc["generation"]
    cpu_state(env, {POD_A: {"dpdk": "2-5,34-37"}, POD_B: {"app": "8-9,40-41"}},
              "0-1,6-7,10-33,38-39,42-63")
    wait_for(lambda: get_json(ex, "/v1/topology?waitForGeneration=%d&timeout=5s" % (gen + 1))[2]
             ["generation"] > gen, 10, "the generation moves")
    st, h, doc2 = get_json(ex, "/v1/topology")
    st, h2, nrt2 = get_json(ex, "/v1/noderesourcetopology")
    check(h2["ETag"] == h["ETag"] != '"%d"' % gen, "the object moved with the document")
    check_against_document(nrt2, doc2, "after pod B")
    before = {r["name"]: r for r in nrt["zones"][1]["resources"]}["cpu"]["available"]
    after = {r["name"]: r for r in nrt2["zones"][1]["resources"]}["cpu"]["available"]
    check(int(after) == int(before) - 4, "node-1 cpu available %s -> %s" % (before, after))


def test_no_pods_fingerprint(env):
    ex = env.exporter()
    st, _, doc = get_json(ex, "/v1/topology")
    st, _, nrt = get_json(ex, "/v1/noderesourcetopology")
    check_against_document(nrt, doc, "no pods")
    check(all(not n["pods"] for n in doc["numaNodes"]), "no pod holds anything")
    fp = nrtcheck.attr(nrt["attributes"], "nodeTopologyPodsFingerprint")
    check(fp == nrtcheck.fingerprint([]), "the empty set's fingerprint: %r" % fp)
    check(nrtcheck.attr(nrt["attributes"], "nodeTopologyPodsFingerprintMethod") ==
          "with-exclusive-resources", "the method is said")


def test_unknown_numbers(env):
    with open(os.path.join(env.kdir, "cpu_manager_state"), "w") as f:
        f.write('{"policyName":"static","defaultCpuSet":"0-')  # never read well: unknown
    ex = env.exporter()
    st, _, doc = get_json(ex, "/v1/topology")
    check(doc["kubelet"]["stateFiles"]["cpuManager"].startswith("error"), "the state is unknown")
    st, _, nrt = get_json(ex, "/v1/noderesourcetopology")
    check_against_document(nrt, doc, "corrupt cpu state")
    for z in nrt["zones"]:
        check("cpu" not in {r["name"] for r in z["resources"]},
              "%s: cpu left out, not published as 0" % z["name"])
    zone0 = nrt["zones"][0]
    om = nrtcheck.attr(zone0.get("attributes"), "numafit.io/omittedResources")
    check(om is not None and om.startswith("cpu: available unknown"), "why: %r" % om)
    why = nrtcheck.attr(nrt["attributes"], "numafit.io/podsFingerprintUnavailable")
    check(why is not None and "cpuManager" in why, "no fingerprint over an unknown pod set: %r" % why)


def nrt_of(env, doc, name="doc.json"):
    path = os.path.join(env.tmp, name)
    write(path, json.dumps(doc))
    p = subprocess.run([EXPORTER, "nrt", path], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def test_converted_documents(env):
    cpu_state(env, {POD_A: {"dpdk": "2-5,34-37"}}, "0-1,6-33,38-63")
    out = subprocess.run([EXPORTER, "--once"] + [a for a in env.exporter_argv()],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    doc = json.loads(out)
    rc, text, err = nrt_of(env, doc)
    check(rc == 0, "nrt FILE converts the --once document: %s" % err)
    served = json.loads(text)
    check_against_document(served, doc, "nrt FILE")

    # names from podresources: pods[] entries with namespace and name (the README vector first)
    vec, want = nrtcheck.readme_vector()
    rng = random.Random(14)
    names = ["dpdk-%d" % i for i in range(40)] + ["télécom-ü-0", "日本-1"]
    cases = [(vec, want)]
    for size in (0, 1, 2, 7, 30):
        pods = [(rng.choice(["telco", "kube-system", "a", "ab"]), rng.choice(names)) for _ in range(size)]
        cases.append((pods, nrtcheck.fingerprint(pods)))
    for i, (pods, fp) in enumerate(cases):
        d = copy.deepcopy(doc)
        for n in d["numaNodes"]:
            n["pods"] = []
        for j, (ns, name) in enumerate(pods):
            # a pod on one NUMA node, every third one also on the next (counted once)
            for k in ([j % len(d["numaNodes"])] + ([(j + 1) % len(d["numaNodes"])] if j % 3 == 0 else [])):
                d["numaNodes"][k]["pods"].append({"namespace": ns, "name": name, "cpus": "",
                                                  "resources": {"cpu": 1}})
        rc, text, err = nrt_of(env, d, "pods-%d.json" % i)
        got = nrtcheck.attr(json.loads(text)["attributes"], "nodeTopologyPodsFingerprint") if rc == 0 else err
        check(got == fp, "fingerprint of %d pods %s: %r, computed here %r"
              % (len(set(pods)), "(README vector)" if i == 0 else "", got, fp))

    # no NUMA nodes: no zones (still a valid object); an unknown policy names no policy
    d = copy.deepcopy(doc)
    d["numaNodes"] = []
    d["sockets"] = []
    d["kubelet"]["topologyManagerPolicy"] = None
    rc, text, err = nrt_of(env, d, "empty.json")
    o = json.loads(text) if rc == 0 else {}
    check(rc == 0 and o.get("zones") == [] and not nrtcheck.validate(SCHEMA, o),
          "no NUMA nodes: zones [] and valid: %s" % err)
    check(o.get("topologyPolicies") == [] and
          nrtcheck.attr(o.get("attributes"), "numafit.io/topologyManagerUnknown"),
          "an unknown policy: no policy name, and said so: %r" % o.get("attributes"))

    # what is not a NodeTopology is refused with where it went wrong
    d = copy.deepcopy(doc)
    d["numaNodes"][0]["resources"]["cpu"]["capacity"] = "16"
    rc, text, err = nrt_of(env, d, "bad.json")
    check(rc == 1 and "capacity" in err and not text, "a bad document: exit 1 naming the field: %r" % err)
    p = subprocess.run([EXPORTER, "nrt"], capture_output=True, text=True)
    check(p.returncode == 2, "nrt without FILE is a usage error")


def test_validator_catches(env):
    """The structural validator fails on the mistakes it is there to catch (so a pass means
    something)."""
    good = {"apiVersion": "topology.node.k8s.io/v1alpha2", "kind": "NodeResourceTopology",
            "metadata": {"name": "w"}, "topologyPolicies": ["None"],
            "attributes": [{"name": "topologyManagerPolicy", "value": "none"}],
            "zones": [{"name": "node-0", "type": "Node", "costs": [{"name": "node-0", "value": 10}],
                       "resources": [{"name": "cpu", "capacity": "4", "allocatable": "4",
                                      "available": "2"}]}]}
    check(not nrtcheck.validate(SCHEMA, good), "a good object passes")
    bad = [
        ("a quantity with a space", lambda o: o["zones"][0]["resources"][0].update(capacity="12 Gi")),
        ("an empty quantity", lambda o: o["zones"][0]["resources"][0].update(available="")),
        ("a null quantity", lambda o: o["zones"][0]["resources"][0].update(available=None)),
        ("available missing", lambda o: o["zones"][0]["resources"][0].pop("available")),
        ("a misspelt field", lambda o: o["zones"][0]["resources"][0].update(availible="1")),
        ("a zone without type", lambda o: o["zones"][0].pop("type")),
        ("a cost as a string", lambda o: o["zones"][0]["costs"][0].update(value="10")),
        ("an attribute value as a number", lambda o: o["attributes"][0].update(value=5)),
        ("zones missing", lambda o: o.pop("zones")),
        ("topologyPolicies not a list", lambda o: o.update(topologyPolicies="None")),
    ]
    for what, mutate in bad:
        o = copy.deepcopy(good)
        mutate(o)
        check(nrtcheck.validate(SCHEMA, o), "the validator catches %s" % what)
    for q, v in (("16", 16), ("0", 0), ("96Gi", 96 << 30), ("1000Mi", 1000 << 20)):
        check(nrtcheck.quantity(q) == v, "quantity %s" % q)
    for q in ("1.5", "1e3", "500m", "-1", "01", "1G"):
        try:
            nrtcheck.quantity(q)
            check(False, "%r is not a quantity numafit writes" % q)
        except ValueError:
            check(True, "")


def test_crd_names(env):
    c = nrtcheck.crd()
    s = c["spec"]
    check(c["apiVersion"] == "apiextensions.k8s.io/v1" and c["kind"] == "CustomResourceDefinition",
          "a v1 CRD")
    check(c["metadata"]["name"] == "noderesourcetopologies.topology.node.k8s.io", "its name")
    check(c["metadata"].get("annotations", {}).get("api-approved.kubernetes.io", "").startswith("https://"),
          "a *.k8s.io group carries api-approved.kubernetes.io (else the API server refuses it)")
    check(s["group"] == "topology.node.k8s.io" and s["scope"] == "Cluster", "group and scope")
    check(s["names"]["plural"] == "noderesourcetopologies" and s["names"]["kind"] == "NodeResourceTopology"
          and "node-res-topo" in s["names"].get("shortNames", []), "names")
    v = [x for x in s["versions"] if x["name"] == "v1alpha2"]
    check(len(v) == 1 and v[0]["served"] and v[0]["storage"], "v1alpha2 served and stored")
    res = SCHEMA["properties"]["zones"]["items"]["properties"]["resources"]["items"]
    check(sorted(res["required"]) == ["allocatable", "available", "capacity", "name"],
          "a resource needs all three amounts")


class Env(MachineEnv):
    def exporter_argv(self):
        from nftest import exporter_args
        return exporter_args(self.root, self.kdir, self.cfg, self.node)


if __name__ == "__main__":
    sys.exit(run_tests([test_crd_names, test_validator_catches, test_served_object,
                        test_no_pods_fingerprint, test_unknown_numbers, test_converted_documents],
                       lambda: Env(NODE, prefix="nf-nrt-")))
