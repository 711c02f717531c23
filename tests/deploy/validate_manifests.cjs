#!/usr/bin/env node
// validate_manifests.cjs MODE - offline validation of deploy/kubernetes.
//
//   objects    every YAML document parses (js-yaml); every kustomize entry point renders
//              (`kubectl kustomize`, client only), and so do the requeue component on top of
//              both variants (temporary kustomizations); every rendered object validates against
//              its Kubernetes schema (npm kubernetes-models: types, required fields, formats;
//              it does not flag unknown fields); and the fields the programs rely on are
//              checked against the programs themselves (`--help`, ports, probe paths,
//              NODE_NAME, read-only host mounts, Service selectors, RBAC, the probe component).
//              The binding extender: one per scheduler (a sidecar of the numafit-scheduler
//              Deployment, replicas 1; a hostNetwork control-plane DaemonSet for the default
//              scheduler), never a Deployment/Service; --listen=127.0.0.1:9751 = the scheduler
//              config's urlPrefix; no probe kubelet could not reach; RBAC exactly ClusterRole
//              numafit-extender-binder (pods get/list/watch, pods/binding create) plus, with
//              ../requeue, numafit-extender-requeue (pods delete), bound to its ServiceAccount.
//              Then the real binaries are started with the manifests' own args (host paths
//              mapped onto a fake sysfs tree, addresses onto 127.0.0.1, the API server a fake
//              one, tests/fakes/fake_apiserver.py): they answer the probe paths and the
//              scheduler's URLs (urlPrefix + filter/prioritize/bind verbs), the Binding is
//              created, a rejected controller-owned pod is deleted with requeue, and every API
//              request the extender made is allowed by the variant's own ClusterRoles.
//   tls        the ../tls and ../tls-scheduler components on both variants: core objects against
//              their schemas, the exporter checks above, and that the pieces fit: every
//              certificate/key/CA/token flag points into a mounted Secret that has that key and
//              that a Certificate (or the documented token Secret) provides; key usages (server
//              certificates without client auth, client certificates with it); the exporters'
//              certificate names the --exporter-dns host and the ServiceMonitor's serverName; the
//              extender's names the scheduler's https urlPrefix host; kube-scheduler's tlsConfig
//              files come from a client certificate's Secret; issuers chain to a CA Certificate;
//              the NetworkPolicy lets in exactly the extender's pods and Prometheus on 9750; the
//              ServiceMonitor scrapes https with the token the exporters read; HTTPS probes.
//   scheduler  KubeSchedulerConfiguration (both variants) checked STRUCTURALLY against the
//              kubescheduler.config.k8s.io/v1 types (field names and types, strict like
//              kube-scheduler's decoder) and kube-scheduler's own validation rules for
//              extenders; it is not a kubernetes-models type, so no schema validator exists.
//
// Env: NF_SOURCE_DIR, NF_BUILD_DIR (node modules in $NF_BUILD_DIR/npm-deploy).
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const http = require('http');
const { spawn, spawnSync } = require('child_process');
const { createRequire } = require('module');

const SRC = process.env.NF_SOURCE_DIR || path.resolve(__dirname, '../..');
const BUILD = process.env.NF_BUILD_DIR || path.join(SRC, 'build');
const K8S = path.join(SRC, 'deploy/kubernetes');
const req = createRequire(path.join(BUILD, 'npm-deploy', 'package.json'));
const yaml = req('js-yaml');
const EXPORTER = path.join(BUILD, 'exporter/numafit-exporter');
const EXTENDER = path.join(BUILD, 'extender/numafit-extender');

let passed = 0, failed = 0;
function check(name, cond, detail) {
  if (cond) {
    passed++;
  } else {
    failed++;
    console.log(`FAIL ${name}${detail !== undefined ? ': ' + detail : ''}`);
  }
  return !!cond;
}
function checkThrows(name, fn) {
  try {
    fn();
    return check(name, true);
  } catch (e) {
    return check(name, false, e.message);
  }
}

// ---- loading ---------------------------------------------------------------------------

function yamlFiles(dir) {
  let out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out = out.concat(yamlFiles(p));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out.sort();
}
function parseAll(text, where) {
  return yaml.loadAll(text).filter((d) => d !== null && d !== undefined);
}
// Entry points and the compositions a user makes with the requeue component (rendered from a
// temporary kustomization; kustomize wants relative paths).
const VARIANTS = [
  { name: '.', dir: '.', second: true, probe: false, requeue: false },
  { name: 'with-probe', dir: 'with-probe', second: true, probe: true, requeue: false },
  { name: 'default-scheduler', dir: 'default-scheduler', second: false, probe: false, requeue: false },
  { name: '.+requeue', second: true, probe: false, requeue: true,
    compose: { resources: ['base'], components: ['second-scheduler', 'requeue', 'images'] } },
  { name: 'default-scheduler+requeue', second: false, probe: false, requeue: true,
    compose: { resources: ['default-scheduler'], components: ['requeue'] } },
  { name: '.+podresources', second: true, probe: false, requeue: false, podres: true,
    compose: { resources: ['base'], components: ['second-scheduler', 'podresources', 'images'] } },
];
function kustomize(dir) {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${r.error || r.stderr}`);
  return parseAll(r.stdout);
}
function render(v) {
  if (!v.compose) return kustomize(path.join(K8S, v.dir));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-kustomize-'));
  try {
    const rel = (p) => path.relative(tmp, path.join(K8S, p));
    fs.writeFileSync(path.join(tmp, 'kustomization.yaml'), JSON.stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization',
      resources: v.compose.resources.map(rel), components: v.compose.components.map(rel) }));
    return kustomize(tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
const find = (objs, kind, name) => objs.find((o) => o.kind === kind && o.metadata && o.metadata.name === name);
const findAll = (objs, kind) => objs.filter((o) => o.kind === kind);

// ---- the programs' own flags -------------------------------------------------------------

// Flags of `bin --help`: name -> true when it takes a value ("--name VALUE" with one space),
// false for a switch ("--name   description").
function helpFlags(bin) {
  const r = spawnSync(bin, ['--help'], { encoding: 'utf8' });
  const text = (r.stdout || '') + (r.stderr || '');
  const flags = new Map();
  for (const m of text.matchAll(/--([a-z][a-z0-9-]*)( \S)?/g)) flags.set(m[1], flags.get(m[1]) || !!m[2]);
  return flags;
}
function argFlag(a) {
  const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(a);
  return m ? { name: m[1], value: m[2] } : null;
}
function argValue(args, name) {
  for (const a of args) {
    const f = argFlag(a);
    if (f && f.name === name) return f.value;
  }
  return undefined;
}
function checkFlags(what, container, flags) {
  for (const a of container.args || []) {
    const f = argFlag(a);
    if (!check(`${what}: ${a} is a flag of the program (--help)`, f && flags.has(f.name))) continue;
    if (flags.get(f.name)) check(`${what}: arg ${a} is --flag=value`, f.value !== undefined);
    else check(`${what}: switch ${a} has no value`, f.value === undefined);
  }
  for (const e of container.env || []) {
    if (!e.name.startsWith('NUMAFIT_')) continue;
    const flag = e.name.slice(8).toLowerCase().replace(/_/g, '-');
    check(`${what}: env ${e.name} maps to a flag (--${flag})`, flags.has(flag));
  }
}

// ---- schema validation with kubernetes-models ----------------------------------------------

function modelClass(obj) {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const mod = req(group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`);
  return mod[obj.kind];
}
function validateObjects(entry, objs) {
  for (const o of objs) {
    const id = `${entry}: ${o.kind}/${o.metadata && o.metadata.name}`;
    let Cls;
    try {
      Cls = modelClass(o);
    } catch (e) {
      check(`${id}: kubernetes-models knows ${o.apiVersion}`, false, e.message);
      continue;
    }
    if (!check(`${id}: kubernetes-models has kind ${o.kind}`, typeof Cls === 'function')) continue;
    checkThrows(`${id} validates against its schema`, () => new Cls(o).validate());
  }
}

// ---- field checks -------------------------------------------------------------------------

function portOf(container, ref) {
  if (typeof ref === 'number') return ref;
  const p = (container.ports || []).find((x) => x.name === ref);
  return p ? p.containerPort : undefined;
}
function selectorMatches(selector, labels) {
  return Object.entries(selector || {}).every(([k, v]) => labels && labels[k] === v);
}
function isGuaranteedIntegerCpu(c) {
  const r = c.resources || {};
  const rq = (r.requests || {}).cpu, lim = (r.limits || {}).cpu;
  const eq = rq === undefined ? lim : rq;
  return lim !== undefined && String(eq) === String(lim) && /^\d+$/.test(String(lim));
}

