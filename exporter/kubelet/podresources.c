/* podresources.c - kubelet's podresources API v1 over gRPC core + protobuf-c (podresources.h). */
#include "podresources.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "podresources-v1.pb-c.h"

#define MAX_NUMA_ID 1023

struct nf_podres_client {
    char *path;
    char *target; /* "unix:<path>" */
    int64_t timeout_ms;
    bool inited; /* grpc_init() done (only once a socket was seen) */
    grpc_channel *channel;
    grpc_completion_queue *cq;
};

void nf_podres_state_free(nf_podres_state *s)
{
    nf_cpuset_free(&s->allocatable_cpus);
    nf_cpu_state_free(&s->cpus);
    nf_memory_state_free(&s->memory);
    nf_device_checkpoint_free(&s->devices);
    memset(s, 0, sizeof(*s));
}

/* ---- decoding ------------------------------------------------------------------------------ */

static bool blank(const char *s)
{
    return !s || !*s;
}

/* "ns/name" for messages */
static const char *pod_label(const V1__PodResources *p, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", blank(p->namespace_) ? "(no namespace)" : p->namespace_,
             blank(p->name) ? "(no name)" : p->name);
    return buf;
}

static int cpus_of(const int64_t *ids, size_t n, nf_cpuset *out, const char *where, nf_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] > NF_CPU_MAX)
            return nf_errf(err, -EINVAL, "%s: CPU id %lld outside 0..%d", where, (long long)ids[i],
                           NF_CPU_MAX);
        if (nf_cpuset_set(out, (unsigned)ids[i]))
            return nf_errf(err, -ENOMEM, "out of memory");
    }
    return 0;
}

/* The NUMA ids of a TopologyInfo into *ids (malloc'ed, may be NULL when there are none). */
static int numa_of(const V1__TopologyInfo *t, int **ids, size_t *n, const char *where, nf_err *err)
{
    *ids = NULL;
    *n = 0;
    if (!t || !t->n_nodes)
        return 0;
    if (!(*ids = calloc(t->n_nodes, sizeof(**ids))))
        return nf_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < t->n_nodes; i++) {
        int64_t id = t->nodes[i] ? t->nodes[i]->id : -1;
        if (id < 0 || id > MAX_NUMA_ID) {
            free(*ids);
            *ids = NULL;
            return nf_errf(err, -EINVAL, "%s: NUMA node %lld outside 0..%d", where, (long long)id,
                           MAX_NUMA_ID);
        }
        (*ids)[(*n)++] = (int)id;
    }
    return 0;
}

static int set_pod(char **ns, char **name, const V1__PodResources *p)
{
    return (*ns = strdup(p->namespace_)) && (*name = strdup(p->name)) ? 0 : -ENOMEM;
}

static void *grow(void *arr, size_t n, size_t size)
{
    return realloc(arr, (n + 1) * size);
}

static int add_cpus(nf_cpu_state *st, const V1__PodResources *p, const V1__ContainerResources *c,
                    const char *where, nf_err *err)
{
    if (!c->n_cpu_ids)
        return 0;
    nf_cpu_assignment *na = grow(st->assignments, st->n_assignments, sizeof(*na));
    if (!na)
        return nf_errf(err, -ENOMEM, "out of memory");
    st->assignments = na;
    nf_cpu_assignment *a = &na[st->n_assignments++];
    memset(a, 0, sizeof(*a));
    if (set_pod(&a->pod_namespace, &a->pod_name, p) || !(a->container = strdup(c->name)))
        return nf_errf(err, -ENOMEM, "out of memory");
    return cpus_of(c->cpu_ids, c->n_cpu_ids, &a->cpus, where, err);
}

