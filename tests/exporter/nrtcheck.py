"""nrtcheck.py - what the NodeResourceTopology tests check against, written from the facts (not
from numafit's code): the CRD's openAPIV3Schema (deploy/kubernetes/nrt/crd.yaml) applied by a
small structural validator, Kubernetes quantity strings, and the pfp0v001 pod-set fingerprint
computed with python3-xxhash as tests/realdata/nrt/README.md describes it.

Import this first: without python3-xxhash (Debian's package lives beside Debian's python3, which
a python3 earlier on PATH, pyenv or a venv, does not see) it re-executes the test under
/usr/bin/python3, and exits 77 (skipped) when no interpreter has it.
"""
import os
import re
import sys

try:
    import xxhash
except ImportError:
    if os.path.exists("/usr/bin/python3") and not os.environ.get("NF_NRTCHECK_REEXEC"):
        os.environ["NF_NRTCHECK_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("SKIP: python3-xxhash is not installed (scripts/install-deps.sh installs it)")
    sys.exit(77)
import yaml  # noqa: E402  (python3-yaml: the CRD is YAML)

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("NF_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
CRD = os.path.join(SRC, "deploy", "kubernetes", "nrt", "crd.yaml")
REALDATA = os.environ.get("NF_REALDATA_DIR", os.path.join(SRC, "tests", "realdata"))


def crd():
    with open(CRD) as f:
        return yaml.safe_load(f)


def schema(version="v1alpha2"):
    for v in crd()["spec"]["versions"]:
        if v["name"] == version:
            return v["schema"]["openAPIV3Schema"]
    raise KeyError(version)


# ---- a structural validator for the subset of OpenAPI v3 a CRD schema uses ---------------------
# Stricter than the API server in one way on purpose: a field the schema does not name is an
# error here (the API server would silently prune it, losing what the exporter meant to say).

def validate(sch, v, path="", errs=None):
    errs = [] if errs is None else errs
    if "anyOf" in sch and not sch.get("x-kubernetes-int-or-string"):
        if not any(not validate(alt, v, path) for alt in sch["anyOf"]):
            errs.append("%s: matches no anyOf alternative: %r" % (path, v))
        return errs
    if sch.get("x-kubernetes-int-or-string"):
        if isinstance(v, bool) or not isinstance(v, (int, str)):
            errs.append("%s: expected an integer or a string, got %r" % (path, v))
        elif isinstance(v, str) and "pattern" in sch and not re.search(sch["pattern"], v):
            errs.append("%s: %r does not match %s" % (path, v, sch["pattern"]))
        return errs
    t = sch.get("type")
    if t == "object":
        if not isinstance(v, dict):
            errs.append("%s: expected an object, got %r" % (path, v))
            return errs
        for k in sch.get("required", []):
            if k not in v:
                errs.append("%s: required field %s missing" % (path, k))
        props = sch.get("properties")
        if props is not None:
            for k, val in v.items():
                if k not in props:
                    errs.append("%s: unknown field %s" % (path, k))
                else:
                    validate(props[k], val, path + "." + k, errs)
    elif t == "array":
        if not isinstance(v, list):
            errs.append("%s: expected an array, got %r" % (path, v))
            return errs
        for i, item in enumerate(v):
            validate(sch.get("items", {}), item, "%s[%d]" % (path, i), errs)
    elif t == "string":
        if not isinstance(v, str):
            errs.append("%s: expected a string, got %r" % (path, v))
        elif "pattern" in sch and not re.search(sch["pattern"], v):
            errs.append("%s: %r does not match %s" % (path, v, sch["pattern"]))
    elif t == "integer":
        if isinstance(v, bool) or not isinstance(v, int):
            errs.append("%s: expected an integer, got %r" % (path, v))
        elif sch.get("format") == "int64" and not -(1 << 63) <= v < (1 << 63):
            errs.append("%s: %d is out of int64" % (path, v))
    elif t is not None:
        errs.append("%s: the validator does not know type %s" % (path, t))
    return errs


# ---- quantities -------------------------------------------------------------------------------
BINARY = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}


def quantity(s):
    """The integer value of a quantity as numafit writes them: digits, or digits + a binary
    suffix; ValueError for anything else (fractions, decimal suffixes, exponents, signs)."""
    m = re.fullmatch(r"(0|[1-9][0-9]*)(Ki|Mi|Gi|Ti|Pi|Ei)?", s)
    if not m:
        raise ValueError("not a plain integer quantity: %r" % s)
    return int(m.group(1)) * BINARY.get(m.group(2), 1)


def canonical_bytes(n):
    """The shortest exact binary form of a byte count, as numafit writes memory and hugepages."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        if n and n % BINARY[suffix] == 0:
            return "%d%s" % (n // BINARY[suffix], suffix)
    return str(n)


# ---- the pod-set fingerprint ----------------------------------------------------------------

def fingerprint(pods):
    """pfp0v001 of [(namespace, name)]: each pod once, as tests/realdata/nrt/README.md says."""
    hs = sorted(xxhash.xxh64(name.encode(), seed=xxhash.xxh64(ns.encode(), seed=0).intdigest())
                .intdigest() for ns, name in set(pods))
    h = xxhash.xxh64(seed=0)
    for v in hs:
        h.update(v.to_bytes(8, "little"))
    return "pfp0v001" + h.hexdigest()


def readme_vector():
    """([(namespace, name)], fingerprint) from the vector in tests/realdata/nrt/README.md."""
    with open(os.path.join(REALDATA, "nrt", "README.md")) as f:
        text = f.read()
    m = re.search(r"`([^`]+)`\s*→\s*`(pfp0v001[0-9a-f]{16})`", text)
    pods = [tuple(p.strip().split("/", 1)) for p in m.group(1).split(",")]
    return pods, m.group(2)


def attr(attrs, name):
    for a in attrs or []:
        if a["name"] == name:
            return a["value"]
    return None
