/* nrt_publisher.h - this node's NodeResourceTopology: built from the published NodeTopology
 * document, and (--publish-nrt) written to the API server by a thread of its own.
 *
 * The publisher keeps only the newest object offered: the refresh loop never waits for the API
 * server. It writes at most once per min_interval_ms, skips an object equal to the one last
 * written, and creates or updates the cluster-scoped object named after the node: PUT with the
 * resourceVersion it last saw (409 Conflict: read the object again and retry), POST when there
 * is none (409 AlreadyExists: read it and update). A failure keeps the object for a retry after
 * a backoff (doubling up to 30 s); a newer object replaces it.
 */
#ifndef NUMAFIT_EXPORTER_NRT_PUBLISH_H
#define NUMAFIT_EXPORTER_NRT_PUBLISH_H

#include <jansson.h>
#include <stdint.h>

#include "numafit/error.h"
#include "numafit/kube.h"

/* The NodeResourceTopology of a numafit.io/v1 NodeTopology document (JSON text), a new
 * reference. -EINVAL when the document does not decode (err says where), -ENOMEM. */
int nf_nrt_of_document(const char *doc, size_t len, json_t **out, nf_err *err);

typedef struct nf_nrt_publisher nf_nrt_publisher;

typedef struct nf_nrt_publisher_stats {
    uint64_t writes;    /* objects created or updated */
    uint64_t conflicts; /* 409s answered by reading the object again */
    uint64_t errors;    /* writes that failed (and will be retried) */
} nf_nrt_publisher_stats;

/* Borrows k (stop the publisher first). min_interval_ms >= 1. */
int nf_nrt_publisher_start(nf_kube *k, int64_t min_interval_ms, nf_nrt_publisher **out,
                           nf_err *err);
/* Hand over the newest object (a reference is taken); the thread writes it when it may. */
void nf_nrt_publisher_offer(nf_nrt_publisher *p, json_t *nrt);
void nf_nrt_publisher_stats_get(nf_nrt_publisher *p, nf_nrt_publisher_stats *out);
/* Ends an API call in flight within ~200 ms, joins the thread, frees p (NULL allowed). */
void nf_nrt_publisher_stop(nf_nrt_publisher *p);

#endif
