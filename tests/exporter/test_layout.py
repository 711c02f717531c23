#!/usr/bin/env python3
"""test_layout.py - the exporter's reader families cannot see each other's headers.

exporter/sysfs, exporter/kubelet and exporter/probe are each a CMake subdirectory with a library
of its own and an include folder of its own (exporter/CMakeLists.txt). This reads the build's
compile_commands.json and checks, for every source of a family, that its include path (-I,
-isystem, -iquote) holds no folder of another family nor the exporter's core (exporter/ itself):
a sysfs reader that included kubelet_view.h would not compile. It also checks that each family's
headers are where the include path looks, so the check is not vacuous.
"""
import json
import os
import shlex
import sys

SRC = os.path.realpath(os.environ["NF_SOURCE_DIR"])
BUILD = os.path.realpath(os.environ["NF_BUILD_DIR"])
EXPORTER = os.path.join(SRC, "exporter")
FAMILIES = ("sysfs", "kubelet", "probe")
# a header each family must reach, and one of every other family it must not
HEADERS = {"sysfs": "sysfs_machine.h", "kubelet": "kubelet_view.h", "probe": "dpdk_probe.h"}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def include_dirs(entry):
    args = entry.get("arguments") or shlex.split(entry["command"])
    dirs = []
    i = 0
    while i < len(args):
        a = args[i]
        for flag in ("-I", "-isystem", "-iquote"):
            if a == flag and i + 1 < len(args):
                dirs.append(args[i + 1])
                i += 1
                break
            if a.startswith(flag) and len(a) > len(flag):
                dirs.append(a[len(flag):])
                break
        i += 1
    return [os.path.realpath(os.path.join(entry.get("directory", BUILD), d)) for d in dirs]


def family_of(path):
    """The family a path (source or include folder) belongs to; "core" for exporter/ itself."""
    for root in (EXPORTER, os.path.join(BUILD, "exporter")):
        if path == root:
            return "core"
        if path.startswith(root + os.sep):
            first = os.path.relpath(path, root).split(os.sep)[0]
            return first if first in FAMILIES else "core"
    return None


def main():
    db = os.path.join(BUILD, "compile_commands.json")
    if not os.path.exists(db):
        print("SKIP: no compile_commands.json in %s (CMAKE_EXPORT_COMPILE_COMMANDS off)" % BUILD)
        return 77
    entries = json.load(open(db))
    seen = {f: 0 for f in FAMILIES}
    for e in entries:
        src = os.path.realpath(os.path.join(e.get("directory", BUILD), e["file"]))
        fam = family_of(src)
        if fam not in FAMILIES:
            continue
        seen[fam] += 1
        dirs = include_dirs(e)
        for d in dirs:
            other = family_of(d)
            if other is not None and other != fam:
                fail("%s (%s) compiles with %s on its include path (%s's)"
                     % (os.path.relpath(src, SRC), fam, d, other))
        # its own public headers are reachable through the include path ...
        own = HEADERS[fam]
        if fam == family_of(os.path.dirname(src)) and not any(
                os.path.exists(os.path.join(d, own)) for d in dirs):
            fail("%s: %s is not on its include path %s" % (os.path.relpath(src, SRC), own, dirs))
        # ... and no other family's is, neither through -I nor beside the source
        for other, h in HEADERS.items():
            if other == fam:
                continue
            for d in dirs + [os.path.dirname(src)]:
                if os.path.exists(os.path.join(d, h)):
                    fail("%s (%s) can include %s from %s" % (os.path.relpath(src, SRC), fam, h, d))
    for fam, n in seen.items():
        if n == 0:
            fail("no source of exporter/%s in %s: the layout changed, update this test" % (fam, db))
    print("exporter layout: %s" % ", ".join("%s %d sources" % (f, n) for f, n in seen.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
