/* sysfs_machine.c - static topology with hwloc, dynamic memory/hugepage counters from sysfs
 * (see sysfs_machine.h). */
#include "sysfs_machine.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <hwloc.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "numafit/fileio.h"
#include "numafit/quantity.h"
#include "numafit/strlist.h"

#define MAX_NODES 1024           /* the kernel's MAX_NUMNODES with NODES_SHIFT=10 */
#define MAX_HUGEPAGE_SIZES 16    /* x86 has 2, arm64 4 */
#define MAX_PAGE_KB (1ULL << 34) /* 16 TiB pages: far above any real size (16 GiB on ppc64) */
#define SMALL_FILE (64 * 1024)

typedef struct machine_node {
    int id;
    int socket;
    int *distances;
    size_t n_distances;
    nf_cpuset online;
    nf_cpuset *cores;
    size_t n_cores;
    int threads_per_core;
    char *meminfo;       /* nodeN/meminfo, or <procfs>/meminfo for a kernel without NUMA */
    bool meminfo_global; /* "MemTotal:" lines without the "Node N" prefix */
    char *hugepages;     /* nodeN/hugepages, or sys/kernel/mm/hugepages */
} machine_node;

struct nf_machine {
    char *fsroot;
    bool fake;
    int packages;
    int hwloc_numa;
    nf_cpuset online;
    nf_socket *sockets;
    size_t n_sockets;
    machine_node *nodes;
    size_t n_nodes;
    char **errors; /* static problems, copied into t->errors on the first read */
    size_t n_errors;
};

/* ---------- small helpers ---------- */