function checkExporter(entry, objs, flags, probe, podres = false) {
  const ds = find(objs, 'DaemonSet', 'numafit-exporter');
  if (!check(`${entry}: DaemonSet numafit-exporter exists`, ds)) return;
  const spec = ds.spec.template.spec;
  const c = spec.containers[0];
  const args = c.args || [];
  const w = `${entry}: exporter`;
  checkFlags(w, c, flags);
  const nodeName = (c.env || []).find((e) => e.name === 'NODE_NAME');
  check(`${w}: NODE_NAME from the downward API spec.nodeName`,
    nodeName && nodeName.valueFrom && nodeName.valueFrom.fieldRef &&
    nodeName.valueFrom.fieldRef.fieldPath === 'spec.nodeName');
  const listen = argValue(args, 'listen') || '0.0.0.0:9750';
  check(`${w}: --listen on port 9750 of every address`, listen === '0.0.0.0:9750', listen);
  check(`${w}: containerPort 9750 named http`, portOf(c, 'http') === 9750);
  check(`${w}: liveness GET /healthz on 9750`, c.livenessProbe && c.livenessProbe.httpGet.path === '/healthz' &&
    portOf(c, c.livenessProbe.httpGet.port) === 9750);
  check(`${w}: readiness GET /readyz on 9750`, c.readinessProbe && c.readinessProbe.httpGet.path === '/readyz' &&
    portOf(c, c.readinessProbe.httpGet.port) === 9750);

  // host mounts
  const vols = Object.fromEntries((spec.volumes || []).map((v) => [v.name, v]));
  const mounts = c.volumeMounts || [];
  const hostMount = (hostPath) => mounts.find((m) => vols[m.name] && vols[m.name].hostPath && vols[m.name].hostPath.path === hostPath);
  for (const m of mounts) {
    const v = vols[m.name];
    check(`${w}: volumeMount ${m.name} has a volume`, v);
    if (v && v.hostPath && v.hostPath.path !== '/dev/vfio')
      check(`${w}: hostPath ${v.hostPath.path} mounted read-only`, m.readOnly === true);
  }
  const sysfs = argValue(args, 'sysfs-root'), procfs = argValue(args, 'procfs-root');
  const sysM = hostMount('/sys'), procM = hostMount('/proc'), kubeM = hostMount('/var/lib/kubelet');
  check(`${w}: --sysfs-root is the mount of host /sys`, sysM && sysM.mountPath === sysfs, sysfs);
  check(`${w}: --procfs-root is the mount of host /proc`, procM && procM.mountPath === procfs, procfs);
  check(`${w}: --sysfs-root and --procfs-root are <root>/sys and <root>/proc of one root`,
    sysfs && procfs && path.basename(sysfs) === 'sys' && path.basename(procfs) === 'proc' &&
    path.dirname(sysfs) === path.dirname(procfs));
  const kdir = argValue(args, 'kubelet-dir'), kcfg = argValue(args, 'kubelet-config');
  if (!podres) {
    check(`${w}: --kubelet-dir is the mount of host /var/lib/kubelet`, kubeM && kubeM.mountPath === kdir, kdir);
    check(`${w}: --kubelet-config is kubelet's config.yaml inside that mount`, kcfg === `${kdir}/config.yaml`, kcfg);
  } else {
    // podresources: only kubelet's socket directory and its config file, never the whole dir
    const sockM = hostMount('/var/lib/kubelet/pod-resources'), cfgM = hostMount('/var/lib/kubelet/config.yaml');
    const sock = argValue(args, 'podresources-socket');
    check(`${w}: the whole kubelet dir is not mounted`, !kubeM);
    check(`${w}: --podresources-socket is kubelet.sock in the mount of the host's pod-resources directory`,
      sockM && vols[sockM.name].hostPath.type === 'Directory' && sock === `${sockM.mountPath}/kubelet.sock`, sock);
    check(`${w}: --kubelet-config is the mount of the host's config.yaml (a file)`,
      cfgM && vols[cfgM.name].hostPath.type === 'File' && cfgM.mountPath === kcfg, kcfg);
  }
  const sriov = argValue(args, 'sriov-config');
  const sriovM = mounts.find((m) => sriov && sriov.startsWith(m.mountPath + '/'));
  const sriovV = sriovM && vols[sriovM.name];
  check(`${w}: --sriov-config is key config.json of ConfigMap sriovdp-config (optional)`,
    sriovV && sriovV.configMap && sriovV.configMap.name === 'sriovdp-config' && sriovV.configMap.optional === true &&
    path.basename(sriov) === 'config.json');

  // privilege
  const psc = spec.securityContext || {}, sc = c.securityContext || {};
  check(`${w}: no hostNetwork/hostPID/hostIPC`, !spec.hostNetwork && !spec.hostPID && !spec.hostIPC);
  check(`${w}: uid 0 (kubelet's 0600 checkpoints), not a user namespace`,
    psc.runAsUser === 0 && psc.runAsNonRoot !== true && spec.hostUsers !== false);
  check(`${w}: seccomp RuntimeDefault`, psc.seccompProfile && psc.seccompProfile.type === 'RuntimeDefault');
  check(`${w}: read-only root filesystem`, sc.readOnlyRootFilesystem === true);
  check(`${w}: no API token`, spec.automountServiceAccountToken === false);
  check(`${w}: tolerates every taint (runs on every node)`, (spec.tolerations || []).some((t) => t.operator === 'Exists' && !t.key));
  check(`${w}: Burstable (never takes exclusive CPUs)`, !isGuaranteedIntegerCpu(c));
  check(`${w}: memory limit set`, c.resources && c.resources.limits && c.resources.limits.memory);
  const hasProbe = args.includes('--probe=on');
  check(`${w}: --probe=on ${probe ? 'in' : 'not in'} this variant`, hasProbe === probe);
  const privsep = argValue(args, 'privsep-user');
  const [puid, pgid] = (privsep || '').split(':').map(Number);
  check(`${w}: the HTTP process runs apart, as a non-root user and group (--privsep-user)`,
    puid > 0 && pgid > 0, privsep);
  if (!probe) {
    check(`${w}: drops ALL capabilities but SETGID/SETUID (for --privsep-user), no escalation, not privileged`,
      sc.capabilities && JSON.stringify(sc.capabilities.drop) === '["ALL"]' &&
      JSON.stringify([...(sc.capabilities.add || [])].sort()) === '["SETGID","SETUID"]' &&
      sc.allowPrivilegeEscalation === false && sc.privileged !== true);
    check(`${w}: no /dev/vfio, no hugepages`, !hostMount('/dev/vfio') &&
      !Object.keys((c.resources || {}).requests || {}).some((k) => k.startsWith('hugepages-')));
  } else {
    check(`${w}: probe is privileged (device cgroup for free VFs)`, sc.privileged === true && sc.allowPrivilegeEscalation !== false);
    check(`${w}: probe mounts host /dev/vfio`, hostMount('/dev/vfio'));
    const rq = (c.resources.requests || {}), lim = (c.resources.limits || {});
    const huge = Object.keys(lim).filter((k) => k.startsWith('hugepages-'));
    check(`${w}: probe requests hugepages (requests == limits)`, huge.length > 0 && huge.every((k) => rq[k] === lim[k]));
    const hv = (spec.volumes || []).find((v) => v.emptyDir && /^HugePages/.test(v.emptyDir.medium || ''));
    check(`${w}: hugepages emptyDir medium matches the requested size`,
      hv && huge.some((k) => hv.emptyDir.medium === 'HugePages-' + k.slice('hugepages-'.length)));
    check(`${w}: probe has a writable /run/dpdk`, mounts.some((m) => m.mountPath === '/run/dpdk' && !m.readOnly));
  }
  const ann = ds.spec.template.metadata.annotations || {};
  check(`${w}: prometheus scrape annotations name the port`, ann['prometheus.io/scrape'] === 'true' && ann['prometheus.io/port'] === '9750');

  // headless Service
  const svc = find(objs, 'Service', 'numafit-exporter');
  if (check(`${entry}: headless Service numafit-exporter exists`, svc)) {
    check(`${entry}: exporter Service is headless`, svc.spec.clusterIP === 'None');
    check(`${entry}: exporter Service selector matches the DaemonSet's pod labels`,
      Object.keys(svc.spec.selector || {}).length > 0 && selectorMatches(svc.spec.selector, ds.spec.template.metadata.labels));
    const sp = svc.spec.ports[0];
    check(`${entry}: exporter Service port 9750 -> the container's 9750`, sp.port === 9750 && portOf(c, sp.targetPort) === 9750);
    check(`${entry}: exporter Service in namespace numafit`, svc.metadata.namespace === 'numafit' && ds.metadata.namespace === 'numafit');
  }
  return ds;
}

// ---- RBAC ---------------------------------------------------------------------------------

const EXTENDER_LISTEN = '127.0.0.1:9751';
const BINDER_ROLE = 'numafit-extender-binder';
const REQUEUE_ROLE = 'numafit-extender-requeue';
const BINDER_RULES = ['|pods|get', '|pods|list', '|pods|watch', '|pods/binding|create'];
const REQUEUE_RULES = ['|pods|delete'];

