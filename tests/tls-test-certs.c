/* tls-test-certs.c: throw-away certificates for TLS tests (see the header). */
#include "config.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#include <glib/gstdio.h>

#include "tls-test-certs.h"

#define VALID_BEFORE_NOW (60 * 60)
#define VALID_AFTER_NOW  (24 * 60 * 60)

typedef struct
{
  gnutls_x509_crt_t crt;
  gnutls_x509_privkey_t key;
} Identity;

static void
identity_clear (Identity *id)
{
  if (id->crt != NULL)
    gnutls_x509_crt_deinit (id->crt);
  if (id->key != NULL)
    gnutls_x509_privkey_deinit (id->key);
  id->crt = NULL;
  id->key = NULL;
}

static gboolean
check (int ret, const char *what, GError **error)
{
  if (ret >= 0)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "GnuTLS: %s: %s", what, gnutls_strerror (ret));
  return FALSE;
}

#define CHECK(call, what)                                                                          \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if (!check ((call), (what), error))                                                            \
      return FALSE;                                                                                \
  }                                                                                                \
  G_STMT_END

/* A fresh key and an unsigned certificate for it, named @cn.  A server
 * certificate (@ca FALSE) also gets the loopback names. */
static gboolean
identity_init (Identity *id, const char *cn, gboolean ca, GError **error)
{
  guint8 serial[16];
  guint8 key_id[64];
  size_t key_id_size = sizeof key_id;
  time_t now = time (NULL);

  CHECK (gnutls_x509_privkey_init (&id->key), "privkey_init");
  CHECK (gnutls_x509_privkey_generate (id->key, GNUTLS_PK_ECDSA,
                                       GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0),
         "generating an ECDSA P-256 key");
  CHECK (gnutls_x509_crt_init (&id->crt), "crt_init");
  CHECK (gnutls_x509_crt_set_version (id->crt, 3), "set_version");
  for (gsize i = 0; i < sizeof serial; i++)
    serial[i] = (guint8) g_random_int_range (0, 256);
  serial[0] &= 0x7f; /* positive */
  serial[0] |= 0x01; /* and without a leading zero byte */
  CHECK (gnutls_x509_crt_set_serial (id->crt, serial, sizeof serial), "set_serial");
  CHECK (gnutls_x509_crt_set_activation_time (id->crt, now - VALID_BEFORE_NOW),
         "set_activation_time");
  CHECK (gnutls_x509_crt_set_expiration_time (id->crt, now + VALID_AFTER_NOW),
         "set_expiration_time");
  CHECK (gnutls_x509_crt_set_dn_by_oid (id->crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen (cn)),
         "set_dn_by_oid");
  CHECK (gnutls_x509_crt_set_key (id->crt, id->key), "set_key");
  CHECK (gnutls_x509_crt_set_basic_constraints (id->crt, ca, -1), "set_basic_constraints");
  CHECK (gnutls_x509_privkey_get_key_id (id->key, 0, key_id, &key_id_size), "get_key_id");
  CHECK (gnutls_x509_crt_set_subject_key_id (id->crt, key_id, key_id_size), "set_subject_key_id");
  if (ca)
    CHECK (gnutls_x509_crt_set_key_usage (id->crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN),
           "set_key_usage");
  else
    {
      static const guint8 ipv4[4] = { 127, 0, 0, 1 };
      static const guint8 ipv6[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

      CHECK (gnutls_x509_crt_set_key_usage (id->crt, GNUTLS_KEY_DIGITAL_SIGNATURE),
             "set_key_usage");
      CHECK (gnutls_x509_crt_set_key_purpose_oid (id->crt, GNUTLS_KP_TLS_WWW_SERVER, 0),
             "set_key_purpose_oid");
      CHECK (gnutls_x509_crt_set_subject_alt_name (id->crt, GNUTLS_SAN_IPADDRESS, ipv4, sizeof ipv4,
                                                   GNUTLS_FSAN_APPEND),
             "subjectAltName 127.0.0.1");
      CHECK (gnutls_x509_crt_set_subject_alt_name (id->crt, GNUTLS_SAN_IPADDRESS, ipv6, sizeof ipv6,
                                                   GNUTLS_FSAN_APPEND),
             "subjectAltName ::1");
      CHECK (gnutls_x509_crt_set_subject_alt_name (id->crt, GNUTLS_SAN_DNSNAME, "localhost",
                                                   strlen ("localhost"), GNUTLS_FSAN_APPEND),
             "subjectAltName localhost");
    }
  return TRUE;
}

/* Signs @id with @issuer (itself when NULL). */
static gboolean
identity_sign (Identity *id, const Identity *issuer, GError **error)
{
  const Identity *by = issuer != NULL ? issuer : id;

  if (issuer != NULL)
    {
      guint8 key_id[64];
      size_t key_id_size = sizeof key_id;

      CHECK (gnutls_x509_crt_get_subject_key_id (issuer->crt, key_id, &key_id_size, NULL),
             "get_subject_key_id");
      CHECK (gnutls_x509_crt_set_authority_key_id (id->crt, key_id, key_id_size),
             "set_authority_key_id");
    }
  CHECK (gnutls_x509_crt_sign2 (id->crt, by->crt, by->key, GNUTLS_DIG_SHA256, 0), "signing");
  return TRUE;
}

static gboolean
write_datum (const char *dir, const char *name, gnutls_datum_t *datum, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  gboolean ok = g_file_set_contents (path, (const char *) datum->data, datum->size, error);

  gnutls_free (datum->data);
  datum->data = NULL;
  return ok;
}

static gboolean
write_cert (const char *dir, const char *name, const Identity *id, GError **error)
{
  gnutls_datum_t out = { NULL, 0 };

  CHECK (gnutls_x509_crt_export2 (id->crt, GNUTLS_X509_FMT_PEM, &out), "exporting a certificate");
  return write_datum (dir, name, &out, error);
}

static gboolean
write_key (const char *dir, const char *name, const Identity *id, GError **error)
{
  gnutls_datum_t out = { NULL, 0 };

  CHECK (gnutls_x509_privkey_export2_pkcs8 (id->key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
                                            &out),
         "exporting a key");
  return write_datum (dir, name, &out, error);
}

gboolean
gossip_test_certs_generate (const char *dir, GError **error)
{
  Identity ca = { NULL, NULL };
  Identity server = { NULL, NULL };
  Identity other_ca = { NULL, NULL };
  Identity bad = { NULL, NULL };

  CHECK (gnutls_global_init (), "global_init");
  {
    gboolean ok
        = identity_init (&ca, "libgossip test CA", TRUE, error) && identity_sign (&ca, NULL, error)
          && identity_init (&server, "127.0.0.1", FALSE, error)
          && identity_sign (&server, &ca, error)
          && identity_init (&other_ca, "libgossip other test CA", TRUE, error)
          && identity_sign (&other_ca, NULL, error)
          && identity_init (&bad, "127.0.0.1", FALSE, error)
          && identity_sign (&bad, &other_ca, error) && write_cert (dir, "ca.pem", &ca, error)
          && write_cert (dir, "server-cert.pem", &server, error)
          && write_key (dir, "server-key.pem", &server, error)
          && write_cert (dir, "other-ca.pem", &other_ca, error)
          && write_cert (dir, "bad-cert.pem", &bad, error)
          && write_key (dir, "bad-key.pem", &bad, error);

    /* The keys and certificates go before the library does. */
    identity_clear (&ca);
    identity_clear (&server);
    identity_clear (&other_ca);
    identity_clear (&bad);
    gnutls_global_deinit ();
    return ok;
  }
}

/* Removes what gossip_test_certs_generate() wrote, and @dir. */
void
gossip_test_certs_remove (const char *dir)
{
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *file = g_build_filename (dir, name, NULL);

      g_unlink (file);
    }
  g_rmdir (dir);
}
