/* pod_cpus.c - affinity and CPU placement of this container (see pod_cpus.h). */
#include "pod_cpus.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/fileio.h"

#define STATUS_MAX (64 * 1024)

/* Cpus_allowed_list from self/status: 0 and *found when the file has it; -ENOENT when the file
 * is absent (the caller falls back to sched_getaffinity). */
static int cpus_from_status(const char *procfs, nf_cpuset *out, bool *found, nf_err *err)
{
    char *path = nf_path_join(procfs, "self/status", NULL), *text = NULL;
    if (!path)
        return -ENOMEM;
    *found = false;
    int rc = nf_read_file(path, STATUS_MAX, &text, NULL, err);
    if (rc == 0) {
        char *p = strstr(text, "\nCpus_allowed_list:");
        if (p) {
            p += strlen("\nCpus_allowed_list:");
            p[strcspn(p, "\n")] = '\0';
            rc = nf_cpuset_parse(p, out, err);
            if (rc)
                rc = nf_errf(err, rc, "%s: Cpus_allowed_list: %s", path, err->msg);
            *found = rc == 0;
        }
    }
    free(text);
    free(path);
    return rc;
}

static int cpus_from_affinity(nf_cpuset *out, nf_err *err)
{
    for (int ncpu = 1024; ncpu <= 65536; ncpu *= 4) {
        cpu_set_t *set = CPU_ALLOC(ncpu);
        size_t size = CPU_ALLOC_SIZE(ncpu);
        if (!set)
            return -ENOMEM;
        CPU_ZERO_S(size, set);
        if (sched_getaffinity(0, size, set) == 0) {
            int rc = 0;
            for (int c = 0; c < ncpu && !rc; c++)
                if (CPU_ISSET_S(c, size, set))
                    rc = nf_cpuset_set(out, (unsigned)c);
            CPU_FREE(set);
            return rc;
        }
        int e = errno;
        CPU_FREE(set);
        if (e != EINVAL)
            return nf_errf(err, -e, "sched_getaffinity: %s", strerror(e));
    }
    return nf_errf(err, -EINVAL, "sched_getaffinity: more than 65536 CPUs");
}

/* Online NUMA nodes and their CPUs; a kernel without NUMA (no node/online) is one node 0
 * holding the online CPUs. */
static int read_nodes(const char *sysfs, nf_pod_cpus *c, nf_err *err)
{
    char *online = nf_path_join(sysfs, "devices/system/node/online", NULL);
    char line[4096];
    nf_cpuset ids = {0};
    int rc = online ? 0 : -ENOMEM;
    bool numa = rc == 0 && nf_read_line(online, line, sizeof(line), NULL) == 0;
    if (rc == 0 && numa)
        rc = nf_cpuset_parse(line, &ids, err);
    else if (rc == 0)
        rc = nf_cpuset_set(&ids, 0);
    if (rc == 0 && !(c->nodes = calloc(nf_cpuset_count(&ids) + 1, sizeof(*c->nodes))))
        rc = -ENOMEM;
    for (int id = nf_cpuset_next(&ids, 0); rc == 0 && id >= 0;
         id = nf_cpuset_next(&ids, (unsigned)id + 1)) {
        nf_pod_node *n = &c->nodes[c->n_nodes++];
        n->id = id;
        char name[64];
        if (numa)
            snprintf(name, sizeof(name), "node/node%d/cpulist", id);
        else
            snprintf(name, sizeof(name), "cpu/online");
        char *p = nf_path_join(sysfs, "devices/system", name, NULL);
        if (!p)
            rc = -ENOMEM;
        else if ((rc = nf_read_line(p, line, sizeof(line), err)) == 0 &&
                 (rc = nf_cpuset_parse(line, &n->cpus, err)) != 0)
            rc = nf_errf(err, rc, "%s: %s", p, err->msg);
        free(p);
    }
    nf_cpuset_free(&ids);
    free(online);
    return rc;
}

static int read_cpu(const char *sysfs, nf_pod_cpus *c, nf_pod_cpu *cpu)
{
    char dir[64];
    int64_t v;
    snprintf(dir, sizeof(dir), "devices/system/cpu/cpu%u/topology", cpu->id);
    char *t = nf_path_join(sysfs, dir, NULL);
    if (!t)
        return -ENOMEM;
    cpu->node = -1;
    for (size_t i = 0; i < c->n_nodes; i++)
        if (nf_cpuset_test(&c->nodes[i].cpus, cpu->id))
            cpu->node = c->nodes[i].id;
    if (c->n_nodes > 0 && cpu->node < 0) {
        /* in the affinity but on no NUMA node: not present here (an affinity or status can
         * name every possible CPU, 0-4095 on some kernels): nothing of it to read, and three
         * failed opens per CPU were most of the time such a view took */
        cpu->socket = cpu->core = -1;
        cpu->siblings[0] = '\0';
        free(t);
        return 0;
    }
    char *p = nf_path_join(t, "physical_package_id", NULL);
    cpu->socket = p && nf_read_int64(p, 0, 65535, &v, NULL) == 0 ? (int)v : -1;
    free(p);
    p = nf_path_join(t, "core_id", NULL);
    cpu->core = p && nf_read_int64(p, 0, 1 << 30, &v, NULL) == 0 ? (int)v : -1;
    free(p);
    p = nf_path_join(t, "thread_siblings_list", NULL);
    if (!p || nf_read_line(p, cpu->siblings, sizeof(cpu->siblings), NULL) != 0)
        cpu->siblings[0] = '\0';
    free(p);
    free(t);
    return 0;
}

int nf_pod_cpus_read(const nf_pod_roots *r, nf_pod_cpus *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    bool found = false;
    int rc = 0;
    /* this process's own view: the system call itself; another procfs tree: its status file
     * when it has Cpus_allowed_list (a test's, or a container's seen from the host) */
    if (strcmp(r->procfs, "/proc") != 0 &&
        (rc = cpus_from_status(r->procfs, &out->set, &found, err)) == -ENOENT)
        rc = 0;
    out->from_status = found;
    if (rc == 0 && !found)
        rc = cpus_from_affinity(&out->set, err);
    if (rc == 0 && nf_cpuset_empty(&out->set))
        rc = nf_errf(err, -EINVAL, "no CPU in this process's affinity");
    if (rc == 0)
        rc = read_nodes(r->sysfs, out, err);
    if (rc == 0 && !(out->cpu = calloc(nf_cpuset_count(&out->set), sizeof(*out->cpu))))
        rc = -ENOMEM;
    for (int id = rc ? -1 : nf_cpuset_next(&out->set, 0); id >= 0 && rc == 0;
         id = nf_cpuset_next(&out->set, (unsigned)id + 1)) {
        nf_pod_cpu *cpu = &out->cpu[out->n++];
        cpu->id = (unsigned)id;
        rc = read_cpu(r->sysfs, out, cpu);
    }
    if (rc)
        nf_pod_cpus_free(out);
    return rc;
}

int nf_pod_node_index(const nf_pod_cpus *c, int id)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].id == id)
            return (int)i;
    return -1;
}

void nf_pod_cpus_free(nf_pod_cpus *c)
{
    nf_cpuset_free(&c->set);
    for (size_t i = 0; i < c->n_nodes; i++)
        nf_cpuset_free(&c->nodes[i].cpus);
    free(c->nodes);
    free(c->cpu);
    memset(c, 0, sizeof(*c));
}