// A role's rules as "group|resource|verb" strings; null when a rule is not a plain
// resource rule (resourceNames, nonResourceURLs, wildcards), which the extender never needs.
function ruleSet(role) {
  if (!role || role.aggregationRule) return null;
  const out = new Set();
  for (const r of role.rules || []) {
    if (r.resourceNames || r.nonResourceURLs) return null;
    for (const g of r.apiGroups || []) for (const res of r.resources || []) for (const v of r.verbs || []) {
      if (g === '*' || res === '*' || v === '*') return null;
      out.add(`${g}|${res}|${v}`);
    }
  }
  return out;
}
const sameSet = (set, list) => set !== null && set.size === list.length && list.every((x) => set.has(x));
// Bindings (ClusterRoleBinding/RoleBinding) in the rendering whose subjects include the SA.
function bindingsOf(objs, sa, ns) {
  return objs.filter((o) => /^(Cluster)?RoleBinding$/.test(o.kind) && (o.subjects || []).some((s) =>
    s.kind === 'ServiceAccount' && s.name === sa && s.namespace === ns));
}
// The rules of the numafit-extender-* ClusterRoles of the rendering bound to the SA.
function extenderRules(objs, sa, ns) {
  const out = new Set();
  for (const b of bindingsOf(objs, sa, ns)) {
    if (b.kind !== 'ClusterRoleBinding' || b.roleRef.kind !== 'ClusterRole' || !/^numafit-extender-/.test(b.roleRef.name)) continue;
    for (const x of ruleSet(find(objs, 'ClusterRole', b.roleRef.name)) || []) out.add(x);
  }
  return out;
}
// "group|resource|verb" of an API request (the fake serves the core pod API only).
function rbacOfRequest(r) {
  const m = /^\/api\/v1(?:\/namespaces\/[^/]+)?\/pods(?:\/([^/]+)(?:\/([^/]+))?)?$/.exec(r.path);
  if (!m) return `nonResourceURL ${r.path}`;
  const resource = m[2] ? `pods/${m[2]}` : 'pods';
  const watch = ((r.query || {}).watch || [])[0];
  const verb = { GET: m[1] ? 'get' : (watch === 'true' || watch === '1' ? 'watch' : 'list'), POST: 'create',
    PUT: 'update', PATCH: 'patch', DELETE: m[1] ? 'delete' : 'deletecollection' }[r.method] || r.method;
  return `|${resource}|${verb}`;
}

// ---- the binding extender -------------------------------------------------------------------

// The extender's pod spec and container in this variant: the sidecar named "extender" of the
// numafit-scheduler Deployment, or the container of the numafit-extender DaemonSet.
function extenderOf(v, objs) {
  const w = v.second ? find(objs, 'Deployment', 'numafit-scheduler') : find(objs, 'DaemonSet', 'numafit-extender');
  const spec = w && w.spec.template.spec;
  const c = spec && spec.containers.find((x) => x.name === 'extender');
  return c ? { w, spec, c } : null;
}
function isExtenderImage(c) {
  return /\/numafit-extender(:|@|$)/.test(c.image || '');
}

function checkExtender(v, objs, flags) {
  const e = v.name, w = `${e}: extender`;
  check(`${e}: no extender Deployment/Service/PodDisruptionBudget (a binding extender is never replicated behind a Service)`,
    !find(objs, 'Deployment', 'numafit-extender') && !find(objs, 'Service', 'numafit-extender') &&
    !find(objs, 'PodDisruptionBudget', 'numafit-extender'));
  const x = extenderOf(v, objs);
  if (!check(`${w}: container "extender" in the ${v.second ? 'numafit-scheduler Deployment' : 'numafit-extender DaemonSet'}`, x)) return null;
  const { w: wl, spec, c } = x;
  const workloads = objs.filter((o) => o.spec && o.spec.template && o.spec.template.spec &&
    o.spec.template.spec.containers.some(isExtenderImage));
  check(`${w}: exactly one workload runs the extender image, in one container`, workloads.length === 1 &&
    workloads[0] === wl && spec.containers.filter(isExtenderImage).length === 1 && isExtenderImage(c));
  const labels = wl.spec.template.metadata.labels;
  const svcs = findAll(objs, 'Service').filter((s) => s.spec.selector && Object.keys(s.spec.selector).length &&
    selectorMatches(s.spec.selector, labels));
  check(`${w}: no Service selects the extender's pods`, svcs.length === 0, svcs.map((s) => s.metadata.name).join(','));
  const args = c.args || [];
  checkFlags(w, c, flags);
  check(`${w}: --listen=${EXTENDER_LISTEN} (loopback only)`, argValue(args, 'listen') === EXTENDER_LISTEN, argValue(args, 'listen'));
  const esvc = find(objs, 'Service', 'numafit-exporter');
  const dns = argValue(args, 'exporter-dns');
  check(`${w}: --exporter-dns is the headless exporter Service FQDN:9750`,
    esvc && dns === `${esvc.metadata.name}.${esvc.metadata.namespace}.svc.cluster.local:9750`, dns);
  const ttl = argValue(args, 'reservation-ttl');
  check(`${w}: --reservation-ttl=2m`, ttl === '2m', ttl);
  check(`${w}: no --kubeconfig (in-cluster config from the ServiceAccount)`, argValue(args, 'kubeconfig') === undefined &&
    !args.includes('--kubeconfig'));
  check(`${w}: --requeue-rejected-pods ${v.requeue ? 'in' : 'not in'} this variant`, args.includes('--requeue-rejected-pods') === v.requeue);
  check(`${w}: no containerPort (nothing listens on the pod IP)`, !(c.ports || []).length);
  const ann = wl.spec.template.metadata.annotations || {};
  check(`${w}: no Prometheus scrape of the loopback port`, ann['prometheus.io/port'] !== '9751');

  // hardening, as the extender Deployment had it
  const psc = spec.securityContext || {}, sc = c.securityContext || {}, res = c.resources || {};
  check(`${w}: non-root, read-only /, no capabilities, no escalation, not privileged`, psc.runAsNonRoot === true &&
    psc.runAsUser > 0 && sc.readOnlyRootFilesystem === true && sc.allowPrivilegeEscalation === false &&
    sc.privileged !== true && sc.capabilities && JSON.stringify(sc.capabilities.drop) === '["ALL"]' && !sc.capabilities.add);
  check(`${w}: seccomp RuntimeDefault`, psc.seccompProfile && psc.seccompProfile.type === 'RuntimeDefault');
  check(`${w}: cpu/memory requests and a memory limit`, res.requests && res.requests.cpu && res.requests.memory &&
    res.limits && res.limits.memory);
  check(`${w}: not Guaranteed with integer CPUs (never takes exclusive CPUs)`, !isGuaranteedIntegerCpu(c));

  // network namespace and probes
  const probes = ['livenessProbe', 'readinessProbe', 'startupProbe'].filter((p) => c[p]);
  for (const p of probes) {
    const pr = c[p], net = pr.httpGet || pr.tcpSocket || pr.grpc;
    check(`${w}: ${p} reaches the loopback listener (hostNetwork + host 127.0.0.1 + port 9751)`, !net ||
      (spec.hostNetwork === true && net.host === '127.0.0.1' && Number(net.port) === 9751 && !pr.grpc));
    check(`${w}: ${p} is not an exec probe (the image has no HTTP client)`, !pr.exec);
  }
  if (v.second) {
    check(`${w}: shares the scheduler pod's network namespace, not the host's`, spec.hostNetwork !== true);
    check(`${w}: sidecar has no probe (kubelet probes the pod IP; nothing listens there)`, probes.length === 0, probes.join(','));
    check(`${w}: beside kube-scheduler in the same pod`, spec.containers.some((k) => k.name === 'kube-scheduler'));
  } else {
    check(`${w}: hostNetwork with dnsPolicy ClusterFirstWithHostNet`, spec.hostNetwork === true &&
      spec.dnsPolicy === 'ClusterFirstWithHostNet');
    check(`${w}: liveness /healthz and readiness /readyz on 127.0.0.1:9751`,
      c.livenessProbe && c.livenessProbe.httpGet && c.livenessProbe.httpGet.path === '/healthz' &&
      c.readinessProbe && c.readinessProbe.httpGet && c.readinessProbe.httpGet.path === '/readyz');
    check(`${w}: only on control-plane nodes`, spec.nodeSelector && spec.nodeSelector['node-role.kubernetes.io/control-plane'] === '' &&
      Object.keys(spec.nodeSelector).length === 1);
    const tol = spec.tolerations || [];
    check(`${w}: tolerates the control-plane taint, nothing broader`,
      tol.some((t) => t.key === 'node-role.kubernetes.io/control-plane' && t.operator === 'Exists' && t.effect === 'NoSchedule') &&
      tol.every((t) => t.key));
  }

  // API access and RBAC
  const sa = spec.serviceAccountName, ns = wl.metadata.namespace;
  const saObj = find(objs, 'ServiceAccount', sa);
  check(`${w}: ServiceAccount ${sa} exists and its token is mounted (in-cluster config)`, saObj &&
    saObj.automountServiceAccountToken !== false && spec.automountServiceAccountToken !== false);
  const binder = find(objs, 'ClusterRole', BINDER_ROLE);
  check(`${e}: ClusterRole ${BINDER_ROLE} grants exactly pods get/list/watch + pods/binding create`,
    binder && sameSet(ruleSet(binder), BINDER_RULES), binder && JSON.stringify(binder.rules));
  const requeue = find(objs, 'ClusterRole', REQUEUE_ROLE);
  if (v.requeue)
    check(`${e}: ClusterRole ${REQUEUE_ROLE} grants exactly pods delete`, requeue && sameSet(ruleSet(requeue), REQUEUE_RULES),
      requeue && JSON.stringify(requeue.rules));
  else check(`${e}: no ${REQUEUE_ROLE} without the requeue component`, !requeue);
  const bound = bindingsOf(objs, sa, ns);
  const boundTo = (role) => bound.some((b) => b.kind === 'ClusterRoleBinding' && b.roleRef.kind === 'ClusterRole' &&
    b.roleRef.name === role && b.roleRef.apiGroup === 'rbac.authorization.k8s.io');
  check(`${w}: ${BINDER_ROLE} bound to ServiceAccount ${ns}/${sa}`, boundTo(BINDER_ROLE));
  if (v.requeue) check(`${w}: ${REQUEUE_ROLE} bound to ServiceAccount ${ns}/${sa}`, boundTo(REQUEUE_ROLE));
  check(`${w}: its numafit ClusterRoles add up to exactly ${v.requeue ? 'binder + delete' : 'the binder rules'}`,
    sameSet(extenderRules(objs, sa, ns), v.requeue ? BINDER_RULES.concat(REQUEUE_RULES) : BINDER_RULES),
    [...extenderRules(objs, sa, ns)].join(' '));
  for (const b of findAll(objs, 'ClusterRoleBinding').filter((b) => /^numafit-extender-/.test(b.roleRef.name)))
    check(`${e}: ClusterRoleBinding ${b.metadata.name} binds only the extender's ServiceAccount`,
      b.subjects.length === 1 && b.subjects[0].kind === 'ServiceAccount' && b.subjects[0].name === sa && b.subjects[0].namespace === ns,
      JSON.stringify(b.subjects));
  const roles = bound.map((b) => `${b.roleRef.kind}/${b.roleRef.name}`).sort();
  const want = (v.second ? ['ClusterRole/system:kube-scheduler', 'ClusterRole/system:volume-scheduler',
    'Role/extension-apiserver-authentication-reader', 'Role/numafit-scheduler-lease'] : [])
    .concat([`ClusterRole/${BINDER_ROLE}`], v.requeue ? [`ClusterRole/${REQUEUE_ROLE}`] : []).sort();
  check(`${w}: ServiceAccount ${sa} is bound to exactly ${v.second ? "kube-scheduler's roles + " : ''}the extender's`,
    JSON.stringify(roles) === JSON.stringify(want), roles.join(','));
  return { ...x, sa, ns };
}

