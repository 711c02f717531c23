#!/usr/bin/env python3
"""test_prometheus_rules.py - deploy/prometheus/ checked with promtool (Debian's prometheus).

The PrometheusRule's spec (everything under `spec:`, indented two spaces, as its header asks) is a
plain Prometheus rules file: `promtool check rules` must pass on it and `promtool test rules`
(tests/deploy/prometheus_rules_test.yaml) must see every alert fire on numafit's series, and not
fire where it must not. Every metric an expression names must be one numafit documents, and the
ServiceMonitor must select the exporter's Service by its labels and port name.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from nftest import SRC, check, skip, summary  # noqa: E402

PROM = os.path.join(SRC, "deploy", "prometheus")


def rules_text():
    """The groups of the PrometheusRule as a rules file (the lines under spec:, dedented)."""
    lines = open(os.path.join(PROM, "prometheusrule.yaml")).read().splitlines()
    at = lines.index("spec:")
    body = lines[at + 1:]
    check(all(not l.strip() or l.startswith("  ") for l in body),
          "everything under spec: is indented two spaces")
    return "\n".join(l[2:] for l in body) + "\n"


def main():
    promtool = shutil.which("promtool")
    if promtool is None:
        skip("promtool is not installed (scripts/install-deps.sh installs it)")
        return summary()
    tmp = tempfile.mkdtemp(prefix="nf-prom-rules-")
    try:
        rules = rules_text()
        with open(os.path.join(tmp, "numafit-rules.yaml"), "w") as f:
            f.write(rules)
        shutil.copy(os.path.join(HERE, "prometheus_rules_test.yaml"), tmp)
        p = subprocess.run([promtool, "check", "rules", "numafit-rules.yaml"], cwd=tmp,
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0 and "SUCCESS: 6 rules found" in p.stdout,
              "promtool check rules: %s %s" % (p.stdout.strip(), p.stderr.strip()))
        p = subprocess.run([promtool, "test", "rules", "prometheus_rules_test.yaml"], cwd=tmp,
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, "promtool test rules: %s %s" % (p.stdout.strip(),
                                                               p.stderr.strip()))

        # every series the rules name is documented by the program that publishes it
        docs = (open(os.path.join(SRC, "exporter", "exporter_metrics.h")).read() +
                open(os.path.join(SRC, "extender", "extender_metrics.h")).read())
        names = set(re.findall(r"\b(numafit_[a-z_]+)\b", rules))
        check(len(names) >= 6, "the rules name numafit series: %s" % sorted(names))
        for n in sorted(names):
            base = re.sub(r"_(info|ok)$", "", n)
            check(n in docs or base in docs, "%s is documented in *_metrics.h" % n)
        alerts = re.findall(r"alert: (\w+)", rules)
        for a in ("NumafitExporterDown", "NumafitTopologyStale", "NumafitKubeletStateUnreadable",
                  "NumafitProbeFailures", "NumafitNoRoomForShape"):
            check(a in alerts, "alert %s is shipped" % a)
        tests = open(os.path.join(HERE, "prometheus_rules_test.yaml")).read()
        for a in alerts:
            check("alertname: %s" % a in tests, "alert %s has a promtool test" % a)

        sm = open(os.path.join(PROM, "servicemonitor.yaml")).read()
        svc = open(os.path.join(SRC, "deploy", "kubernetes", "base", "exporter.yaml")).read()
        check("kind: ServiceMonitor" in sm and "app.kubernetes.io/name: numafit-exporter" in sm
              and "- port: http" in sm and "path: /metrics" in sm,
              "ServiceMonitor selects the exporter Service's port http, /metrics")
        check(re.search(r"kind: Service\n.*?name: numafit-exporter.*?- name: http\n\s+port: 9750",
                        svc, re.S) is not None, "the exporter Service has that name and port")
        kust = open(os.path.join(PROM, "kustomization.yaml")).read()
        check("servicemonitor.yaml" in kust and "prometheusrule.yaml" in kust,
              "kustomization lists both objects")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