static int add_error(nf_machine *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_error(nf_machine *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = nf_strlist_vaddf(&m->errors, &m->n_errors, fmt, ap);
    va_end(ap);
    return rc;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* "node12" -> 12; -1 for anything else ("node", "node1x", "node-1", "possible"). */
static int parse_prefixed_index(const char *name, const char *prefix, int max)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0 || !isdigit((unsigned char)name[pl]))
        return -1;
    int64_t v;
    if (nf_parse_int64(name + pl, 0, max, &v) != 0)
        return -1;
    for (const char *p = name + pl; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    return (int)v;
}

/* ---------- environment for hwloc ---------- */

static pthread_mutex_t env_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct saved_env {
    const char *name;
    char *value; /* NULL when unset */
} saved_env;

static const char *const env_names[] = {"HWLOC_FSROOT",     "HWLOC_COMPONENTS",
                                        "HWLOC_XMLFILE",    "HWLOC_SYNTHETIC",
                                        "HWLOC_CPUID_PATH", "HWLOC_KEEP_NVIDIA_GPU_NUMA_NODES"};
#define N_ENV (sizeof(env_names) / sizeof(env_names[0]))

static int env_save(saved_env *s)
{
    for (size_t i = 0; i < N_ENV; i++) {
        s[i].name = env_names[i];
        const char *v = getenv(env_names[i]);
        s[i].value = NULL;
        if (v && !(s[i].value = strdup(v)))
            return -ENOMEM;
    }
    return 0;
}

static void env_restore(saved_env *s)
{
    for (size_t i = 0; i < N_ENV; i++) {
        if (s[i].value)
            setenv(s[i].name, s[i].value, 1);
        else
            unsetenv(s[i].name);
        free(s[i].value);
        s[i].value = NULL;
    }
}

/* ---------- root derivation ---------- */

static char *strip_slashes(const char *p)
{
    char *c = strdup(p);
    if (!c)
        return NULL;
    size_t n = strlen(c);
    while (n > 1 && c[n - 1] == '/')
        c[--n] = '\0';
    return c;
}

/* "<root>/sys" + "<root>/proc" -> realpath(<root>). */
static int derive_fsroot(const char *sysfs_root, const char *procfs_root, char **out, nf_err *err)
{
    int rc = 0;
    char *s = strip_slashes(sysfs_root), *p = strip_slashes(procfs_root);
    char *sdir = NULL, *pdir = NULL;
    if (!s || !p) {
        rc = nf_errf(err, -ENOMEM, "out of memory");
        goto out;
    }
    char *sb = strrchr(s, '/'), *pb = strrchr(p, '/');
    const char *sbase = sb ? sb + 1 : s, *pbase = pb ? pb + 1 : p;
    if (strcmp(sbase, "sys") != 0 || strcmp(pbase, "proc") != 0) {
        rc = nf_errf(err, -EINVAL,
                     "--sysfs-root %s / --procfs-root %s: must be <root>/sys and <root>/proc of "
                     "one <root> (hwloc reads both through HWLOC_FSROOT=<root>)",
                     sysfs_root, procfs_root);
        goto out;
    }
    /* parent directories ("." for a bare "sys", "/" for "/sys") */
    if (sb)
        *sb = '\0';
    if (pb)
        *pb = '\0';
    const char *sparent = sb ? (*s ? s : "/") : ".";
    const char *pparent = pb ? (*p ? p : "/") : ".";
    sdir = realpath(sparent, NULL);
    pdir = realpath(pparent, NULL);
    if (!sdir || !pdir) {
        rc = nf_errf(err, -ENOENT, "--sysfs-root %s / --procfs-root %s: %s: %s", sysfs_root,
                     procfs_root, sdir ? pparent : sparent, strerror(errno));
        goto out;
    }
    if (strcmp(sdir, pdir) != 0) {
        rc = nf_errf(err, -EINVAL,
                     "--sysfs-root %s and --procfs-root %s do not share one parent (%s vs %s): "
                     "hwloc needs <root>/sys and <root>/proc under one HWLOC_FSROOT",
                     sysfs_root, procfs_root, sdir, pdir);
        goto out;
    }
    char *probe = nf_path_join(sdir, "sys", NULL);
    struct stat st;
    if (!probe || stat(probe, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = nf_errf(err, -ENOENT, "--sysfs-root %s: not a directory", sysfs_root);
        free(probe);
        goto out;
    }
    free(probe);
    *out = sdir;
    sdir = NULL;
out:
    free(s);
    free(p);
    free(sdir);
    free(pdir);
    return rc;
}

/* ---------- hwloc extraction ---------- */

typedef struct pu_map {
    int *core;    /* per CPU id: global core slot, -1 when hwloc has no Core above it */
    int *package; /* per CPU id: socket id, -1 when no Package */
    size_t n;     /* CPU ids 0..n-1 */
    int n_core_slots;
} pu_map;

static int package_id(hwloc_obj_t o)
{
    return o->os_index == HWLOC_UNKNOWN_INDEX ? (int)o->logical_index : (int)o->os_index;
}

static int load_hwloc(nf_machine *m, hwloc_topology_t *out, nf_err *err)
{
    saved_env saved[N_ENV];
    pthread_mutex_lock(&env_lock);
    int rc = env_save(saved);
    if (rc) {
        env_restore(saved);
        pthread_mutex_unlock(&env_lock);
        return nf_errf(err, rc, "out of memory");
    }
    setenv("HWLOC_FSROOT", m->fsroot, 1);
    if (m->fake)
        setenv("HWLOC_COMPONENTS", "-x86", 1);
    else
        unsetenv("HWLOC_COMPONENTS");
    unsetenv("HWLOC_XMLFILE");
    unsetenv("HWLOC_SYNTHETIC");
    unsetenv("HWLOC_CPUID_PATH");
    setenv("HWLOC_KEEP_NVIDIA_GPU_NUMA_NODES", "1", 1);

    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0) {
        rc = nf_errf(err, -ENOMEM, "hwloc_topology_init failed");
    } else {
        hwloc_topology_set_flags(topo, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
        /* caches and I/O are not needed: skip them (faster, smaller) */
        hwloc_topology_set_cache_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
        hwloc_topology_set_icache_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
        hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
        if (hwloc_topology_load(topo) != 0) {
            rc = nf_errf(err, -EIO, "hwloc could not load the topology under %s: %s", m->fsroot,
                         strerror(errno));
            hwloc_topology_destroy(topo);
        } else {
            *out = topo;
        }
    }
    env_restore(saved);
    pthread_mutex_unlock(&env_lock);
    return rc;
}

static int build_pu_map(nf_machine *m, hwloc_topology_t topo, pu_map *pm)
{
    int max = -1;
    for (hwloc_obj_t pu = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PU, NULL); pu;
         pu = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PU, pu)) {
        if (pu->os_index == HWLOC_UNKNOWN_INDEX || pu->os_index > NF_CPU_MAX)
            continue;
        if ((int)pu->os_index > max)
            max = (int)pu->os_index;
        if (nf_cpuset_set(&m->online, pu->os_index) != 0)
            return -ENOMEM;
    }
    pm->n = (size_t)(max + 1);
    pm->core = malloc((pm->n ? pm->n : 1) * sizeof(int));
    pm->package = malloc((pm->n ? pm->n : 1) * sizeof(int));
    if (!pm->core || !pm->package)
        return -ENOMEM;
    for (size_t i = 0; i < pm->n; i++)
        pm->core[i] = pm->package[i] = -1;
    for (hwloc_obj_t pu = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PU, NULL); pu;
         pu = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PU, pu)) {
        if (pu->os_index == HWLOC_UNKNOWN_INDEX || pu->os_index > NF_CPU_MAX)
            continue;
        hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, pu);
        hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, pu);
        if (core)
            pm->core[pu->os_index] = (int)core->logical_index;
        if (pkg)
            pm->package[pu->os_index] = package_id(pkg);
    }
    pm->n_core_slots = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    return 0;
}