static int add_memory(nf_memory_state *st, const V1__PodResources *p,
                      const V1__ContainerResources *c, const char *where, nf_err *err)
{
    if (!c->n_memory)
        return 0;
    nf_memory_assignment *na = grow(st->assignments, st->n_assignments, sizeof(*na));
    if (!na)
        return nf_errf(err, -ENOMEM, "out of memory");
    st->assignments = na;
    nf_memory_assignment *a = &na[st->n_assignments++];
    memset(a, 0, sizeof(*a));
    if (set_pod(&a->pod_namespace, &a->pod_name, p) || !(a->container = strdup(c->name)) ||
        !(a->blocks = calloc(c->n_memory, sizeof(*a->blocks))))
        return nf_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < c->n_memory; i++) {
        const V1__ContainerMemory *m = c->memory[i];
        nf_memory_block *b = &a->blocks[a->n_blocks++];
        if (blank(m->memory_type))
            return nf_errf(err, -EINVAL, "%s: memory block %zu without a memory_type", where, i);
        if (m->size > INT64_MAX)
            return nf_errf(err, -EINVAL, "%s: %s block of %llu bytes", where, m->memory_type,
                           (unsigned long long)m->size);
        b->size = (int64_t)m->size;
        if (!(b->type = strdup(m->memory_type)))
            return nf_errf(err, -ENOMEM, "out of memory");
        int rc = numa_of(m->topology, &b->numa, &b->n_numa, where, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Every device ID of ds as one alloc (pod set by the caller when p is given) or as a registered
 * device (p NULL). */
static int add_devices(nf_device_checkpoint *dc, const V1__PodResources *p,
                       const V1__ContainerResources *c, V1__ContainerDevices *const *ds, size_t n,
                       const char *where, nf_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const V1__ContainerDevices *d = ds[i];
        if (blank(d->resource_name))
            return nf_errf(err, -EINVAL, "%s: devices without a resource_name", where);
        int *numa;
        size_t n_numa;
        int rc = numa_of(d->topology, &numa, &n_numa, where, err);
        if (rc)
            return rc;
        int node = n_numa == 1 ? numa[0] : -1;
        free(numa);
        for (size_t k = 0; k < d->n_device_ids; k++) {
            const char *id = d->device_ids[k];
            if (blank(id))
                return nf_errf(err, -EINVAL, "%s: an empty device ID of %s", where,
                               d->resource_name);
            if (!p) {
                nf_kv *nr = grow(dc->registered, dc->n_registered, sizeof(*nr));
                if (!nr)
                    return nf_errf(err, -ENOMEM, "out of memory");
                dc->registered = nr;
                nf_kv *kv = &nr[dc->n_registered++];
                kv->key = strdup(d->resource_name);
                kv->value = strdup(id);
                if (!kv->key || !kv->value)
                    return nf_errf(err, -ENOMEM, "out of memory");
                continue;
            }
            nf_device_alloc *na = grow(dc->allocs, dc->n_allocs, sizeof(*na));
            if (!na)
                return nf_errf(err, -ENOMEM, "out of memory");
            dc->allocs = na;
            nf_device_alloc *a = &na[dc->n_allocs++];
            memset(a, 0, sizeof(*a));
            a->numa = node;
            if (set_pod(&a->pod_namespace, &a->pod_name, p) || !(a->container = strdup(c->name)) ||
                !(a->resource = strdup(d->resource_name)) || !(a->device_id = strdup(id)))
                return nf_errf(err, -ENOMEM, "out of memory");
        }
    }
    return 0;
}

static int decode_list(const V1__ListPodResourcesResponse *l, nf_podres_state *s, nf_err *err)
{
    char pod[320], where[400];
    int rc = 0;
    for (size_t i = 0; i < l->n_pod_resources && !rc; i++) {
        const V1__PodResources *p = l->pod_resources[i];
        pod_label(p, pod, sizeof(pod));
        if (blank(p->namespace_) || blank(p->name))
            return nf_errf(err, -EINVAL, "List: pod %zu (%s) without a namespace or a name", i,
                           pod);
        s->n_pods++;
        for (size_t k = 0; k < p->n_containers && !rc; k++) {
            const V1__ContainerResources *c = p->containers[k];
            if (blank(c->name))
                return nf_errf(err, -EINVAL, "List: pod %s: container %zu without a name", pod, k);
            snprintf(where, sizeof(where), "List: pod %s container %s", pod, c->name);
            s->n_containers++;
            if (!(rc = add_cpus(&s->cpus, p, c, where, err)) &&
                !(rc = add_memory(&s->memory, p, c, where, err)))
                rc = add_devices(&s->devices, p, c, c->devices, c->n_devices, where, err);
        }
    }
    return rc;
}

static int cmp_pod(const char *ans, const char *an, const char *ac, const char *bns, const char *bn,
                   const char *bc)
{
    int c = strcmp(ans, bns);
    if (!c)
        c = strcmp(an, bn);
    return c ? c : strcmp(ac ? ac : "", bc ? bc : "");
}

static int cmp_cpu(const void *a, const void *b)
{
    const nf_cpu_assignment *x = a, *y = b;
    return cmp_pod(x->pod_namespace, x->pod_name, x->container, y->pod_namespace, y->pod_name,
                   y->container);
}

static int cmp_mem(const void *a, const void *b)
{
    const nf_memory_assignment *x = a, *y = b;
    return cmp_pod(x->pod_namespace, x->pod_name, x->container, y->pod_namespace, y->pod_name,
                   y->container);
}

static int cmp_dev(const void *a, const void *b)
{
    const nf_device_alloc *x = a, *y = b;
    int c = cmp_pod(x->pod_namespace, x->pod_name, x->container, y->pod_namespace, y->pod_name,
                    y->container);
    if (!c)
        c = strcmp(x->resource, y->resource);
    return c ? c : strcmp(x->device_id, y->device_id);
}

int nf_podres_state_decode(const uint8_t *alloc, size_t alloc_len, const uint8_t *list,
                           size_t list_len, nf_podres_state *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    V1__AllocatableResourcesResponse *a =
        v1__allocatable_resources_response__unpack(NULL, alloc_len, alloc);
    if (!a)
        return nf_errf(err, -EBADMSG,
                       "GetAllocatableResources: the answer (%zu bytes) is not an "
                       "AllocatableResourcesResponse",
                       alloc_len);
    V1__ListPodResourcesResponse *l = v1__list_pod_resources_response__unpack(NULL, list_len, list);
    if (!l) {
        v1__allocatable_resources_response__free_unpacked(a, NULL);
        return nf_errf(err, -EBADMSG,
                       "List: the answer (%zu bytes) is not a ListPodResourcesResponse", list_len);
    }
    int rc =
        cpus_of(a->cpu_ids, a->n_cpu_ids, &out->allocatable_cpus, "GetAllocatableResources", err);
    if (!rc)
        rc = add_devices(&out->devices, NULL, NULL, a->devices, a->n_devices,
                         "GetAllocatableResources", err);
    out->memory_static = a->n_memory > 0;
    if (!rc)
        rc = decode_list(l, out, err);
    v1__allocatable_resources_response__free_unpacked(a, NULL);
    v1__list_pod_resources_response__free_unpacked(l, NULL);
    if (rc) {
        nf_podres_state_free(out);
        return rc;
    }
    out->devices.version = 2;
    if (out->cpus.n_assignments)
        qsort(out->cpus.assignments, out->cpus.n_assignments, sizeof(nf_cpu_assignment), cmp_cpu);
    if (out->memory.n_assignments)
        qsort(out->memory.assignments, out->memory.n_assignments, sizeof(nf_memory_assignment),
              cmp_mem);
    if (out->devices.n_allocs)
        qsort(out->devices.allocs, out->devices.n_allocs, sizeof(nf_device_alloc), cmp_dev);
    return 0;
}

/* ---- gRPC ---------------------------------------------------------------------------------- */

int nf_podres_client_new(const char *socket_path, int64_t timeout_ms, nf_podres_client **out)
{
    nf_podres_client *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : NF_PODRES_TIMEOUT_DEFAULT_MS;
    if (!(c->path = strdup(socket_path)) || asprintf(&c->target, "unix:%s", socket_path) < 0) {
        c->target = NULL;
        nf_podres_client_free(c);
        return -ENOMEM;
    }
    *out = c;
    return 0;
}

static void drop_channel(nf_podres_client *c)
{
    if (c->channel)
        grpc_channel_destroy(c->channel);
    c->channel = NULL;
}

void nf_podres_client_free(nf_podres_client *c)
{
    if (!c)
        return;
    drop_channel(c);
    if (c->cq) {
        grpc_completion_queue_shutdown(c->cq);
        while (grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
                   .type != GRPC_QUEUE_SHUTDOWN)
            ;
        grpc_completion_queue_destroy(c->cq);
    }
    if (c->inited)
        grpc_shutdown();
    free(c->path);
    free(c->target);
    free(c);
}

static int open_channel(nf_podres_client *c)
{
    if (c->channel)
        return 0;
    if (!c->inited) {
        grpc_init();
        c->inited = true;
    }
    if (!c->cq && !(c->cq = grpc_completion_queue_create_for_pluck(NULL)))
        return -ENOMEM;
    /* kubelet's answers can be large (500 pods); re-dial fast after a kubelet restart */
    grpc_arg args[3] = {
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
         .value.integer = NF_PODRES_MAX_MESSAGE},
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
         .value.integer = 100},
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, .value.integer = 1000},
    };
    grpc_channel_args ca = {.num_args = 3, .args = args};
    grpc_channel_credentials *cred = grpc_insecure_credentials_create();
    c->channel = cred ? grpc_channel_create(c->target, cred, &ca) : NULL;
    grpc_channel_credentials_release(cred);
    return c->channel ? 0 : -ENOMEM;
}

