#!/usr/bin/env python3
"""test_containerfiles.py - offline checks of deploy/container/Containerfile.* (no container
engine runs here, so no image is built):

- structure: a Debian 12 build stage and a Debian 12 runtime stage, COPY --from=build of the
  binary the build step makes, exec-form ENTRYPOINT, EXPOSE of the program's port, USER
  (non-root for the extender);
- every directory the top-level CMakeLists.txt adds (outside the test option) is copied in;
- the build stage's own command, deploy/container/build.sh, is run here on this Debian 12
  machine with the image's CMake options: the binary builds and runs `--version`;
- the runtime stage installs the Debian package of every library that binary NEEDs;
- every package named exists in Debian 12 (`apt-cache show`; without apt's package lists this
  check cannot run and the test reports skipped, exit 77, after the others).
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nftest  # noqa: E402
from nftest import BUILD, SRC, summary  # noqa: E402
CDIR = os.path.join(SRC, "deploy/container")



def check(name, cond, detail=""):
    return nftest.check(cond, name + (f": {detail}" if detail != "" else ""))


def parse(path):
    """Containerfile -> list of stages: {from, as, instrs: [(KEYWORD, text)]}; ARGs before FROM."""
    text = open(path).read()
    text = re.sub(r"\\\n", " ", text)  # join continuation lines
    args, stages = {}, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kw, _, rest = line.partition(" ")
        kw = kw.upper()
        if kw == "ARG" and not stages:
            k, _, v = rest.partition("=")
            args[k.strip()] = v.strip()
        elif kw == "FROM":
            parts = rest.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), parts[0])
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append({"from": image, "as": name, "instrs": []})
        elif stages:
            stages[-1]["instrs"].append((kw, rest))
    return stages


def apt_packages(stage):
    pkgs = []
    for kw, rest in stage["instrs"]:
        if kw != "RUN":
            continue
        for cmd in re.split(r"&&|;", rest):
            words = shlex.split(cmd)
            if "apt-get" in words and "install" in words:
                pkgs += [w for w in words[words.index("install") + 1:] if not w.startswith("-") and "=" not in w]
    return pkgs


def needed_packages(binary):
    """Debian packages owning the shared libraries `binary` NEEDs directly (DT_NEEDED; apt
    brings their own dependencies), resolved to files by ldd."""
    dyn = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    where = dict(re.findall(r"^\s*(\S+)\s+=>\s*(/\S+)", out, flags=re.M))
    check(f"{os.path.basename(binary)}: has NEEDED libraries", len(needed) > 0)
    pkgs = set()
    for soname in needed:
        if not check(f"{os.path.basename(binary)}: {soname} resolves", soname in where):
            continue
        real = os.path.realpath(where[soname])
        r = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True)
        if r.returncode != 0:  # the merged-/usr alias of the path
            alt = real.replace("/usr/lib/", "/lib/", 1) if real.startswith("/usr/lib/") else "/usr" + real
            r = subprocess.run(["dpkg", "-S", alt], capture_output=True, text=True)
        if check(f"{os.path.basename(binary)}: {real} belongs to a Debian package", r.returncode == 0, r.stderr.strip()):
            pkgs.add(r.stdout.split(":")[0].strip())
    return pkgs


def top_level_subdirs():
    text = open(os.path.join(SRC, "CMakeLists.txt")).read()
    text = re.sub(r"if\(NUMAFIT_TESTS\).*?endif\(\)", "", text, flags=re.S)
    return sorted(set(re.findall(r"add_subdirectory\((\w+)", text)))


IMAGES = {
    # binaries[0] is the ENTRYPOINT; the others ride along (numafit-report beside the extender)
    "Containerfile.exporter": {"binaries": ["numafit-exporter"], "dir": "exporter", "port": "9750", "nonroot": False},
    "Containerfile.extender": {"binaries": ["numafit-extender", "numafit-report"], "dir": "extender", "port": "9751",
                               "nonroot": True},
}
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1"}  # in every Debian image


def main():
    have_apt = subprocess.run(["apt-cache", "show", "--no-all-versions", "libc6"], capture_output=True).returncode == 0
    if not have_apt:
        nftest.skip("apt has no package lists (run apt-get update): package existence not checked")
    subdirs = top_level_subdirs()
    check("top-level CMakeLists.txt adds lib, exporter, extender", {"lib", "exporter", "extender"} <= set(subdirs), subdirs)
    for name, img in IMAGES.items():
        path = os.path.join(CDIR, name)
        if not check(f"{name} exists", os.path.isfile(path)):
            continue
        stages = parse(path)
        if not check(f"{name}: a build stage and a runtime stage", len(stages) == 2 and stages[0]["as"] == "build", stages):
            continue
        build, run = stages
        for s in stages:
            check(f"{name}: stage FROM Debian 12 ({s['from']})", re.search(r"(^|/)debian:(12|bookworm)(-slim)?$", s["from"]) is not None)
        copies = [rest.split() for kw, rest in build["instrs"] if kw == "COPY"]
        copied = {os.path.normpath(c[0]) for c in copies}
        for c in copies:
            check(f"{name}: COPY source {c[0]} exists in the repository", os.path.exists(os.path.join(SRC, c[0])))
        for d in subdirs + ["CMakeLists.txt"]:
            check(f"{name}: the build stage copies {d}", d in copied)
        runs = [rest for kw, rest in build["instrs"] if kw == "RUN"]
        bstep = [r for r in runs if "deploy/container/build.sh" in r]
        if not check(f"{name}: the build stage runs deploy/container/build.sh", len(bstep) == 1):
            continue
        words = shlex.split(bstep[0])
        env = dict(w.split("=", 1) for w in words if re.match(r"^[A-Z_]+=", w))
        rest = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
        i = next(k for k, w in enumerate(rest) if w.endswith("build.sh"))
        src_dir, build_dir, targets = rest[i + 1], rest[i + 2], rest[i + 3:]
        check(f"{name}: build.sh builds {img['binaries']}", targets == img["binaries"], targets)
        cf = [rest.split() for kw, rest in run["instrs"] if kw == "COPY"]
        for b in img["binaries"]:
            want_src = f"{build_dir}/{img['dir']}/{b}"
            check(f"{name}: runtime copies {want_src} from the build stage",
                  any(c[0] == "--from=build" and c[1] == want_src for c in cf), cf)
        ep = [rest for kw, rest in run["instrs"] if kw == "ENTRYPOINT"]
        try:
            epj = json.loads(ep[-1]) if ep else None
        except ValueError:
            epj = None
        dest = [c[2] for c in cf if c[0] == "--from=build"]
        check(f"{name}: exec-form ENTRYPOINT is the copied binary", isinstance(epj, list) and dest and epj[0] == dest[0], ep)
        check(f"{name}: EXPOSE {img['port']}", any(kw == "EXPOSE" and rest.split()[0] == img["port"] for kw, rest in run["instrs"]))
        users = [rest for kw, rest in run["instrs"] if kw == "USER"]
        uid = users[-1].split(":")[0] if users else "0"
        if img["nonroot"]:
            check(f"{name}: runs as a non-root numeric USER", uid.isdigit() and int(uid) > 0, users)
        else:
            check(f"{name}: USER stated explicitly", len(users) == 1, users)
        runtime_pkgs = apt_packages(run)
        build_pkgs = apt_packages(build)
        check(f"{name}: runtime stage installs no -dev package or compiler",
              not [p for p in runtime_pkgs if p.endswith("-dev") or p in ("build-essential", "cmake", "gcc")], runtime_pkgs)
        # Run the build step as the image would, into a build dir of this test.
        out = os.path.join(BUILD, "container-build", img["binaries"][0])
        r = subprocess.run([os.path.join(CDIR, "build.sh"), SRC, out] + targets,
                           env={**os.environ, **env}, capture_output=True, text=True)
        if not check(f"{name}: build.sh builds on this Debian 12 machine", r.returncode == 0, r.stderr[-2000:]):
            continue
        for b in img["binaries"]:
            binary = os.path.join(out, img["dir"], b)
            v = subprocess.run([binary, "--version"], capture_output=True, text=True)
            check(f"{name}: the built {b} runs --version", v.returncode == 0 and v.stdout.strip() != "", v.stderr)
            sym = subprocess.run(["readelf", "-S", binary], capture_output=True, text=True).stdout
            check(f"{name}: {b}: debug info stripped", ".debug_info" not in sym)
            need = needed_packages(binary) - BASE_IMAGE_PACKAGES
            missing = sorted(need - set(runtime_pkgs))
            check(f"{name}: runtime stage installs the package of every library {b} NEEDs", not missing, missing)
        if img["binaries"][0] == "numafit-exporter":
            check(f"{name}: DPDK mempool driver and VF PMDs for the probe",
                  {"librte-mempool-ring23", "librte-bus-pci23", "librte-net-iavf23"} <= set(runtime_pkgs))
        if have_apt:  # one apt-cache call (each costs about a second)
            r = subprocess.run(["apt-cache", "show", "--no-all-versions"] + runtime_pkgs + build_pkgs,
                               capture_output=True, text=True)
            known = set(re.findall(r"^Package: (\S+)", r.stdout, flags=re.M))
            for p in runtime_pkgs + build_pkgs:
                check(f"{name}: package {p} exists in Debian 12", p in known)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
