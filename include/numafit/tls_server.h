/* tls_server.h - HTTPS for the libmicrohttpd servers (GnuTLS): the certificate and key, and the
 * CA that signs client certificates (mutual TLS), from PEM files that are read again when they
 * change, with no restart and no dropped listener.
 *
 * Rotation: each connection takes a reference on the credentials current when it is accepted
 * and uses them for its whole life, so after cert-manager or kubelet replaced the files, new
 * connections get the new certificate while those already open finish on the old one (freed
 * with the last of them). The files are stat()ed on a new connection, at most once per
 * check_interval_ms; a change that does not load (a key that does not match its certificate,
 * half-written files) keeps the previous credentials and is logged.
 *
 * Client certificates (with a client CA): every handshake asks for one. A certificate that is
 * presented must chain to the CA, be within its validity period and allow TLS client use, or the
 * handshake fails. A client without one still completes the handshake (kubelet's HTTPS probes
 * present none): the routes that need a verified client ask nf_httpd_client_verified() (httpd.h).
 *
 * Protocols and ciphers: NF_TLS_PRIORITIES (GnuTLS priority string): TLS 1.3 and 1.2 only,
 * ECDHE key exchange (forward secrecy), AEAD ciphers only (AES-GCM, ChaCha20-Poly1305).
 */
#ifndef NUMAFIT_TLS_SERVER_H
#define NUMAFIT_TLS_SERVER_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "numafit/error.h"

#define NF_TLS_PRIORITIES                                                                          \
    "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"         \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

typedef struct nf_tls_server_opts {
    const char *cert_file;      /* PEM certificate chain (leaf first) */
    const char *key_file;       /* PEM private key, unencrypted */
    const char *client_ca_file; /* PEM CA certificates for client certificates, or NULL */
    int64_t check_interval_ms;  /* least time between two checks of the files; 0: 1000 */
} nf_tls_server_opts;

typedef struct nf_tls_server nf_tls_server;

/* Load the files (an error names the file and what is wrong with it) and check that this
 * libmicrohttpd can serve TLS. */
int nf_tls_server_new(const nf_tls_server_opts *o, nf_tls_server **out, nf_err *err);
/* After the daemon using it has stopped. NULL is a no-op. */
void nf_tls_server_free(nf_tls_server *t);

/* The MHD_start_daemon options (for MHD_OPTION_ARRAY, ending with MHD_OPTION_END) and the
 * daemon flag (MHD_USE_TLS) that serve TLS with t. The daemon's connection notifications must
 * call nf_tls_conn_open and nf_tls_conn_close (httpd.c does). */
const struct MHD_OptionItem *nf_tls_server_mhd_options(nf_tls_server *t, unsigned *flags);

/* One connection's TLS state. */
typedef struct nf_tls_conn nf_tls_conn;
/* A new connection, before its handshake (MHD_CONNECTION_NOTIFY_STARTED): its session gets the
 * current credentials (the files are checked first when the interval has passed). NULL when
 * that fails: its handshake then fails, since the daemon's own credentials hold no certificate. */
nf_tls_conn *nf_tls_conn_open(nf_tls_server *t, struct MHD_Connection *c);
/* When it closes (MHD_CONNECTION_NOTIFY_CLOSED). NULL is a no-op. */
void nf_tls_conn_close(nf_tls_server *t, nf_tls_conn *tc);
/* Whether the client on c presented a certificate that verified against the client CA (false
 * without a client CA, or tc NULL). The answer is kept for the connection's later requests. */
bool nf_tls_conn_verified(nf_tls_conn *tc, struct MHD_Connection *c);

/* Whether a client CA is set (client certificates are asked for and verified). */
bool nf_tls_server_has_client_ca(const nf_tls_server *t);

/* Check the files now, whatever the interval: 1 when new credentials were loaded, 0 when the
 * files did not change, a negative errno when they changed but could not be loaded (the
 * previous credentials stay). */
int nf_tls_server_reload(nf_tls_server *t, nf_err *err);

#endif
