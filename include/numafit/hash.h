/* hash.h - the one hash function of numafit's tables (XXH3 64-bit, libxxhash): node names in
 * the extender's cache and reservations, pod shapes in the fit memo. Never 0, so a table may use
 * 0 for an empty slot. Not for anything an attacker must not collide: the tables that hash
 * request data probe linearly and compare whole keys. */
#ifndef NUMAFIT_HASH_H
#define NUMAFIT_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t nf_hash_bytes(const void *p, size_t n);
uint64_t nf_hash_str(const char *s);

#endif
