/* tls-test-certs.h: throw-away certificates for TLS tests, made with GnuTLS.
 *
 * gossip_test_certs_generate() writes into @dir (which must exist):
 *  - ca.pem: a self-signed CA certificate;
 *  - server-cert.pem, server-key.pem: a server certificate signed by ca.pem,
 *    CN 127.0.0.1, subjectAltName IP 127.0.0.1, IP ::1 and DNS localhost;
 *  - other-ca.pem: another self-signed CA;
 *  - bad-cert.pem, bad-key.pem: a certificate with the same names as
 *    server-cert.pem but signed by other-ca.pem, so that it is refused by
 *    anyone trusting ca.pem only.
 * Keys are ECDSA P-256 in unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY");
 * certificates are valid from an hour ago until a day from now.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

gboolean gossip_test_certs_generate (const char *dir, GError **error);
void gossip_test_certs_remove (const char *dir);

G_END_DECLS