function checkSecondScheduler(entry, objs) {
  const dep = find(objs, 'Deployment', 'numafit-scheduler');
  if (!check(`${entry}: Deployment numafit-scheduler exists`, dep)) return null;
  check(`${entry}: numafit-scheduler has replicas: 1 (one scheduler, one binding extender)`, dep.spec.replicas === 1, dep.spec.replicas);
  const spec = dep.spec.template.spec, c = spec.containers.find((x) => x.name === 'kube-scheduler');
  if (!check(`${entry}: container kube-scheduler`, c)) return null;
  const cfgArg = (c.command || []).concat(c.args || []).find((a) => a.startsWith('--config='));
  const cfgPath = cfgArg && cfgArg.slice('--config='.length);
  const m = (c.volumeMounts || []).find((x) => cfgPath && cfgPath.startsWith(x.mountPath + '/'));
  const v = m && spec.volumes.find((x) => x.name === m.name);
  const cm = v && v.configMap && find(objs, 'ConfigMap', v.configMap.name);
  const key = cfgPath && path.basename(cfgPath);
  check(`${entry}: scheduler --config is a key of its ConfigMap`, cm && cm.data && typeof cm.data[key] === 'string', cfgPath);
  const sa = spec.serviceAccountName;
  const crbs = findAll(objs, 'ClusterRoleBinding').filter((b) => b.subjects.some((s) => s.kind === 'ServiceAccount' &&
    s.name === sa && s.namespace === dep.metadata.namespace));
  for (const role of ['system:kube-scheduler', 'system:volume-scheduler'])
    check(`${entry}: scheduler ServiceAccount bound to ${role}`, crbs.some((b) => b.roleRef.kind === 'ClusterRole' && b.roleRef.name === role));
  const auth = findAll(objs, 'RoleBinding').find((b) => b.metadata.namespace === 'kube-system' &&
    b.roleRef.name === 'extension-apiserver-authentication-reader' && b.subjects.some((s) => s.name === sa));
  check(`${entry}: scheduler can read the authentication ConfigMap`, auth);
  let cfg = null;
  if (cm && cm.data && cm.data[key]) {
    cfg = parseAll(cm.data[key])[0];
    const le = cfg.leaderElection || {};
    const role = findAll(objs, 'Role').find((r) => r.metadata.namespace === le.resourceNamespace &&
      r.rules.some((ru) => (ru.resources || []).includes('leases') && (ru.resourceNames || []).includes(le.resourceName) &&
        ru.verbs.includes('update')));
    const rb = role && findAll(objs, 'RoleBinding').find((b) => b.roleRef.name === role.metadata.name &&
      b.metadata.namespace === role.metadata.namespace && b.subjects.some((s) => s.name === sa));
    check(`${entry}: scheduler may update its own leader-election lease`, le.leaderElect === true && rb);
    check(`${entry}: scheduler profile is numafit-scheduler`, cfg.profiles && cfg.profiles.length === 1 &&
      cfg.profiles[0].schedulerName === 'numafit-scheduler');
  }
  return cfg;
}

// The scheduler config's extender entry: the loopback extender (its --listen when known), verbs
// filter/prioritize/bind.
function checkExtenderRef(what, cfg, listen) {
  const ext = (cfg.extenders || [])[0];
  if (!check(`${what}: one extender entry`, cfg.extenders && cfg.extenders.length === 1)) return;
  check(`${what}: urlPrefix http://${EXTENDER_LISTEN}`, ext.urlPrefix === `http://${EXTENDER_LISTEN}`, ext.urlPrefix);
  if (listen !== undefined) {
    const u = new URL(ext.urlPrefix);
    check(`${what}: urlPrefix is the extender's --listen`, `${u.hostname}:${u.port}` === listen, `${u.host} vs ${listen}`);
  }
  check(`${what}: plain http with enableHTTPS false`, ext.enableHTTPS === false && /^http:/.test(ext.urlPrefix));
  check(`${what}: verbs filter/prioritize/preempt and bindVerb: bind`, ext.filterVerb === 'filter' && ext.prioritizeVerb === 'prioritize' &&
    ext.preemptVerb === 'preempt' && ext.bindVerb === 'bind');
  check(`${what}: nodeCacheCapable, not ignorable, weight > 0`, ext.nodeCacheCapable === true && ext.ignorable === false && ext.weight > 0);
  check(`${what}: managedResources listed with ignoredByScheduler false`, (ext.managedResources || []).length > 0 &&
    ext.managedResources.every((r) => r.ignoredByScheduler === false));
  check(`${what}: leader election on (only the leader's extender binds)`, cfg.leaderElection && cfg.leaderElection.leaderElect === true);
}

// ---- KubeSchedulerConfiguration v1, structurally ------------------------------------------

const T = {
  str: (v) => typeof v === 'string',
  bool: (v) => typeof v === 'boolean',
  int: (v) => Number.isInteger(v),
  float: (v) => typeof v === 'number',
  duration: (v) => typeof v === 'string' && /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v),
  any: () => true,
};
// Field names and types of kubescheduler.config.k8s.io/v1 (k8s.io/kube-scheduler/config/v1)
// and the component-base types it embeds.
const SCHEMA = {
  KubeSchedulerConfiguration: {
    apiVersion: T.str, kind: T.str, parallelism: T.int, leaderElection: 'LeaderElectionConfiguration',
    clientConnection: 'ClientConnectionConfiguration', enableProfiling: T.bool, enableContentionProfiling: T.bool,
    percentageOfNodesToScore: T.int, podInitialBackoffSeconds: T.int, podMaxBackoffSeconds: T.int,
    profiles: ['KubeSchedulerProfile'], extenders: ['Extender'], delayCacheUntilActive: T.bool,
  },
  LeaderElectionConfiguration: {
    leaderElect: T.bool, leaseDuration: T.duration, renewDeadline: T.duration, retryPeriod: T.duration,
    resourceLock: T.str, resourceName: T.str, resourceNamespace: T.str,
  },
  ClientConnectionConfiguration: { kubeconfig: T.str, acceptContentTypes: T.str, contentType: T.str, qps: T.float, burst: T.int },
  KubeSchedulerProfile: { schedulerName: T.str, percentageOfNodesToScore: T.int, plugins: T.any, pluginConfig: T.any },
  Extender: {
    urlPrefix: T.str, filterVerb: T.str, preemptVerb: T.str, prioritizeVerb: T.str, weight: T.int, bindVerb: T.str,
    enableHTTPS: T.bool, tlsConfig: 'ExtenderTLSConfig', httpTimeout: T.duration, nodeCacheCapable: T.bool,
    managedResources: ['ExtenderManagedResource'], ignorable: T.bool,
  },
  ExtenderManagedResource: { name: T.str, ignoredByScheduler: T.bool },
  ExtenderTLSConfig: {
    insecure: T.bool, serverName: T.str, certFile: T.str, keyFile: T.str, caFile: T.str, certData: T.str, keyData: T.str, caData: T.str,
  },
};
const REQUIRED = { Extender: ['urlPrefix'], ExtenderManagedResource: ['name'] };