static int build_sockets(nf_machine *m, hwloc_topology_t topo)
{
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
    m->packages = n;
    if (n <= 0) {
        return add_error(m, "no CPU package (socket) found: cpu*/topology/physical_package_id "
                            "missing; every NUMA node's socket is unknown");
    }
    int *ids = malloc((size_t)n * sizeof(int));
    if (!ids)
        return -ENOMEM;
    for (int i = 0; i < n; i++)
        ids[i] = package_id(hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, (unsigned)i));
    qsort(ids, (size_t)n, sizeof(int), cmp_int);
    m->sockets = calloc((size_t)n, sizeof(*m->sockets));
    if (!m->sockets) {
        free(ids);
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        if (m->n_sockets && m->sockets[m->n_sockets - 1].id == ids[i])
            continue; /* two packages with one physical id: publish the id once */
        m->sockets[m->n_sockets++].id = ids[i];
    }
    free(ids);
    return 0;
}

/* ---------- NUMA nodes ---------- */

static int list_node_ids(const char *dir, int **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int rc = 0;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        int id = parse_prefixed_index(de->d_name, "node", MAX_NODES - 1);
        if (id < 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            int *ni = realloc(*ids, cap * sizeof(int));
            if (!ni) {
                rc = -ENOMEM;
                break;
            }
            *ids = ni;
        }
        (*ids)[(*n)++] = id;
    }
    closedir(d);
    if (rc == 0 && *n)
        qsort(*ids, *n, sizeof(int), cmp_int);
    return rc;
}

static int read_node_cpus(nf_machine *m, machine_node *mn, const char *nodedir,
                          hwloc_topology_t topo)
{
    nf_err e = {{0}};
    nf_cpuset raw = {0};
    char *text = NULL;
    char *path = nf_path_join(nodedir, "cpulist", NULL);
    if (!path)
        return -ENOMEM;
    int rc = nf_read_file(path, SMALL_FILE, &text, NULL, &e);
    if (rc == 0) {
        rc = nf_cpuset_parse(text, &raw, &e);
        if (rc)
            add_error(m, "NUMA node %d: %s: %s", mn->id, path, e.msg);
    }
    free(text);
    text = NULL;
    if (rc) { /* old kernels have only cpumap */
        free(path);
        path = nf_path_join(nodedir, "cpumap", NULL);
        if (!path)
            return -ENOMEM;
        nf_err e2 = {{0}};
        rc = nf_read_file(path, SMALL_FILE, &text, NULL, &e2);
        if (rc == 0) {
            rc = nf_cpuset_parse_mask(text, &raw, &e2);
            if (rc)
                add_error(m, "NUMA node %d: %s: %s", mn->id, path, e2.msg);
        }
        free(text);
    }
    if (rc) {
        /* neither file: take hwloc's view of the node, when it has one */
        hwloc_obj_t o = hwloc_get_numanode_obj_by_os_index(topo, (unsigned)mn->id);
        if (o && o->cpuset) {
            for (int c = hwloc_bitmap_first(o->cpuset); c >= 0; c = hwloc_bitmap_next(o->cpuset, c))
                if (c <= NF_CPU_MAX && nf_cpuset_set(&raw, (unsigned)c) != 0) {
                    free(path);
                    nf_cpuset_free(&raw);
                    return -ENOMEM;
                }
            add_error(m, "NUMA node %d: no readable cpulist/cpumap; CPUs taken from hwloc", mn->id);
        } else {
            add_error(m, "NUMA node %d: no readable cpulist/cpumap; node published without CPUs",
                      mn->id);
        }
    }
    free(path);
    rc = nf_cpuset_and(&mn->online, &raw, &m->online);
    nf_cpuset_free(&raw);
    return rc;
}

