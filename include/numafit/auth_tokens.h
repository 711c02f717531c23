/* auth_tokens.h - the bearer tokens a server accepts (`Authorization: Bearer <token>`).
 *
 * A file of one token per line (white space around a token, empty lines and lines starting with
 * '#' are ignored), read again when it changes (checked at most once per second), so a token can
 * be added or revoked without a restart. Only SHA-256 digests of the tokens are kept, and a
 * presented token is compared with every one of them in constant time: neither the answer's
 * timing nor memory says which token, or how much of one, matched.
 */
#ifndef NUMAFIT_AUTH_TOKENS_H
#define NUMAFIT_AUTH_TOKENS_H

#include <stdbool.h>

#include "numafit/error.h"

typedef struct nf_auth_tokens nf_auth_tokens;

/* Read the file: an error names it when it cannot be read or holds no token. */
int nf_auth_tokens_new(const char *path, nf_auth_tokens **out, nf_err *err);
void nf_auth_tokens_free(nf_auth_tokens *a);

/* Whether an Authorization header value (NULL: none) is "Bearer <one of the tokens>".
 * Thread-safe. */
bool nf_auth_tokens_check(nf_auth_tokens *a, const char *authorization);

#endif