function structural(type, v, where, errs) {
  if (typeof type === 'function') {
    if (!type(v)) errs.push(`${where}: wrong type (${JSON.stringify(v)})`);
    return;
  }
  if (Array.isArray(type)) {
    if (!Array.isArray(v)) return void errs.push(`${where}: not a list`);
    v.forEach((x, i) => structural(type[0], x, `${where}[${i}]`, errs));
    return;
  }
  const fields = SCHEMA[type];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return void errs.push(`${where}: not a ${type} object`);
  for (const [k, x] of Object.entries(v)) {
    if (!(k in fields)) errs.push(`${where}.${k}: unknown field of ${type}`);
    else structural(fields[k], x, `${where}.${k}`, errs);
  }
  for (const k of REQUIRED[type] || []) if (!(k in v)) errs.push(`${where}.${k}: required`);
}
// kube-scheduler's validation of extenders (pkg/scheduler/apis/config/validation).
function isExtendedResourceName(n) {
  if (!n.includes('/') || n.includes('kubernetes.io/') || n.startsWith('requests.')) return false;
  const [prefix, name] = n.split('/');
  return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(prefix) && prefix.length <= 253 &&
    /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name) && name.length <= 63 - 'requests.'.length + 9;
}
function schedulerConfigErrors(cfg) {
  const errs = [];
  structural('KubeSchedulerConfiguration', cfg, 'config', errs);
  if (cfg.apiVersion !== 'kubescheduler.config.k8s.io/v1') errs.push(`apiVersion ${cfg.apiVersion}`);
  if (cfg.kind !== 'KubeSchedulerConfiguration') errs.push(`kind ${cfg.kind}`);
  const names = new Set();
  for (const p of cfg.profiles || []) {
    if (!p.schedulerName) errs.push('profile without schedulerName');
    if (names.has(p.schedulerName)) errs.push(`duplicate profile ${p.schedulerName}`);
    names.add(p.schedulerName);
  }
  let binders = 0;
  const managed = new Set();
  (cfg.extenders || []).forEach((e, i) => {
    if (e.prioritizeVerb && !(e.weight > 0)) errs.push(`extenders[${i}].weight: must be positive with a prioritizeVerb`);
    if (e.bindVerb) binders++;
    try {
      const u = new URL(e.urlPrefix);
      if (u.protocol !== (e.enableHTTPS ? 'https:' : 'http:')) errs.push(`extenders[${i}]: scheme ${u.protocol} vs enableHTTPS`);
    } catch (x) {
      errs.push(`extenders[${i}].urlPrefix: not a URL`);
    }
    for (const r of e.managedResources || []) {
      if (!isExtendedResourceName(r.name)) errs.push(`extenders[${i}].managedResources: ${r.name} is not an extended resource name`);
      if (managed.has(r.name)) errs.push(`extenders[${i}].managedResources: duplicate ${r.name}`);
      managed.add(r.name);
    }
  });
  if (binders > 1) errs.push('more than one extender implements bind');
  return errs;
}

function runSchedulerMode() {
  const second = parseAll(fs.readFileSync(path.join(K8S, 'second-scheduler/numafit-scheduler-config.yaml'), 'utf8'));
  const dflt = parseAll(fs.readFileSync(path.join(K8S, 'default-scheduler/kube-scheduler-config.yaml'), 'utf8'));
  for (const [what, docs] of [['second-scheduler config', second], ['default-scheduler config', dflt]]) {
    if (!check(`${what}: one document`, docs.length === 1)) continue;
    const cfg = docs[0];
    const errs = schedulerConfigErrors(cfg);
    check(`${what}: structurally valid kubescheduler.config.k8s.io/v1`, errs.length === 0, errs.join('; '));
    checkExtenderRef(what, cfg);
    check(`${what}: httpTimeout set explicitly`, T.duration(cfg.extenders[0].httpTimeout));
  }
  const d = dflt[0];
  check('default-scheduler config: profile default-scheduler', d.profiles.length === 1 && d.profiles[0].schedulerName === 'default-scheduler');
  check('default-scheduler config: kubeconfig set (with --config the file is what counts)',
    d.clientConnection && typeof d.clientConnection.kubeconfig === 'string');
  // The validator itself can fail: mutated copies must be refused.
  const mutate = (f) => { const c = JSON.parse(JSON.stringify(second[0])); f(c); return schedulerConfigErrors(c).length > 0; };
  check('structural check refuses hugepages in managedResources',
    mutate((c) => c.extenders[0].managedResources.push({ name: 'hugepages-1Gi', ignoredByScheduler: false })));
  check('structural check refuses an unknown extender field', mutate((c) => { c.extenders[0].enableHttps = false; }));
  check('structural check refuses a non-duration httpTimeout', mutate((c) => { c.extenders[0].httpTimeout = 5; }));
  check('structural check refuses weight 0 with prioritize', mutate((c) => { c.extenders[0].weight = 0; }));
  check('structural check refuses a string boolean', mutate((c) => { c.extenders[0].nodeCacheCapable = 'true'; }));
  check('structural check refuses a second binding extender', mutate((c) => {
    c.extenders.push({ urlPrefix: 'http://127.0.0.1:9752', bindVerb: 'bind' });
  }));
}

// ---- run the real binaries with the manifests' args -------------------------------------------

function get(port, p, method = 'GET', body = null) {
  return new Promise((resolve) => {
    const r = http.request({ host: '127.0.0.1', port, path: p, method, timeout: 5000,
      headers: body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    r.on('error', (e) => resolve({ status: 0, body: String(e) }));
    r.on('timeout', () => r.destroy(new Error('timeout')));
    if (body) r.write(body);
    r.end();
  });
}
function startServer(bin, args, env) {
  return new Promise((resolve) => {
    const p = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => resolve({ proc: p, port: 0, log: err }), 10000);
    p.stderr.on('data', (d) => {
      err += d;
      const m = /msg="[^"]*serving"[^\n]*port=(\d+)/.exec(err);
      if (m) { clearTimeout(timer); resolve({ proc: p, port: Number(m[1]), log: err }); }
    });
    p.on('exit', () => { clearTimeout(timer); resolve({ proc: p, port: 0, log: err }); });
  });
}
async function waitStatus(port, p, want, ms) {
  const end = Date.now() + ms;
  let r;
  do {
    r = await get(port, p);
    if (r.status === want) return r;
    await new Promise((ok) => setTimeout(ok, 100));
  } while (Date.now() < end);
  return r;
}
function stop(s) {
  return new Promise((resolve) => {
    if (!s || s.proc.exitCode !== null) return resolve(s ? s.proc.exitCode : null);
    s.proc.on('exit', (code) => resolve(code));
    s.proc.kill('SIGTERM');
    setTimeout(() => s.proc.kill('SIGKILL'), 5000);
  });
}