static int group_cores(nf_machine *m, machine_node *mn, const pu_map *pm)
{
    mn->threads_per_core = NF_UNKNOWN;
    if (nf_cpuset_empty(&mn->online))
        return 0;
    int *slot_of = NULL;
    if (pm->n_core_slots > 0) {
        slot_of = malloc((size_t)pm->n_core_slots * sizeof(int));
        if (!slot_of)
            return -ENOMEM;
        for (int i = 0; i < pm->n_core_slots; i++)
            slot_of[i] = -1;
    }
    int rc = 0;
    bool missing = false;
    for (int c = nf_cpuset_next(&mn->online, 0); c >= 0; c = nf_cpuset_next(&mn->online, c + 1)) {
        int core = (size_t)c < pm->n ? pm->core[c] : -1;
        if (core < 0 || core >= pm->n_core_slots) {
            missing = true;
            break;
        }
        if (slot_of[core] < 0) {
            nf_cpuset *nc = realloc(mn->cores, (mn->n_cores + 1) * sizeof(*nc));
            if (!nc) {
                rc = -ENOMEM;
                break;
            }
            mn->cores = nc;
            memset(&nc[mn->n_cores], 0, sizeof(*nc));
            slot_of[core] = (int)mn->n_cores++;
        }
        if ((rc = nf_cpuset_set(&mn->cores[slot_of[core]], (unsigned)c)) != 0)
            break;
    }
    free(slot_of);
    if (rc)
        return rc;
    if (missing) {
        for (size_t i = 0; i < mn->n_cores; i++)
            nf_cpuset_free(&mn->cores[i]);
        free(mn->cores);
        mn->cores = NULL;
        mn->n_cores = 0;
        return add_error(m,
                         "NUMA node %d: core topology unknown (no cpu*/topology files); "
                         "threadsPerCore unknown",
                         mn->id);
    }
    int tpc = 0;
    for (size_t i = 0; i < mn->n_cores; i++) {
        int k = (int)nf_cpuset_count(&mn->cores[i]);
        if (k > tpc)
            tpc = k;
    }
    mn->threads_per_core = tpc;
    return 0;
}

static int place_node(nf_machine *m, machine_node *mn, const pu_map *pm)
{
    mn->socket = NF_UNKNOWN;
    int pkg = -2;
    for (int c = nf_cpuset_next(&mn->online, 0); c >= 0; c = nf_cpuset_next(&mn->online, c + 1)) {
        int p = (size_t)c < pm->n ? pm->package[c] : -1;
        if (pkg == -2)
            pkg = p;
        else if (pkg != p)
            pkg = -3;
    }
    if (pkg >= 0) {
        mn->socket = pkg;
        return 0;
    }
    if (pkg == -3)
        return add_error(m, "NUMA node %d: its CPUs belong to several packages; socket unknown",
                         mn->id);
    return 0;
}

/* A CPU-less node's socket: the one socket of the initiator nodes the kernel lists in
 * nodeN/access0/initiators (HMAT). hwloc attaches such nodes to the nearest CPU node by
 * distance when there is no initiator information; that is a guess, so it is not used. */
static void place_cpuless_node(const nf_machine *m, machine_node *mn, const char *nodedir)
{
    char *dir = nf_path_join(nodedir, "access0/initiators", NULL);
    DIR *d = dir ? opendir(dir) : NULL;
    free(dir);
    if (!d)
        return;
    int sock = -2;
    struct dirent *de;
    while ((de = readdir(d))) {
        int id = parse_prefixed_index(de->d_name, "node", MAX_NODES - 1);
        if (id < 0)
            continue;
        int s = NF_UNKNOWN;
        for (size_t i = 0; i < m->n_nodes; i++)
            if (m->nodes[i].id == id && !nf_cpuset_empty(&m->nodes[i].online))
                s = m->nodes[i].socket;
        if (sock == -2)
            sock = s;
        else if (sock != s)
            sock = NF_UNKNOWN;
    }
    closedir(d);
    if (sock >= 0)
        mn->socket = sock;
}

