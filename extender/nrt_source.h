/* nrt_source.h - `--nrt`: NodeResourceTopology objects from the API server as a source of the
 * cache, so that clusters running NFD's topology-updater (or numafit-exporter --publish-nrt) get
 * numafit's extender without pulling exporters.
 *
 * A reflector lists and watches topology.node.k8s.io/v1alpha2 noderesourcetopologies; each object
 * becomes the NodeTopology nf_nrt_to_topology() describes, cached under the source
 * "nrt:<API server>". A relist drops the nodes whose object is gone; a DELETED event drops that
 * node; an object that does not convert is logged and leaves the node's last good document,
 * marked stale with the reason. Such documents do not age with --stale-after (the watch keeps
 * them current; NFD writes only on change), like --topology-dir files.
 */
#ifndef NUMAFIT_EXTENDER_NRT_SOURCE_H
#define NUMAFIT_EXTENDER_NRT_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "numafit/error.h"
#include "numafit/kube.h"

typedef struct nf_nrt_source nf_nrt_source;

/* Borrows cache and k (free the source first). */
int nf_nrt_source_start(nf_cache *cache, nf_kube *k, nf_nrt_source **out, nf_err *err);
/* true once the first list is in the cache. */
bool nf_nrt_source_wait_synced(nf_nrt_source *s, int64_t timeout_ms);
void nf_nrt_source_stop(nf_nrt_source *s); /* NULL allowed */

#endif