static const char *status_name(grpc_status_code s)
{
    switch (s) {
    case GRPC_STATUS_CANCELLED:
        return "CANCELLED";
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        return "DEADLINE_EXCEEDED";
    case GRPC_STATUS_UNIMPLEMENTED:
        return "UNIMPLEMENTED";
    case GRPC_STATUS_UNAVAILABLE:
        return "UNAVAILABLE";
    case GRPC_STATUS_RESOURCE_EXHAUSTED:
        return "RESOURCE_EXHAUSTED";
    case GRPC_STATUS_PERMISSION_DENIED:
        return "PERMISSION_DENIED";
    case GRPC_STATUS_INTERNAL:
        return "INTERNAL";
    default:
        return "error";
    }
}

/* One unary call with an empty request; the answer's bytes into *out (malloc'ed). */
static int unary(nf_podres_client *c, const char *method, uint8_t **out, size_t *len, nf_err *err)
{
    *out = NULL;
    *len = 0;
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                         gpr_time_from_millis(c->timeout_ms, GPR_TIMESPAN));
    grpc_slice m = grpc_slice_from_static_string(method);
    grpc_call *call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, m,
                                               NULL, deadline, NULL);
    if (!call)
        return nf_errf(err, -ENOMEM, "%s: cannot create the call", method);
    grpc_slice empty = grpc_empty_slice();
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&empty, 1), *recv = NULL;
    grpc_metadata_array initial, trailing;
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    int tag, rc = 0;
    if (grpc_call_start_batch(call, ops, 6, &tag, NULL) != GRPC_CALL_OK) {
        rc = nf_errf(err, -EIO, "%s: the call could not start", method);
    } else {
        /* the call's own deadline ends the batch; the pluck bound is only a backstop */
        gpr_timespec until = gpr_time_add(deadline, gpr_time_from_millis(1000, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_pluck(c->cq, &tag, until, NULL);
        if (ev.type != GRPC_OP_COMPLETE) {
            grpc_call_cancel(call, NULL);
            grpc_completion_queue_pluck(c->cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
            status = GRPC_STATUS_DEADLINE_EXCEEDED;
        }
        if (status != GRPC_STATUS_OK) {
            char *why = grpc_slice_to_c_string(details);
            rc = nf_errf(err, status == GRPC_STATUS_DEADLINE_EXCEEDED ? -ETIMEDOUT : -EIO,
                         "%s: %s%s%s", method, status_name(status), why && *why ? ": " : "",
                         why ? why : "");
            gpr_free(why);
        } else if (!recv) {
            rc = nf_errf(err, -EBADMSG, "%s: an OK status without an answer", method);
        } else {
            grpc_byte_buffer_reader r;
            if (!grpc_byte_buffer_reader_init(&r, recv)) {
                rc = nf_errf(err, -EBADMSG, "%s: the answer cannot be read", method);
            } else {
                grpc_slice all = grpc_byte_buffer_reader_readall(&r);
                grpc_byte_buffer_reader_destroy(&r);
                *len = GRPC_SLICE_LENGTH(all);
                if ((*out = malloc(*len ? *len : 1)))
                    memcpy(*out, GRPC_SLICE_START_PTR(all), *len);
                else
                    rc = nf_errf(err, -ENOMEM, "out of memory");
                grpc_slice_unref(all);
            }
        }
    }
    if (recv)
        grpc_byte_buffer_destroy(recv);
    grpc_byte_buffer_destroy(send);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
    grpc_call_unref(call);
    return rc;
}

int nf_podres_fetch(nf_podres_client *c, nf_podres_state *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    struct stat st;
    if (stat(c->path, &st) != 0) {
        drop_channel(c);
        if (errno == ENOENT || errno == ENOTDIR)
            return nf_errf(err, -ENOENT, "%s: no such socket", c->path);
        return nf_errf(err, -errno, "%s: %s", c->path, strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode)) {
        drop_channel(c);
        return nf_errf(err, -ENOTSOCK, "%s: not a socket", c->path);
    }
    int rc = open_channel(c);
    if (rc)
        return nf_errf(err, rc, "out of memory");
    uint8_t *alloc = NULL, *list = NULL;
    size_t alloc_len = 0, list_len = 0;
    rc = unary(c, "/v1.PodResourcesLister/GetAllocatableResources", &alloc, &alloc_len, err);
    if (!rc)
        rc = unary(c, "/v1.PodResourcesLister/List", &list, &list_len, err);
    if (!rc)
        rc = nf_podres_state_decode(alloc, alloc_len, list, list_len, out, err);
    else
        drop_channel(c); /* a fresh dial next time: kubelet may have made a new socket */
    free(alloc);
    free(list);
    return rc;
}