static void read_distances(nf_machine *m, machine_node *mn, const char *nodedir)
{
    nf_err e = {{0}};
    char *text = NULL;
    char *path = nf_path_join(nodedir, "distance", NULL);
    if (!path)
        return;
    if (nf_read_file(path, SMALL_FILE, &text, NULL, &e) != 0) {
        add_error(m, "NUMA node %d: distances unknown: %s", mn->id, e.msg);
        free(path);
        return;
    }
    int *d = calloc(m->n_nodes ? m->n_nodes : 1, sizeof(int));
    size_t n = 0;
    bool bad = false;
    char *save = NULL;
    for (char *tok = strtok_r(text, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
        int64_t v;
        if (!d || n >= m->n_nodes || nf_parse_int64(tok, 0, 255, &v) != 0) {
            bad = true;
            break;
        }
        d[n++] = (int)v;
    }
    if (bad || n != m->n_nodes) {
        add_error(m,
                  "NUMA node %d: distances unknown: %s does not hold %zu numbers in 0..255 (one "
                  "per NUMA node)",
                  mn->id, path, m->n_nodes);
        free(d);
    } else {
        mn->distances = d;
        mn->n_distances = n;
    }
    free(text);
    free(path);
}

static int build_nodes(nf_machine *m, hwloc_topology_t topo, const pu_map *pm)
{
    char *nodes_dir = nf_path_join(m->fsroot, "sys/devices/system/node", NULL);
    if (!nodes_dir)
        return -ENOMEM;
    int *ids = NULL;
    size_t n = 0;
    int rc = list_node_ids(nodes_dir, &ids, &n);
    if (rc == -ENOMEM) {
        free(nodes_dir);
        return rc;
    }
    rc = 0;
    bool synthetic = false;
    if (n == 0) {
        /* a kernel without NUMA: cadvisor shows one node 0 holding everything */
        add_error(m,
                  "%s: no nodeN directories; one NUMA node 0 with every CPU, /proc/meminfo "
                  "and sys/kernel/mm/hugepages",
                  nodes_dir);
        free(ids);
        ids = malloc(sizeof(int));
        if (!ids) {
            free(nodes_dir);
            return -ENOMEM;
        }
        ids[0] = 0;
        n = 1;
        synthetic = true;
    }
    m->nodes = calloc(n, sizeof(*m->nodes));
    if (!m->nodes) {
        free(ids);
        free(nodes_dir);
        return -ENOMEM;
    }
    m->n_nodes = n;
    for (size_t i = 0; i < n && rc >= 0; i++) {
        machine_node *mn = &m->nodes[i];
        mn->id = ids[i];
        char name[32];
        snprintf(name, sizeof(name), "node%d", mn->id);
        char *nodedir = nf_path_join(nodes_dir, name, NULL);
        if (!nodedir) {
            rc = -ENOMEM;
            break;
        }
        if (synthetic) {
            rc = nf_cpuset_copy(&mn->online, &m->online);
            mn->meminfo = nf_path_join(m->fsroot, "proc/meminfo", NULL);
            mn->meminfo_global = true;
            mn->hugepages = nf_path_join(m->fsroot, "sys/kernel/mm/hugepages", NULL);
        } else {
            rc = read_node_cpus(m, mn, nodedir, topo);
            mn->meminfo = nf_path_join(nodedir, "meminfo", NULL);
            mn->hugepages = nf_path_join(nodedir, "hugepages", NULL);
            if (rc == 0)
                read_distances(m, mn, nodedir);
        }
        free(nodedir);
        if (rc == 0 && (!mn->meminfo || !mn->hugepages))
            rc = -ENOMEM;
        if (rc == 0)
            rc = group_cores(m, mn, pm);
        if (rc == 0)
            rc = place_node(m, mn, pm);
    }
    free(ids);
    if (rc == 0 && !synthetic) {
        for (size_t i = 0; i < n; i++) {
            machine_node *mn = &m->nodes[i];
            if (!nf_cpuset_empty(&mn->online))
                continue;
            char name[32];
            snprintf(name, sizeof(name), "node%d", mn->id);
            char *nodedir = nf_path_join(nodes_dir, name, NULL);
            if (!nodedir) {
                rc = -ENOMEM;
                break;
            }
            place_cpuless_node(m, mn, nodedir);
            free(nodedir);
        }
    }
    free(nodes_dir);
    if (rc)
        return rc < 0 ? rc : -EIO;
    /* online CPUs that no node directory lists (a node taken offline) are published nowhere */
    nf_cpuset covered = {0}, lost = {0};
    for (size_t i = 0; i < m->n_nodes && rc == 0; i++)
        rc = nf_cpuset_or(&covered, &covered, &m->nodes[i].online);
    if (rc == 0)
        rc = nf_cpuset_andnot(&lost, &m->online, &covered);
    if (rc == 0 && !nf_cpuset_empty(&lost)) {
        char *list = NULL;
        if (nf_cpuset_format(&lost, &list) == 0)
            rc = add_error(m, "online CPUs %s are in no NUMA node directory: not published", list);
        free(list);
    }
    nf_cpuset_free(&covered);
    nf_cpuset_free(&lost);
    if (rc)
        return rc;
    /* socket -> its NUMA nodes */
    for (size_t s = 0; s < m->n_sockets; s++) {
        nf_socket *sk = &m->sockets[s];
        for (size_t i = 0; i < m->n_nodes; i++) {
            if (m->nodes[i].socket != sk->id)
                continue;
            int *nn = realloc(sk->numa_nodes, (sk->n_numa_nodes + 1) * sizeof(int));
            if (!nn)
                return -ENOMEM;
            sk->numa_nodes = nn;
            nn[sk->n_numa_nodes++] = m->nodes[i].id;
        }
    }
    return 0;
}

int nf_machine_open(const char *sysfs_root, const char *procfs_root, nf_machine **out, nf_err *err)
{
    *out = NULL;
    nf_machine *m = calloc(1, sizeof(*m));
    if (!m)
        return nf_errf(err, -ENOMEM, "out of memory");
    int rc = derive_fsroot(sysfs_root ? sysfs_root : "/sys", procfs_root ? procfs_root : "/proc",
                           &m->fsroot, err);
    if (rc) {
        nf_machine_free(m);
        return rc;
    }
    m->fake = strcmp(m->fsroot, "/") != 0;
    hwloc_topology_t topo = NULL;
    if ((rc = load_hwloc(m, &topo, err)) != 0) {
        nf_machine_free(m);
        return rc;
    }
    m->hwloc_numa = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    pu_map pm = {0};
    rc = build_pu_map(m, topo, &pm);
    if (rc == 0)
        rc = build_sockets(m, topo);
    if (rc == 0)
        rc = build_nodes(m, topo, &pm);
    free(pm.core);
    free(pm.package);
    hwloc_topology_destroy(topo);
    if (rc) {
        nf_machine_free(m);
        return nf_errf(err, rc, "%s: reading the topology: %s", sysfs_root ? sysfs_root : "/sys",
                       nf_strerror(rc));
    }
    *out = m;
    return 0;
}

void nf_machine_free(nf_machine *m)
{
    if (!m)
        return;
    free(m->fsroot);
    nf_cpuset_free(&m->online);
    for (size_t i = 0; i < m->n_sockets; i++)
        free(m->sockets[i].numa_nodes);
    free(m->sockets);
    for (size_t i = 0; i < m->n_nodes; i++) {
        machine_node *mn = &m->nodes[i];
        free(mn->distances);
        nf_cpuset_free(&mn->online);
        for (size_t c = 0; c < mn->n_cores; c++)
            nf_cpuset_free(&mn->cores[c]);
        free(mn->cores);
        free(mn->meminfo);
        free(mn->hugepages);
    }
    free(m->nodes);
    for (size_t i = 0; i < m->n_errors; i++)
        free(m->errors[i]);
    free(m->errors);
    free(m);
}

void nf_machine_get_info(const nf_machine *m, nf_machine_info *out)
{
    out->fsroot = m->fsroot;
    out->fake_root = m->fake;
    out->packages = m->packages;
    out->hwloc_numa_nodes = m->hwloc_numa;
    out->numa_nodes = (int)m->n_nodes;
    out->pus = (int)nf_cpuset_count(&m->online);
    out->online = &m->online;
}

/* ---------- dynamic part: memory and hugepages ---------- */

/* "Node 0 MemTotal:   123 kB" (or "MemTotal:   123 kB" in /proc/meminfo) -> bytes. */
static int meminfo_value(const char *text, const char *key, bool global, int64_t *out)
{
    size_t kl = strlen(key);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *p = line;
        if (!global) {
            if (strncmp(p, "Node ", 5) != 0)
                continue;
            p += 5;
            while (isdigit((unsigned char)*p))
                p++;
            while (*p == ' ')
                p++;
        }
        if (strncmp(p, key, kl) != 0 || p[kl] != ':')
            continue;
        p += kl + 1;
        char num[32];
        size_t n = 0;
        while (*p == ' ' || *p == '\t')
            p++;
        while (*p && *p != ' ' && *p != '\n' && n < sizeof(num) - 1)
            num[n++] = *p++;
        num[n] = '\0';
        while (*p == ' ')
            p++;
        if (strncmp(p, "kB", 2) != 0)
            return -EINVAL;
        int64_t kb;
        int rc = nf_parse_int64(num, 0, INT64_MAX / 1024, &kb);
        if (rc)
            return rc;
        *out = kb * 1024;
        return 0;
    }
    return -ENOENT;
}