function api(port, method, p, body) {
  return get(port, p, method, body === undefined ? null : JSON.stringify(body)).then((r) => {
    let doc = null;
    try { doc = JSON.parse(r.body); } catch (x) { /* not JSON */ }
    return { status: r.status, doc, body: r.body };
  });
}
async function waitFor(fn, ms) {
  const end = Date.now() + ms;
  do {
    if (await fn()) return true;
    await new Promise((ok) => setTimeout(ok, 100));
  } while (Date.now() < end);
  return false;
}
const TOKEN = 'deploy-test-token';
function writeKubeconfig(file, port) {
  fs.writeFileSync(file, yaml.dump({ apiVersion: 'v1', kind: 'Config', 'current-context': 'fake',
    clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${port}` } }],
    users: [{ name: 'numafit', user: { token: TOKEN } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'numafit' } }] }));
}
const guaranteed = { cpu: '2', memory: '1Gi' };
function testPod(name, extra = {}) {
  return { metadata: { name, namespace: 'default', ...(extra.metadata || {}) },
    spec: { schedulerName: 'numafit-scheduler', ...(extra.spec || {}),
      containers: [{ name: 'c', image: 'dpdk', resources: { requests: guaranteed, limits: guaranteed } }] } };
}

// One extender run with a variant's args against the fake API server: probe paths, the
// scheduler's verbs (bind creates the Binding), requeue when enabled, and the RBAC of every
// request it made, checked against each variant that renders these args.
async function liveExtender(group, exp, apiPort, kcfg, n) {
  const { v, x, cfg } = group[0];
  const w = `live ${group.map((g) => g.v.name).join(' / ')}`;
  const xargs = x.c.args.map((a) => {
    const f = argFlag(a);
    if (f.name === 'listen') return '--listen=127.0.0.1:0';
    if (f.name === 'exporter-dns') return `--exporter-dns=localhost:${exp.port}`;
    return a;
  }).concat([`--kubeconfig=${kcfg}`]);
  await api(apiPort, 'DELETE', '/fake/requests');
  const ext = await startServer(EXTENDER, xargs, { KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '' });
  if (!check(`${w}: extender starts with the manifest's args (+ --kubeconfig of the fake API server)`, ext.port > 0, ext.log)) {
    await stop(ext);
    return;
  }
  check(`${w}: binding is on`, /binding=on/.test(ext.log), ext.log.slice(-300));
  const live = (x.c.livenessProbe && x.c.livenessProbe.httpGet.path) || '/healthz';
  const ready = (x.c.readinessProbe && x.c.readinessProbe.httpGet.path) || '/readyz';
  const lz = await get(ext.port, live);
  check(`${w}: ${live} answers 200`, lz.status === 200, lz.status);
  const ry = await waitStatus(ext.port, ready, 200, 20000);
  check(`${w}: ${ready} turns 200 (exporter cached, pod list read, reservations restored)`, ry.status === 200, `${ry.status} ${ry.body}`);

  const e = cfg.extenders[0];
  const prefix = new URL(e.urlPrefix).pathname.replace(/\/$/, '');
  const created = await api(apiPort, 'POST', '/fake/pods', testPod(`bind-${n}`));
  const pod = created.doc;
  if (!check(`${w}: fake API server took the pod`, created.status === 201, created.body)) { await stop(ext); return; }
  const args = JSON.stringify({ Pod: pod, Nodes: null, NodeNames: ['deploy-test-node'] });
  const f = await get(ext.port, `${prefix}/${e.filterVerb}`, 'POST', args);
  let fr = {};
  try { fr = JSON.parse(f.body); } catch (q) { /* checked below */ }
  check(`${w}: POST urlPrefix/${e.filterVerb} (nodeCacheCapable: names only) answers 200 with NodeNames`,
    f.status === 200 && Array.isArray(fr.NodeNames), `${f.status} ${f.body.slice(0, 200)}`);
  const p = await get(ext.port, `${prefix}/${e.prioritizeVerb}`, 'POST', args);
  let pr = null;
  try { pr = JSON.parse(p.body); } catch (q) { /* checked below */ }
  check(`${w}: POST urlPrefix/${e.prioritizeVerb} answers 200 with a host priority list`,
    p.status === 200 && Array.isArray(pr) && pr.every((h) => h.Host === 'deploy-test-node' && h.Score >= 0 && h.Score <= 10),
    `${p.status} ${p.body.slice(0, 200)}`);
  const pre = await api(ext.port, 'POST', `${prefix}/${e.preemptVerb}`, { Pod: pod, NodeNameToVictims: null,
    NodeNameToMetaVictims: { 'deploy-test-node': { Pods: [{ UID: 'victim-uid' }], NumPDBViolations: 0 } } });
  check(`${w}: POST urlPrefix/${e.preemptVerb} (nodeCacheCapable: meta victims) answers 200 with NodeNameToMetaVictims`,
    pre.status === 200 && pre.doc && typeof pre.doc.NodeNameToMetaVictims === 'object', `${pre.status} ${pre.body.slice(0, 200)}`);
  const b = await api(ext.port, 'POST', `${prefix}/${e.bindVerb}`, { PodName: pod.metadata.name,
    PodNamespace: pod.metadata.namespace, PodUID: pod.metadata.uid, Node: 'deploy-test-node' });
  check(`${w}: POST urlPrefix/${e.bindVerb} answers 200 without Error`, b.status === 200 && b.doc && !b.doc.Error,
    `${b.status} ${b.body.slice(0, 300)}`);
  const bound = await api(apiPort, 'GET', `/fake/pods/default/${pod.metadata.name}`);
  check(`${w}: the Binding was created (pod on deploy-test-node)`, bound.doc && bound.doc.spec.nodeName === 'deploy-test-node',
    bound.body.slice(0, 200));

  if (v.requeue) {
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'rs-uid', controller: true };
    for (const [name, meta] of [[`owned-${n}`, { ownerReferences: [owner] }], [`bare-${n}`, {}]]) {
      await api(apiPort, 'POST', '/fake/pods', testPod(name, { metadata: meta, spec: { nodeName: 'deploy-test-node' } }));
      await api(apiPort, 'PATCH', `/fake/pods/default/${name}/status`, { phase: 'Failed', reason: 'TopologyAffinityError',
        message: 'Resources cannot be allocated with Topology locality' });
    }
    const gone = await waitFor(async () => (await api(apiPort, 'GET', `/fake/pods/default/owned-${n}`)).status === 404, 10000);
    check(`${w}: --requeue-rejected-pods deletes a controller-owned pod rejected with TopologyAffinityError`, gone);
    await new Promise((ok) => setTimeout(ok, 300));
    check(`${w}: a rejected pod without a controller is left alone`,
      (await api(apiPort, 'GET', `/fake/pods/default/bare-${n}`)).status === 200);
  }
  check(`${w}: extender stops cleanly on SIGTERM`, (await stop(ext)) === 0);

  const reqs = ((await api(apiPort, 'GET', '/fake/requests')).doc || []);
  check(`${w}: every API request carried the token`, reqs.length > 0 && reqs.every((r) => r.auth), reqs.length);
  const used = new Set(reqs.map(rbacOfRequest));
  for (const want of ['|pods|list', '|pods|watch', '|pods/binding|create'].concat(v.requeue ? ['|pods|delete'] : []))
    check(`${w}: the extender used ${want}`, used.has(want), [...used].join(' '));
  for (const g of group) {
    const allowed = extenderRules(g.objs, g.x.sa, g.x.ns);
    const denied = [...used].filter((u) => !allowed.has(u));
    check(`${g.v.name}: every API request of the extender is allowed by its own ClusterRoles`, denied.length === 0, denied.join(' '));
  }
}

async function runLive(rendered, cases) {
  const objs = rendered['.'] || rendered.base;
  const ds = find(objs, 'DaemonSet', 'numafit-exporter');
  if (!check('live: built programs exist', fs.existsSync(EXPORTER) && fs.existsSync(EXTENDER))) return;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-deploy-'));
  let exp = null, fake = null;
  try {
    const mk = spawnSync('python3', [path.join(SRC, 'tests/fixtures/mkfixture.py'), 'single', path.join(tmp, 'host')]);
    if (!check('live: fake host tree built', mk.status === 0, String(mk.stderr))) return;
    fs.mkdirSync(path.join(tmp, 'kubelet'));
    // Host paths of the pod map onto the fake tree; every other arg is used as written.
    const c = ds.spec.template.spec.containers[0];
    const mapPath = (v) => v.replace(/^\/host\//, path.join(tmp, 'host') + '/').replace(/^\/var\/lib\/kubelet/, path.join(tmp, 'kubelet'))
      .replace(/^\/etc\/numafit\/sriov/, path.join(tmp, 'sriov'));
    const eargs = c.args.map((a) => {
      const f = argFlag(a);
      if (f.name === 'listen') return '--listen=127.0.0.1:0';
      return `--${f.name}=${mapPath(f.value)}`;
    });
    exp = await startServer(EXPORTER, eargs, { NODE_NAME: 'deploy-test-node', HWLOC_COMPONENTS: '-x86' });
    if (!check('live: exporter starts with the DaemonSet args', exp.port > 0, exp.log)) return;
    const hz = await get(exp.port, c.livenessProbe.httpGet.path);
    check(`live: exporter liveness path ${c.livenessProbe.httpGet.path} answers 200`, hz.status === 200, hz.status);
    const rz = await waitStatus(exp.port, c.readinessProbe.httpGet.path, 200, 10000);
    check(`live: exporter readiness path ${c.readinessProbe.httpGet.path} answers 200 after the first scan`, rz.status === 200, rz.status);
    const topo = await get(exp.port, '/v1/topology');
    let doc = {};
    try { doc = JSON.parse(topo.body); } catch (e) { /* checked below */ }
    check('live: exporter publishes the NODE_NAME of the downward API', doc.node === 'deploy-test-node', doc.node);

    fake = await startServer('python3', [path.join(SRC, 'tests/fakes/fake_apiserver.py'), '--listen', '127.0.0.1:0',
      '--token', TOKEN, '--bookmark-interval', '1'], {});
    if (!check('live: fake API server starts', fake.port > 0, fake.log)) return;
    const kcfg = path.join(tmp, 'kubeconfig');
    writeKubeconfig(kcfg, fake.port);
    // one run per distinct extender command line; its requests are checked against every
    // variant that renders it
    const groups = new Map();
    for (const k of cases) {
      const key = JSON.stringify(k.x.c.args);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(k);
    }
    let n = 0;
    for (const group of groups.values()) await liveExtender(group, exp, fake.port, kcfg, n++);
  } finally {
    if (fake) check('live: fake API server stops', (await stop(fake)) !== null);
    if (exp) check('live: exporter stops cleanly on SIGTERM', (await stop(exp)) === 0);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function runObjectsMode() {
  // 1. every YAML document of deploy/kubernetes parses
  for (const f of yamlFiles(K8S)) {
    const rel = path.relative(SRC, f);
    try {
      const docs = parseAll(fs.readFileSync(f, 'utf8'));
      check(`${rel}: has documents`, docs.length > 0);
      for (const d of docs) check(`${rel}: document is a typed object`, d && typeof d.kind === 'string' && typeof d.apiVersion === 'string');
    } catch (e) {
      check(`${rel}: parses`, false, e.message);
    }
  }
  const expFlags = helpFlags(EXPORTER), extFlags = helpFlags(EXTENDER);
  check('exporter --help lists its flags', expFlags.has('sysfs-root') && expFlags.has('probe'));
  check('extender --help lists its flags', extFlags.get('exporter-dns') === true && extFlags.get('reservation-ttl') === true &&
    extFlags.get('requeue-rejected-pods') === false);

  // 2. render the kustomize entry points (kubectl is a client: no API server needed)
  const haveKubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
  const rendered = {};
  if (!haveKubectl) {
    console.log('NOTE kubectl not found: kustomize entry points not rendered; checking base/ as written (no extender checks)');
    rendered.base = parseAll(yamlFiles(path.join(K8S, 'base')).filter((f) => !f.endsWith('kustomization.yaml'))
      .map((f) => fs.readFileSync(f, 'utf8')).join('\n---\n'));
  } else {
    for (const v of VARIANTS) {
      try {
        rendered[v.name] = render(v);
        check(`kustomize ${v.name} renders`, rendered[v.name].length > 0);
      } catch (x) {
        check(`kustomize ${v.name} renders`, false, x.message);
      }
    }
  }
  // 3. schema + field checks on each rendering
  const dfltCfg = parseAll(fs.readFileSync(path.join(K8S, 'default-scheduler/kube-scheduler-config.yaml'), 'utf8'))[0];
  const cases = [];
  for (const [e, objs] of Object.entries(rendered)) {
    validateObjects(e, objs);
    check(`${e}: every namespaced object is in numafit (or kube-system RBAC)`, objs.every((o) =>
      ['Namespace', 'ClusterRoleBinding', 'ClusterRole'].includes(o.kind) ||
      o.metadata.namespace === 'numafit' || (o.metadata.namespace === 'kube-system' && o.kind === 'RoleBinding')));
    const v = VARIANTS.find((x) => x.name === e);
    checkExporter(e, objs, expFlags, !!(v && v.probe), !!(v && v.podres));
    if (!v) continue;
    const images = objs.flatMap((o) => (o.spec && o.spec.template ? o.spec.template.spec.containers : []).map((c) => c.image))
      .filter((i) => /numafit/.test(i));
    check(`${e}: numafit images come from the images component's registry`, images.length >= 2 &&
      images.every((i) => i.startsWith('registry.example.com/numafit/')), images.join(','));
    const x = checkExtender(v, objs, extFlags);
    let cfg = null;
    if (!v.second) {
      check(`${e}: no second scheduler`, !find(objs, 'Deployment', 'numafit-scheduler'));
      cfg = dfltCfg;
    } else {
      cfg = checkSecondScheduler(e, objs);
    }
    if (cfg) checkExtenderRef(`${e}: scheduler config`, cfg, x ? argValue(x.c.args || [], 'listen') : undefined);
    if (x && cfg) cases.push({ v, x, cfg, objs });
  }
  // 4. the schema validator can fail
  const DaemonSet = req('kubernetes-models/apps/v1').DaemonSet;
  let threw = false;
  try {
    const bad = JSON.parse(JSON.stringify(find(Object.values(rendered)[0], 'DaemonSet', 'numafit-exporter')));
    bad.spec.template.spec.containers[0].ports[0].containerPort = '9750';
    new DaemonSet(bad).validate();
  } catch (x) {
    threw = true;
  }
  check('schema validator refuses a string containerPort', threw);
  // ... and so can the RBAC check: a wildcard or an extra verb is not "exactly"
  const binder = cases.length && find(cases[0].objs, 'ClusterRole', BINDER_ROLE);
  if (binder) {
    const mut = (f) => { const r = JSON.parse(JSON.stringify(binder)); f(r); return sameSet(ruleSet(r), BINDER_RULES); };
    check('RBAC check refuses an extra verb', !mut((r) => r.rules[0].verbs.push('delete')));
    check('RBAC check refuses a wildcard resource', !mut((r) => { r.rules[0].resources = ['*']; }));
    check('RBAC check refuses resourceNames', !mut((r) => { r.rules[1].resourceNames = ['x']; }));
  }
  // 5. the real programs with these args
  if (cases.length || rendered.base) await runLive(rendered, cases);
}


// ---- the TLS components ----------------------------------------------------------------------

const TLS_VARIANTS = [
  { name: '.+tls+tls-scheduler', scheduler: true,
    compose: { resources: ['base'], components: ['second-scheduler', 'tls', 'tls-scheduler', 'images'] } },
  { name: 'default-scheduler+tls', scheduler: false,
    compose: { resources: ['default-scheduler'], components: ['tls'] } },
];
const TOKEN_SECRET = 'numafit-scrape-token'; // created by the user (tls/kustomization.yaml)
const CERT_MANAGER_KEYS = ['tls.crt', 'tls.key', 'ca.crt'];
const FILE_FLAGS = ['tls-cert', 'tls-key', 'client-ca', 'auth-token-file', 'exporter-ca', 'exporter-cert',
  'exporter-key', 'exporter-token-file'];

// The Secret and key behind a file path in a container: {secret, key, cert} or a reason.
function secretFile(objs, podSpec, c, file) {
  const m = (c.volumeMounts || []).find((x) => file.startsWith(x.mountPath.replace(/\/$/, '') + '/'));
  if (!m) return { why: `${file} is in no volumeMount` };
  const v = (podSpec.volumes || []).find((x) => x.name === m.name);
  if (!v || !v.secret) return { why: `${file}: volume ${m.name} is not a Secret` };
  const rel = file.slice(m.mountPath.replace(/\/$/, '').length + 1);
  const item = (v.secret.items || []).find((i) => i.path === rel);
  const key = v.secret.items ? (item && item.key) : rel;
  const name = v.secret.secretName;
  const cert = findAll(objs, 'Certificate').find((x) => x.spec.secretName === name);
  if (!key) return { why: `${file}: not among the items of Secret ${name}` };
  if (cert && !CERT_MANAGER_KEYS.includes(key)) return { why: `${file}: cert-manager Secrets have no key ${key}` };
  if (!cert && !(name === TOKEN_SECRET && key === 'token')) return { why: `${file}: nothing provides Secret ${name}` };
  if (m.readOnly !== true) return { why: `${file}: mount ${m.name} not read-only` };
  return { secret: name, key, cert };
}
const usages = (cert) => (cert && cert.spec.usages) || [];
function certNames(cert) {
  return ((cert && cert.spec.dnsNames) || []).concat((cert && cert.spec.ipAddresses) || []);
}
function checkFileFlags(what, objs, podSpec, c) {
  const files = {};
  for (const f of FILE_FLAGS) {
    const v = argValue(c.args || [], f);
    if (v === undefined) continue;
    const r = secretFile(objs, podSpec, c, v);
    if (check(`${what}: --${f} is a key of a provided, mounted Secret`, !r.why, r.why)) files[f] = r;
  }
  return files;
}
function checkIssuers(entry, objs) {
  for (const cert of findAll(objs, 'Certificate')) {
    const ref = cert.spec.issuerRef || {};
    const iss = find(objs, ref.kind || 'Issuer', ref.name);
    if (!check(`${entry}: Certificate ${cert.metadata.name}: issuer ${ref.name} is in the rendering`, iss)) continue;
    if (iss.spec.ca) {
      const ca = findAll(objs, 'Certificate').find((x) => x.spec.secretName === iss.spec.ca.secretName);
      check(`${entry}: issuer ${ref.name} signs with a CA Certificate's Secret`, ca && ca.spec.isCA === true);
    } else {
      check(`${entry}: only the CA certificate is self-signed`, iss.spec.selfSigned && cert.spec.isCA === true,
        cert.metadata.name);
    }
    if (!cert.spec.isCA) {
      const u = usages(cert);
      check(`${entry}: Certificate ${cert.metadata.name} is for one side only (server auth xor client auth)`,
        u.includes('server auth') !== u.includes('client auth'), u.join(','));
    }
  }
}

function checkTlsVariant(v, objs, expFlags, extFlags) {
  const e = v.name;
  const CRD = { 'cert-manager.io/v1': ['Issuer', 'Certificate'], 'monitoring.coreos.com/v1': ['ServiceMonitor'] };
  const core = objs.filter((o) => !CRD[o.apiVersion]);
  check(`${e}: every other kind is a cert-manager or Prometheus Operator kind`,
    objs.filter((o) => CRD[o.apiVersion]).every((o) => CRD[o.apiVersion].includes(o.kind)));
  validateObjects(e, core);
  checkIssuers(e, objs);
  const ds = checkExporter(e, objs, expFlags, false);
  if (!ds) return;
  const xs = ds.spec.template.spec, xc = xs.containers[0];
  for (const p of ['livenessProbe', 'readinessProbe'])
    check(`${e}: exporter ${p} over HTTPS`, xc[p] && xc[p].httpGet.scheme === 'HTTPS');
  const xf = checkFileFlags(`${e}: exporter`, objs, xs, xc);
  // the files the HTTP process reads must be readable by its group, and by no one else
  const gid = Number((argValue(xc.args || [], 'privsep-user') || ':').split(':')[1]);
  for (const f of ['tls-key', 'auth-token-file']) {
    const file = argValue(xc.args || [], f);
    const m = file && (xc.volumeMounts || []).find((x) => file.startsWith(x.mountPath.replace(/\/$/, '') + '/'));
    const vol = m && (xs.volumes || []).find((x) => x.name === m.name);
    check(`${e}: exporter --${f} is readable by the HTTP process's group ${gid} only (fsGroup, mode 0440)`,
      vol && vol.secret && vol.secret.defaultMode === 0o440 && (xs.securityContext || {}).fsGroup === gid,
      vol && JSON.stringify(vol.secret));
  }
  for (const f of ['tls-cert', 'tls-key', 'client-ca', 'auth-token-file'])
    check(`${e}: exporter has --${f}`, xf[f]);
  if (!xf['tls-cert'] || !xf['client-ca'] || !xf['auth-token-file']) return;
  const xcert = xf['tls-cert'].cert;
  check(`${e}: exporter serves tls.crt/tls.key of one Certificate, client CA its ca.crt`,
    xf['tls-cert'].key === 'tls.crt' && xf['tls-key'] && xf['tls-key'].key === 'tls.key' &&
    xf['tls-key'].secret === xf['tls-cert'].secret && xf['client-ca'].key === 'ca.crt');
  check(`${e}: exporter certificate is for serving only`, usages(xcert).includes('server auth') &&
    !usages(xcert).includes('client auth'));

  // the extender pulling
  const ext = v.scheduler ? find(objs, 'Deployment', 'numafit-scheduler') : find(objs, 'DaemonSet', 'numafit-extender');
  if (!check(`${e}: the extender is in the rendering`, ext)) return;
  const es = ext.spec.template.spec, ec = es.containers.find((c) => c.name === 'extender');
  checkFlags(`${e}: extender`, ec, extFlags);
  const ef = checkFileFlags(`${e}: extender`, objs, es, ec);
  for (const f of ['exporter-ca', 'exporter-cert', 'exporter-key', 'exporter-token-file'])
    check(`${e}: extender has --${f}`, ef[f]);
  if (ef['exporter-cert']) {
    check(`${e}: extender's exporter client certificate allows client auth`,
      usages(ef['exporter-cert'].cert).includes('client auth'));
    check(`${e}: exporter CA of the extender = the exporters' issuer`, ef['exporter-ca'] &&
      ef['exporter-ca'].cert.spec.issuerRef.name === xcert.spec.issuerRef.name &&
      ef['exporter-cert'].cert.spec.issuerRef.name === xcert.spec.issuerRef.name);
  }
  check(`${e}: the extender sends the token the exporters accept`, ef['exporter-token-file'] &&
    ef['exporter-token-file'].secret === xf['auth-token-file'].secret &&
    ef['exporter-token-file'].key === xf['auth-token-file'].key);
  const dns = argValue(ec.args || [], 'exporter-dns');
  const host = argValue(ec.args || [], 'exporter-server-name') || (dns || '').replace(/:\d+$/, '');
  check(`${e}: the exporters' certificate names the host the extender checks (${host})`,
    certNames(xcert).includes(host), certNames(xcert).join(','));

  // NetworkPolicy
  const np = find(objs, 'NetworkPolicy', 'numafit-exporter');
  if (check(`${e}: NetworkPolicy numafit-exporter`, np)) {
    check(`${e}: NetworkPolicy selects the exporter pods`,
      selectorMatches(np.spec.podSelector.matchLabels, ds.spec.template.metadata.labels));
    const rules = np.spec.ingress || [];
    check(`${e}: one ingress rule, on port 9750 only`, rules.length === 1 && (rules[0].ports || []).length === 1 &&
      (rules[0].ports[0].port === 9750 || portOf(xc, rules[0].ports[0].port) === 9750));
    const from = (rules[0] && rules[0].from) || [];
    const prom = from.filter((p) => p.namespaceSelector);
    check(`${e}: Prometheus is let in from its namespace`, prom.length === 1 && prom[0].podSelector);
    const pods = from.filter((p) => p.podSelector && !p.namespaceSelector);
    if (v.scheduler)
      check(`${e}: the extender's pod (numafit-scheduler) is let in`,
        pods.some((p) => selectorMatches(p.podSelector.matchLabels, ext.spec.template.metadata.labels)));
    check(`${e}: nobody else (no empty selector, no ipBlock)`, from.every((p) =>
      (p.podSelector && Object.keys(p.podSelector.matchLabels || {}).length) && !p.ipBlock));
  }
  // ServiceMonitor
  const sm = find(objs, 'ServiceMonitor', 'numafit-exporter'), svc = find(objs, 'Service', 'numafit-exporter');
  if (check(`${e}: ServiceMonitor numafit-exporter`, sm && svc)) {
    const ep = sm.spec.endpoints[0], t = ep.tlsConfig || {};
    check(`${e}: ServiceMonitor selects the exporter Service`, selectorMatches(sm.spec.selector.matchLabels, svc.metadata.labels) &&
      sm.spec.namespaceSelector.matchNames.includes(svc.metadata.namespace));
    check(`${e}: ServiceMonitor port is a Service port`, svc.spec.ports.some((p) => p.name === ep.port));
    check(`${e}: ServiceMonitor scrapes /metrics over https`, ep.scheme === 'https' && ep.path === '/metrics');
    check(`${e}: ServiceMonitor serverName is in the exporters' certificate`, certNames(xcert).includes(t.serverName));
    check(`${e}: ServiceMonitor sends the token the exporters accept`, ep.authorization && ep.authorization.type === 'Bearer' &&
      ep.authorization.credentials.name === xf['auth-token-file'].secret &&
      ep.authorization.credentials.key === xf['auth-token-file'].key);
    const pc = findAll(objs, 'Certificate').find((x) => x.spec.secretName === (t.cert && t.cert.secret.name));
    check(`${e}: ServiceMonitor presents a client certificate of the exporters' issuer`, pc &&
      usages(pc).includes('client auth') && pc.spec.issuerRef.name === xcert.spec.issuerRef.name &&
      t.keySecret && t.keySecret.name === pc.spec.secretName && t.keySecret.key === 'tls.key' &&
      t.cert.secret.key === 'tls.crt' && t.ca && t.ca.secret.key === 'ca.crt');
  }
  if (!v.scheduler) return;
  // kube-scheduler -> extender (tls-scheduler)
  const cm = findAll(objs, 'ConfigMap').find((x) => /^numafit-scheduler-config/.test(x.metadata.name));
  const cfg = cm && parseAll(cm.data['config.yaml'])[0];
  if (!check(`${e}: scheduler config rendered`, cfg)) return;
  const errs = schedulerConfigErrors(cfg);
  check(`${e}: scheduler config structurally valid`, errs.length === 0, errs.join('; '));
  const x = cfg.extenders[0], tc = x.tlsConfig || {};
  const listen = argValue(ec.args || [], 'listen');
  check(`${e}: urlPrefix https://<extender --listen>`, x.urlPrefix === `https://${listen}` && x.enableHTTPS === true,
    `${x.urlPrefix} vs ${listen}`);
  const sf = checkFileFlags(`${e}: extender serving`, objs, es, ec);
  check(`${e}: extender serves HTTPS and requires client certificates`, sf['tls-cert'] && sf['tls-key'] && sf['client-ca']);
  if (sf['tls-cert']) {
    const host = new URL(x.urlPrefix).hostname;
    check(`${e}: extender certificate names the urlPrefix host and tlsConfig.serverName`,
      certNames(sf['tls-cert'].cert).includes(host) && certNames(sf['tls-cert'].cert).includes(tc.serverName));
  }
  const ks = es.containers.find((c) => c.name === 'kube-scheduler');
  const files = {};
  for (const k of ['certFile', 'keyFile', 'caFile']) {
    const r = tc[k] ? secretFile(objs, es, ks, tc[k]) : { why: 'not set' };
    if (check(`${e}: tlsConfig.${k} is a key of a mounted Certificate Secret`, !r.why && r.cert, r.why)) files[k] = r;
  }
  if (files.certFile && files.keyFile && files.caFile) {
    check(`${e}: kube-scheduler presents a client certificate the extender's CA issued`,
      usages(files.certFile.cert).includes('client auth') && files.certFile.key === 'tls.crt' &&
      files.keyFile.key === 'tls.key' && files.keyFile.secret === files.certFile.secret &&
      files.certFile.cert.spec.issuerRef.name === sf['client-ca'].cert.spec.issuerRef.name);
    check(`${e}: kube-scheduler trusts the extender's issuer`, files.caFile.key === 'ca.crt' &&
      files.caFile.cert.spec.issuerRef.name === sf['tls-cert'].cert.spec.issuerRef.name);
  }
}

function runTlsMode() {
  const expFlags = helpFlags(EXPORTER), extFlags = helpFlags(EXTENDER);
  for (const f of ['tls-cert', 'tls-key', 'client-ca', 'auth-token-file'])
    check(`exporter --help lists --${f} FILE`, expFlags.get(f) === true);
  for (const f of ['tls-cert', 'tls-key', 'client-ca', 'exporter-ca', 'exporter-cert', 'exporter-key',
    'exporter-token-file', 'exporter-server-name'])
    check(`extender --help lists --${f} VALUE`, extFlags.get(f) === true);
  if (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status !== 0) {
    console.log('NOTE kubectl not found: the TLS components are not rendered');
    return;
  }
  let first = null;
  for (const v of TLS_VARIANTS) {
    let objs;
    try {
      objs = render(v);
    } catch (x) {
      check(`kustomize ${v.name} renders`, false, x.message);
      continue;
    }
    check(`kustomize ${v.name} renders`, objs.length > 0);
    checkTlsVariant(v, objs, expFlags, extFlags);
    first = first || objs;
  }
  // the checks can fail: a client certificate without client auth, a token nobody mounts
  if (first) {
    const before = failed;
    const mut = JSON.parse(JSON.stringify(first));
    findAll(mut, 'Certificate').find((c) => c.metadata.name === 'numafit-extender-client').spec.usages = ['server auth'];
    find(mut, 'ServiceMonitor', 'numafit-exporter').spec.endpoints[0].authorization.credentials.name = 'other';
    const saved = console.log;
    console.log = () => {};
    checkTlsVariant(TLS_VARIANTS[0], mut, expFlags, extFlags);
    console.log = saved;
    const caught = failed - before;
    failed = before;
    check('the TLS checks refuse a client certificate without client auth and a token nobody reads', caught >= 2, caught);
  }
}

(async () => {
  const mode = process.argv[2] || 'objects';
  if (mode === 'scheduler') runSchedulerMode();
  else if (mode === 'tls') runTlsMode();
  else await runObjectsMode();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log(`FAIL unexpected: ${e.stack}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