static void read_memory(const machine_node *mn, nf_numa_node *nn)
{
    free(nn->mem_error);
    nn->mem_error = NULL;
    nn->mem_total = nn->mem_free = NF_UNKNOWN;
    nf_err e = {{0}};
    char *text = NULL;
    /* nodeN/meminfo is a sysfs attribute (one read() gets it); /proc/meminfo is not */
    int rc = mn->meminfo_global
                 ? nf_read_file(mn->meminfo, 1024 * 1024, &text, NULL, &e)
                 : nf_read_file_at(AT_FDCWD, NULL, mn->meminfo, 1024 * 1024, &text, NULL, &e);
    if (rc != 0) {
        nn->mem_error = nf_strdupf("error: %s", e.msg);
        return;
    }
    static const char *const keys[] = {"MemTotal", "MemFree"};
    int64_t *dst[] = {&nn->mem_total, &nn->mem_free};
    for (int k = 0; k < 2; k++) {
        rc = meminfo_value(text, keys[k], mn->meminfo_global, dst[k]);
        if (rc && !nn->mem_error)
            nn->mem_error =
                nf_strdupf("error: %s: %s %s", mn->meminfo, keys[k],
                           rc == -ENOENT ? "missing" : "is not a number of kB in range");
    }
    if (!nn->mem_error && nn->mem_free > nn->mem_total) {
        nn->mem_error = nf_strdupf("error: %s: MemFree %" PRId64 " > MemTotal %" PRId64,
                                   mn->meminfo, nn->mem_free, nn->mem_total);
        nn->mem_free = NF_UNKNOWN;
    }
    free(text);
}

typedef struct hp_dir {
    uint64_t kb;
    char name[64];
} hp_dir;

static int cmp_hp(const void *a, const void *b)
{
    uint64_t x = ((const hp_dir *)a)->kb, y = ((const hp_dir *)b)->kb;
    return (x > y) - (x < y);
}

static int read_hugepages(const machine_node *mn, nf_numa_node *nn)
{
    for (size_t i = 0; i < nn->n_hugepages; i++) {
        free(nn->hugepages[i].name);
        free(nn->hugepages[i].error);
    }
    free(nn->hugepages);
    nn->hugepages = NULL;
    nn->n_hugepages = 0;

    DIR *d = opendir(mn->hugepages);
    if (!d)
        return 0; /* no hugepage support (or no dirs, as in old captures): nothing to publish */
    hp_dir dirs[MAX_HUGEPAGE_SIZES];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < MAX_HUGEPAGE_SIZES) {
        const char *s = de->d_name;
        if (strncmp(s, "hugepages-", 10) != 0)
            continue;
        char *end;
        errno = 0;
        if (!isdigit((unsigned char)s[10]))
            continue;
        unsigned long long kb = strtoull(s + 10, &end, 10);
        if (errno || strcmp(end, "kB") != 0 || kb == 0 || kb > MAX_PAGE_KB)
            continue;
        dirs[n].kb = kb;
        snprintf(dirs[n].name, sizeof(dirs[n].name), "hugepages-%llukB", kb);
        n++;
    }
    if (!n) {
        closedir(d);
        return 0;
    }
    qsort(dirs, n, sizeof(dirs[0]), cmp_hp);
    nn->hugepages = calloc(n, sizeof(*nn->hugepages));
    if (!nn->hugepages) {
        closedir(d);
        return -ENOMEM;
    }
    int rc = 0;
    /* the counters are read relative to the open hugepages directory */
    int hfd = dirfd(d);
    for (size_t i = 0; i < n && rc == 0; i++) {
        nf_hugepages *h = &nn->hugepages[i];
        nn->n_hugepages++;
        h->page_bytes = dirs[i].kb * 1024;
        char rname[64];
        nf_hugepage_resource_name(h->page_bytes, rname, sizeof(rname));
        if (!(h->name = strdup(rname))) {
            rc = -ENOMEM;
            break;
        }
        static const char *const files[] = {"nr_hugepages", "free_hugepages", "surplus_hugepages"};
        int64_t *dst[] = {&h->total, &h->free, &h->surplus};
        int64_t max = INT64_MAX / (int64_t)h->page_bytes; /* count * page size fits in bytes */
        for (int f = 0; f < 3; f++) {
            *dst[f] = NF_UNKNOWN;
            char name[sizeof(dirs[i].name) + 32];
            snprintf(name, sizeof(name), "%s/%s", dirs[i].name, files[f]);
            nf_err e = {{0}};
            if (nf_read_int64_at(hfd, mn->hugepages, name, 0, max, dst[f], &e) != 0) {
                *dst[f] = NF_UNKNOWN;
                if (!h->error)
                    h->error = nf_strdupf("error: %s", e.msg);
            }
        }
        if (!h->error && h->free > h->total) {
            h->error =
                nf_strdupf("error: %s/%s: free_hugepages %" PRId64 " > nr_hugepages %" PRId64,
                           mn->hugepages, dirs[i].name, h->free, h->total);
            h->free = NF_UNKNOWN;
        }
    }
    closedir(d);
    return rc;
}

/* ---------- nf_machine_read ---------- */

static int fill_static(const nf_machine *m, nf_topology *t)
{
    t->sockets = calloc(m->n_sockets ? m->n_sockets : 1, sizeof(*t->sockets));
    t->numa_nodes = calloc(m->n_nodes ? m->n_nodes : 1, sizeof(*t->numa_nodes));
    if (!t->sockets || !t->numa_nodes)
        return -ENOMEM;
    for (size_t s = 0; s < m->n_sockets; s++) {
        nf_socket *dst = &t->sockets[s];
        t->n_sockets++;
        dst->id = m->sockets[s].id;
        if (m->sockets[s].n_numa_nodes) {
            dst->numa_nodes = malloc(m->sockets[s].n_numa_nodes * sizeof(int));
            if (!dst->numa_nodes)
                return -ENOMEM;
            memcpy(dst->numa_nodes, m->sockets[s].numa_nodes,
                   m->sockets[s].n_numa_nodes * sizeof(int));
            dst->n_numa_nodes = m->sockets[s].n_numa_nodes;
        }
    }
    for (size_t i = 0; i < m->n_nodes; i++) {
        const machine_node *mn = &m->nodes[i];
        nf_numa_node *nn = &t->numa_nodes[i];
        t->n_numa_nodes++;
        nn->id = mn->id;
        nn->socket = mn->socket;
        nn->mem_total = nn->mem_free = NF_UNKNOWN;
        if (mn->n_distances) {
            nn->distances = malloc(mn->n_distances * sizeof(int));
            if (!nn->distances)
                return -ENOMEM;
            memcpy(nn->distances, mn->distances, mn->n_distances * sizeof(int));
            nn->n_distances = mn->n_distances;
        }
        if (nf_cpuset_copy(&nn->cpus.online, &mn->online) != 0)
            return -ENOMEM;
        nn->cpus.threads_per_core = mn->threads_per_core;
        if (mn->n_cores) {
            nn->cpus.cores = calloc(mn->n_cores, sizeof(nf_cpuset));
            if (!nn->cpus.cores)
                return -ENOMEM;
            nn->cpus.n_cores = mn->n_cores;
            for (size_t c = 0; c < mn->n_cores; c++)
                if (nf_cpuset_copy(&nn->cpus.cores[c], &mn->cores[c]) != 0)
                    return -ENOMEM;
        }
    }
    for (size_t i = 0; i < m->n_errors; i++)
        if (nf_topology_add_error(t, "%s", m->errors[i]) != 0)
            return -ENOMEM;
    return 0;
}

int nf_machine_read(const nf_machine *m, nf_topology *t)
{
    if (t->n_numa_nodes == 0) {
        int rc = fill_static(m, t);
        if (rc)
            return rc;
    } else {
        if (t->n_numa_nodes != m->n_nodes)
            return -EINVAL;
        for (size_t i = 0; i < m->n_nodes; i++)
            if (t->numa_nodes[i].id != m->nodes[i].id)
                return -EINVAL;
    }
    for (size_t i = 0; i < m->n_nodes; i++) {
        read_memory(&m->nodes[i], &t->numa_nodes[i]);
        int rc = read_hugepages(&m->nodes[i], &t->numa_nodes[i]);
        if (rc)
            return rc;
    }
    return 0;
}
