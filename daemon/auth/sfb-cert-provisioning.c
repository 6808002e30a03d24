/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-auth"

#include "sfb-cert-provisioning.h"

#include "sfb-error.h"
#include "sfb-file.h"
#include "sfb-ntlm.h"
#include "sfb-xml.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

/* certificate and key, PEM: a few KiB */
#define MAX_CERTIFICATE_FILE (256 * 1024)

#define NS_WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define NS_WSU "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define NS_WST "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
#define NS_SOAP "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_WSA "http://www.w3.org/2005/08/addressing"
#define EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define PROOF_POLICY "CertProvisioningServiceWebTicketProof_SHA1_policy"
#define PROOF_PORT "CertProvisioningServiceWebTicketProof_SHA1"
#define WEBTICKET_PORT "WebTicketServiceWinNegotiate"

/* ---- PSHA1 ---- */

void
sfb_cert_prov_psha1 (const guint8 *secret,
                     gsize secret_len,
                     const guint8 *seed,
                     gsize seed_len,
                     guint8 *out,
                     gsize out_len)
{
  guint8 a[20];
  g_autofree guint8 *buf = g_malloc (20 + seed_len);
  gsize done = 0;

  /* A(1) = HMAC (secret, seed); out = HMAC (secret, A(i) ‖ seed) ... */
  gnutls_hmac_fast (GNUTLS_MAC_SHA1, secret, secret_len, seed, seed_len, a);
  while (done < out_len)
    {
      guint8 block[20];
      gsize n = MIN (sizeof block, out_len - done);

      memcpy (buf, a, 20);
      memcpy (buf + 20, seed, seed_len);
      gnutls_hmac_fast (GNUTLS_MAC_SHA1, secret, secret_len, buf, 20 + seed_len, block);
      memcpy (out + done, block, n);
      done += n;
      gnutls_hmac_fast (GNUTLS_MAC_SHA1, secret, secret_len, a, sizeof a, a);
      sfb_ntlm_wipe (block, sizeof block);
    }
  sfb_ntlm_wipe (a, sizeof a);
  sfb_ntlm_wipe (buf, 20 + seed_len);
}

/* ---- key and request ---- */

static gboolean
gnutls_failed (int ret, const char *what, GError **error)
{
  if (ret >= 0)
    return FALSE;
  g_set_error (error, SFB_ERROR, SFB_ERROR_FAILED, "%s: %s", what, gnutls_strerror (ret));
  return TRUE;
}

static GBytes *
take_datum (gnutls_datum_t *datum)
{
  GBytes *bytes = sfb_ntlm_secret_bytes_new (datum->data, datum->size);

  sfb_ntlm_wipe (datum->data, datum->size);
  gnutls_free (datum->data);
  datum->data = NULL;
  return bytes;
}

gboolean
sfb_cert_prov_make_request (const char *user_at_domain,
                            GBytes **key_pem,
                            GBytes **csr_der,
                            GError **error)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crq_t crq = NULL;
  gnutls_datum_t key_out = { 0 };
  gnutls_datum_t crq_out = { 0 };
  gboolean ok = FALSE;
  int ret;

  g_return_val_if_fail (user_at_domain != NULL, FALSE);
  ret = gnutls_x509_privkey_init (&key);
  if (ret >= 0)
    ret = gnutls_x509_privkey_generate (key, GNUTLS_PK_RSA, 2048, 0);
  if (ret >= 0)
    ret = gnutls_x509_crq_init (&crq);
  if (ret >= 0)
    ret = gnutls_x509_crq_set_version (crq, 1);
  if (ret >= 0)
    ret = gnutls_x509_crq_set_dn_by_oid (crq,
                                         GNUTLS_OID_X520_COMMON_NAME,
                                         0,
                                         user_at_domain,
                                         (unsigned int) strlen (user_at_domain));
  if (ret >= 0)
    ret = gnutls_x509_crq_set_key (crq, key);
  if (ret >= 0)
    ret = gnutls_x509_crq_sign2 (crq, key, GNUTLS_DIG_SHA256, 0);
  if (ret >= 0)
    ret = gnutls_x509_crq_export2 (crq, GNUTLS_X509_FMT_DER, &crq_out);
  if (ret >= 0)
    ret = gnutls_x509_privkey_export2_pkcs8 (
        key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &key_out);
  if (!gnutls_failed (ret, "Cannot make the certificate request", error))
    {
      *key_pem = take_datum (&key_out);
      *csr_der = take_datum (&crq_out);
      ok = TRUE;
    }
  g_clear_pointer (&crq, gnutls_x509_crq_deinit);
  g_clear_pointer (&key, gnutls_x509_privkey_deinit);
  return ok;
}

/* ---- the stored certificate ---- */

void
sfb_user_certificate_free (SfbUserCertificate *cert)
{
  if (cert == NULL)
    return;
  g_clear_pointer (&cert->certificate_pem, g_bytes_unref);
  g_clear_pointer (&cert->key_pem, g_bytes_unref);
  g_free (cert);
}

char *
sfb_user_certificate_path (const char *state_dir, const char *user_at_domain)
{
  g_autofree char *name = g_strdup (user_at_domain);

  /* a file name, whatever the user typed */
  g_strcanon (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@.-_+", '_');
  if (name[0] == '.')
    name[0] = '_';
  return g_strdup_printf ("%s/tls-dsk/%s.pem", state_dir, name);
}

static gboolean
is_pem (GBytes *bytes)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  return g_strstr_len (data, (gssize) len, "-----BEGIN ") != NULL;
}

/* Parses a certificate and its key; checks that they belong together */
static SfbUserCertificate *
user_certificate_new (GBytes *certificate, GBytes *key_pem, GError **error)
{
  g_autoptr (SfbUserCertificate) cert = g_new0 (SfbUserCertificate, 1);
  gnutls_datum_t in = { (unsigned char *) g_bytes_get_data (certificate, NULL),
                        (unsigned int) g_bytes_get_size (certificate) };
  gnutls_datum_t key_in = { (unsigned char *) g_bytes_get_data (key_pem, NULL),
                            (unsigned int) g_bytes_get_size (key_pem) };
  gnutls_datum_t pem = { 0 };
  gnutls_x509_crt_t crt = NULL;
  gnutls_x509_privkey_t key = NULL;
  guint8 cert_id[64];
  guint8 key_id[64];
  size_t cert_id_len = sizeof cert_id;
  size_t key_id_len = sizeof key_id;
  time_t not_after = (time_t) -1;
  int ret;

  ret = gnutls_x509_crt_init (&crt);
  if (ret >= 0)
    ret = gnutls_x509_crt_import (
        crt, &in, is_pem (certificate) ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER);
  if (ret >= 0)
    ret = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &pem);
  if (ret >= 0)
    ret = gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA256, cert_id, &cert_id_len);
  if (ret >= 0)
    not_after = gnutls_x509_crt_get_expiration_time (crt);
  if (ret >= 0)
    ret = gnutls_x509_privkey_init (&key);
  if (ret >= 0)
    ret = gnutls_x509_privkey_import (key, &key_in, GNUTLS_X509_FMT_PEM);
  if (ret >= 0)
    ret = gnutls_x509_privkey_get_key_id (key, GNUTLS_KEYID_USE_SHA256, key_id, &key_id_len);
  g_clear_pointer (&crt, gnutls_x509_crt_deinit);
  g_clear_pointer (&key, gnutls_x509_privkey_deinit);
  if (ret < 0 || not_after == (time_t) -1)
    {
      gnutls_free (pem.data);
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_CERTIFICATE_INVALID,
                   "Cannot read the user certificate: %s",
                   gnutls_strerror (ret < 0 ? ret : GNUTLS_E_CERTIFICATE_ERROR));
      return NULL;
    }
  if (key_id_len != cert_id_len || memcmp (key_id, cert_id, key_id_len) != 0)
    {
      gnutls_free (pem.data);
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_CERTIFICATE_INVALID,
                   "The user certificate is not for our key");
      return NULL;
    }
  cert->certificate_pem = g_bytes_new (pem.data, pem.size);
  gnutls_free (pem.data);
  cert->key_pem = g_bytes_ref (key_pem);
  cert->not_after = (gint64) not_after * G_USEC_PER_SEC;
  return g_steal_pointer (&cert);
}

SfbUserCertificate *
sfb_user_certificate_save (const char *state_dir,
                           const char *user_at_domain,
                           GBytes *certificate,
                           GBytes *key_pem,
                           GError **error)
{
  g_autoptr (SfbUserCertificate) cert = NULL;
  g_autofree char *path = NULL;
  g_autofree char *dir = NULL;
  g_autoptr (GString) contents = NULL;

  g_return_val_if_fail (state_dir != NULL && user_at_domain != NULL, NULL);
  cert = user_certificate_new (certificate, key_pem, error);
  if (cert == NULL)
    return NULL;
  path = sfb_user_certificate_path (state_dir, user_at_domain);
  dir = g_path_get_dirname (path);
  /* 0700 even when the directory was there before */
  if (g_mkdir_with_parents (dir, 0700) != 0 || g_chmod (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error,
                   G_IO_ERROR,
                   g_io_error_from_errno (saved),
                   "Cannot create %s: %s",
                   dir,
                   g_strerror (saved));
      return NULL;
    }
  contents = g_string_new_len (g_bytes_get_data (cert->certificate_pem, NULL),
                               (gssize) g_bytes_get_size (cert->certificate_pem));
  g_string_append_len (
      contents, g_bytes_get_data (cert->key_pem, NULL), (gssize) g_bytes_get_size (cert->key_pem));
  /* write to a 0600 temporary file, fsync, rename */
  if (!g_file_set_contents_full (
          path, contents->str, (gssize) contents->len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    {
      sfb_ntlm_wipe (contents->str, contents->len);
      return NULL;
    }
  sfb_ntlm_wipe (contents->str, contents->len);
  g_debug ("stored the TLS-DSK certificate in %s", path);
  return g_steal_pointer (&cert);
}

SfbUserCertificate *
sfb_user_certificate_load (const char *state_dir, const char *user_at_domain, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr (GBytes) bytes = NULL;
  SfbUserCertificate *cert;
  gsize len = 0;

  g_return_val_if_fail (state_dir != NULL && user_at_domain != NULL, NULL);
  path = sfb_user_certificate_path (state_dir, user_at_domain);
  /* never blocks: a FIFO there is an error (the caller treats it as absent) */
  if (!sfb_file_read_regular (path, MAX_CERTIFICATE_FILE, &contents, &len, error))
    return NULL;
  bytes = sfb_ntlm_secret_bytes_new (contents, len); /* the private key is in there */
  sfb_ntlm_wipe (contents, len);
  cert = user_certificate_new (bytes, bytes, error);
  if (cert == NULL)
    g_prefix_error (error, "%s: ", path);
  return cert;
}

gboolean
sfb_user_certificate_is_usable (const SfbUserCertificate *cert, gint64 now)
{
  return cert != NULL && cert->not_after - now >= SFB_USER_CERTIFICATE_MIN_VALIDITY_US;
}

/* ---- XML in ---- */

/* The root is level 0 here: SFB_CERT_PROV_MAX_DEPTH levels below it. */
static const SfbXmlLimits limits = {
  .max_document = SFB_CERT_PROV_MAX_DOCUMENT,
  .max_depth = SFB_CERT_PROV_MAX_DEPTH + 1,
  .drop_blanks = TRUE,
};

static SfbXmlDoc *
parse_document (const char *data, gsize len, const char *what, GError **error)
{
  SfbXmlVerdict verdict;
  SfbXmlDoc *doc = sfb_xml_read (data, len, &limits, &verdict);

  if (verdict == SFB_XML_EMPTY || verdict == SFB_XML_TOO_LARGE)
    g_set_error (error, SFB_ERROR, SFB_ERROR_FAILED, "The %s is empty or too large", what);
  else if (verdict != SFB_XML_OK)
    g_set_error (error, SFB_ERROR, SFB_ERROR_FAILED, "The %s is not acceptable XML", what);
  return doc;
}

static gboolean
is_element (const SfbXmlNode *node, const char *name)
{
  return node != NULL && node->type == SFB_XML_NODE_ELEMENT
         && g_strcmp0 ((const char *) node->name, name) == 0;
}

/* First element named @name at or under @node (local names, any namespace) */
static SfbXmlNode *
find (SfbXmlNode *node, const char *name)
{
  for (; node != NULL; node = node->next)
    {
      SfbXmlNode *found;

      if (node->type != SFB_XML_NODE_ELEMENT)
        continue;
      if (is_element (node, name))
        return node;
      found = find (node->children, name);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Follows a path of child names */
static SfbXmlNode *
child_path (SfbXmlNode *node, const char *const *names)
{
  for (; node != NULL && *names != NULL; names++)
    {
      SfbXmlNode *child = node->children;

      while (child != NULL && !is_element (child, *names))
        child = child->next;
      node = child;
    }
  return node;
}

static char *
attr (SfbXmlNode *node, const char *name)
{
  /* wsu:Id and friends: any namespace */
  const char *raw = sfb_xml_node_attr_any_ns (node, name);

  if (raw == NULL || strlen (raw) > SFB_CERT_PROV_MAX_VALUE)
    return NULL;
  return g_strstrip (g_strdup (raw));
}

static char *
text (SfbXmlNode *node)
{
  char *raw;

  if (node == NULL)
    return NULL;
  raw = sfb_xml_node_text (node);
  if (strlen (raw) > SFB_CERT_PROV_MAX_VALUE)
    g_clear_pointer (&raw, g_free);
  return raw != NULL ? g_strstrip (raw) : NULL;
}

/* Element @name whose attribute @attr_name is @value, anywhere */
static SfbXmlNode *
find_with_attr (SfbXmlNode *node, const char *name, const char *attr_name, const char *value)
{
  for (; node != NULL; node = node->next)
    {
      SfbXmlNode *found;

      if (node->type != SFB_XML_NODE_ELEMENT)
        continue;
      if (is_element (node, name))
        {
          g_autofree char *v = attr (node, attr_name);

          if (g_strcmp0 (v, value) == 0)
            return node;
        }
      found = find_with_attr (node->children, name, attr_name, value);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
is_https_url (const char *url)
{
  return url != NULL && g_ascii_strncasecmp (url, "https://", 8) == 0 && url[8] != '\0'
         && strpbrk (url, " \t\r\n\"<>") == NULL;
}

/* A SOAP fault's text (docs/protocol.md §8.2): Body/Fault/Detail/error/internalerror/text,
 * else faultstring / Reason */
static char *
fault_text (SfbXmlNode *root)
{
  SfbXmlNode *fault = find (root, "Fault");
  SfbXmlNode *node;
  char *value;

  if (fault == NULL)
    return NULL;
  node = find (fault->children, "internalerror");
  value = text (find (node != NULL ? node->children : NULL, "text"));
  if (value == NULL || value[0] == '\0')
    {
      g_free (value);
      value = text (find (fault->children, "faultstring"));
    }
  if (value == NULL || value[0] == '\0')
    {
      g_free (value);
      value = text (find (fault->children, "Text"));
    }
  if (value == NULL || value[0] == '\0')
    {
      g_free (value);
      value = g_strdup ("no reason given");
    }
  /* one line, printable, bounded */
  g_strcanon (
      value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,:;-_/()'@#=+", ' ');
  if (strlen (value) > 200)
    value[200] = '\0';
  return value;
}

void
sfb_cert_prov_metadata_free (SfbCertProvMetadata *meta)
{
  if (meta == NULL)
    return;
  g_free (meta->issuer);
  g_free (meta->auth_uri);
  g_free (meta);
}

SfbCertProvMetadata *
sfb_cert_prov_parse_mex (const char *data, gsize len, GError **error)
{
  static const char *const endorsing[]
      = { "ExactlyOne", "All", "EndorsingSupportingTokens", "Policy", "IssuedToken", "Issuer",
          "Address",    NULL };
  static const char *const signed_tokens[]
      = { "ExactlyOne", "All", "SignedSupportingTokens", "Policy", "IssuedToken", "Issuer",
          "Address",    NULL };
  g_autoptr (SfbXmlDoc) doc
      = parse_document (data, len, "certificate provisioning metadata", error);
  g_autoptr (SfbCertProvMetadata) meta = NULL;
  SfbXmlNode *root;
  SfbXmlNode *policy;
  SfbXmlNode *issuer;
  SfbXmlNode *port;

  if (doc == NULL)
    return NULL;
  root = sfb_xml_doc_root (doc);
  meta = g_new0 (SfbCertProvMetadata, 1);
  policy = find_with_attr (root, "Policy", "Id", PROOF_POLICY);
  issuer = child_path (policy, endorsing);
  meta->proof = issuer != NULL;
  if (issuer == NULL)
    issuer = child_path (policy, signed_tokens);
  meta->issuer = text (issuer);
  port = find_with_attr (root, "port", "name", PROOF_PORT);
  meta->auth_uri = attr (port != NULL ? find (port->children, "address") : NULL, "location");
  if (!is_https_url (meta->issuer) || !is_https_url (meta->auth_uri))
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "The certificate provisioning metadata names no https web ticket service "
                   "or %s port",
                   PROOF_PORT);
      return NULL;
    }
  return g_steal_pointer (&meta);
}

char *
sfb_cert_prov_parse_webticket_mex (const char *data, gsize len, GError **error)
{
  g_autoptr (SfbXmlDoc) doc = parse_document (data, len, "web ticket service metadata", error);
  SfbXmlNode *port;
  char *location;

  if (doc == NULL)
    return NULL;
  port = find_with_attr (sfb_xml_doc_root (doc), "port", "name", WEBTICKET_PORT);
  location = attr (port != NULL ? find (port->children, "address") : NULL, "location");
  if (!is_https_url (location))
    {
      g_free (location);
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "The web ticket service metadata has no https %s port",
                   WEBTICKET_PORT);
      return NULL;
    }
  return location;
}

void
sfb_web_ticket_free (SfbWebTicket *ticket)
{
  if (ticket == NULL)
    return;
  g_free (ticket->assertion);
  g_free (ticket->assertion_id);
  g_free (ticket->created);
  g_free (ticket->expires);
  g_clear_pointer (&ticket->server_entropy, g_bytes_unref);
  g_free (ticket);
}

static GBytes *
decode_base64 (const char *value)
{
  gsize out_len = 0;
  guchar *out;

  if (value == NULL || value[0] == '\0'
      || strspn (value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n ")
             != strlen (value))
    return NULL;
  out = g_base64_decode (value, &out_len);
  if (out_len == 0)
    {
      g_free (out);
      return NULL;
    }
  return g_bytes_new_take (out, out_len);
}

static gint64
parse_time (const char *value)
{
  g_autoptr (GDateTime) dt = value != NULL ? g_date_time_new_from_iso8601 (value, NULL) : NULL;

  return dt != NULL ? g_date_time_to_unix (dt) * G_USEC_PER_SEC : 0;
}

SfbWebTicket *
sfb_cert_prov_parse_rstr (const char *data, gsize len, GError **error)
{
  g_autoptr (SfbXmlDoc) doc = parse_document (data, len, "web ticket answer", error);
  g_autoptr (SfbWebTicket) ticket = NULL;
  g_autofree char *fault = NULL;
  g_autofree char *secret = NULL;
  SfbXmlNode *root;
  SfbXmlNode *rstr;
  SfbXmlNode *token;
  SfbXmlNode *assertion;
  SfbXmlNode *lifetime;
  SfbXmlNode *entropy;

  if (doc == NULL)
    return NULL;
  root = sfb_xml_doc_root (doc);
  fault = fault_text (root);
  if (fault != NULL)
    {
      g_set_error (
          error, SFB_ERROR, SFB_ERROR_AUTH_FAILED, "The web ticket service refused: %s", fault);
      return NULL;
    }
  rstr = find (root, "RequestSecurityTokenResponse");
  token = rstr != NULL ? find (rstr->children, "RequestedSecurityToken") : NULL;
  assertion = token != NULL ? find (token->children, "Assertion") : NULL;
  ticket = g_new0 (SfbWebTicket, 1);
  ticket->assertion_id = attr (assertion, "AssertionID");
  if (ticket->assertion_id == NULL)
    ticket->assertion_id = attr (assertion, "ID");
  if (assertion == NULL || ticket->assertion_id == NULL || ticket->assertion_id[0] == '\0')
    {
      g_set_error (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The web ticket answer holds no SAML assertion");
      return NULL;
    }
  ticket->assertion = sfb_xml_canonicalize (assertion);
  lifetime = find (rstr->children, "Lifetime");
  ticket->created = text (lifetime != NULL ? find (lifetime->children, "Created") : NULL);
  ticket->expires = text (lifetime != NULL ? find (lifetime->children, "Expires") : NULL);
  ticket->expires_at = parse_time (ticket->expires);
  entropy = find (rstr->children, "Entropy");
  secret = text (entropy != NULL ? find (entropy->children, "BinarySecret") : NULL);
  ticket->server_entropy = decode_base64 (secret);
  if (ticket->assertion == NULL || ticket->created == NULL || ticket->expires_at == 0
      || (secret != NULL && ticket->server_entropy == NULL))
    {
      g_set_error (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The web ticket answer has a malformed lifetime");
      return NULL;
    }
  return g_steal_pointer (&ticket);
}

GBytes *
sfb_cert_prov_parse_certificate (const char *data, gsize len, GError **error)
{
  static const char *const path[]
      = { "RequestSecurityTokenResponse", "RequestedSecurityToken", "BinarySecurityToken", NULL };
  g_autoptr (SfbXmlDoc) doc = parse_document (data, len, "certificate provisioning answer", error);
  g_autofree char *fault = NULL;
  g_autofree char *value = NULL;
  SfbXmlNode *root;
  SfbXmlNode *response;
  GBytes *der;

  if (doc == NULL)
    return NULL;
  root = sfb_xml_doc_root (doc);
  fault = fault_text (root);
  if (fault != NULL)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_CERTIFICATE_INVALID,
                   "The certificate provisioning service refused: %s",
                   fault);
      return NULL;
    }
  response = find (root, "GetAndPublishCertResponse");
  value = text (child_path (response, path));
  der = decode_base64 (value);
  if (der == NULL)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_CERTIFICATE_INVALID,
                   "The certificate provisioning answer holds no certificate");
      return NULL;
    }
  return der;
}

/* ---- XML out ---- */

static char *
escape (const char *value)
{
  return g_markup_escape_text (value != NULL ? value : "", -1);
}

char *
sfb_cert_prov_build_rst (const char *applies_to,
                         const char *sip_uri,
                         GBytes *client_entropy,
                         const char *context_id)
{
  g_autofree char *to = escape (applies_to);
  g_autofree char *uri = escape (sip_uri);
  g_autofree char *ctx = escape (context_id);
  g_autofree char *entropy = g_base64_encode (g_bytes_get_data (client_entropy, NULL),
                                              g_bytes_get_size (client_entropy));

  return g_strdup_printf (
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
      "<s:Envelope xmlns:s=\"" NS_SOAP "\" xmlns:wsa=\"" NS_WSA "\""
      " xmlns:wsp=\"http://schemas.xmlsoap.org/ws/2004/09/policy\" xmlns:wst=\"" NS_WST "\">"
      "<s:Body>"
      "<wst:RequestSecurityToken Context=\"%s\">"
      "<wst:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1"
      "</wst:TokenType>"
      "<wst:RequestType>http://schemas.xmlsoap.org/ws/2005/02/trust/Issue</wst:RequestType>"
      "<wsp:AppliesTo><wsa:EndpointReference><wsa:Address>%s</wsa:Address>"
      "</wsa:EndpointReference></wsp:AppliesTo>"
      "<wst:Claims Dialect=\"urn:component:Microsoft.Rtc.WebAuthentication.2010:authclaims\">"
      "<auth:ClaimType xmlns:auth=\"http://schemas.xmlsoap.org/ws/2006/12/authorization\""
      " Uri=\"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/uri\" Optional=\"false\">"
      "<auth:Value>%s</auth:Value></auth:ClaimType></wst:Claims>"
      "<wst:Entropy><wst:BinarySecret>%s</wst:BinarySecret></wst:Entropy>"
      "<wst:KeyType>" NS_WST "/SymmetricKey</wst:KeyType>"
      "</wst:RequestSecurityToken>"
      "</s:Body></s:Envelope>",
      ctx,
      to,
      uri,
      entropy);
}

/* Canonical form of a standalone fragment: exclusive c14n renders only
 * visibly used namespaces, so this is also its form inside any document. */
static char *
canonical_fragment (const char *xml, GError **error)
{
  g_autoptr (SfbXmlDoc) doc = parse_document (xml, strlen (xml), "signed fragment", error);
  char *out;

  if (doc == NULL)
    return NULL;
  out = sfb_xml_canonicalize (sfb_xml_doc_root (doc));
  if (out == NULL)
    g_set_error (error, SFB_ERROR, SFB_ERROR_FAILED, "Cannot canonicalize the signed fragment");
  return out;
}

char *
sfb_cert_prov_build_security (const SfbWebTicket *ticket,
                              const guint8 *proof_key,
                              gsize proof_key_len,
                              GError **error)
{
  g_autofree char *created = escape (ticket->created);
  g_autofree char *expires = escape (ticket->expires);
  g_autofree char *id = escape (ticket->assertion_id);
  g_autofree char *timestamp_xml = NULL;
  g_autofree char *timestamp = NULL;
  g_autofree char *digest_b64 = NULL;
  g_autofree char *signed_info_xml = NULL;
  g_autofree char *signed_info = NULL;
  g_autofree char *signature_b64 = NULL;
  guint8 digest[20];
  guint8 signature[20];

  timestamp_xml = g_strdup_printf ("<wsu:Timestamp xmlns:wsu=\"" NS_WSU "\" wsu:Id=\"timestamp\">"
                                   "<wsu:Created>%s</wsu:Created><wsu:Expires>%s</wsu:Expires>"
                                   "</wsu:Timestamp>",
                                   created,
                                   expires);
  timestamp = canonical_fragment (timestamp_xml, error);
  if (timestamp == NULL)
    return NULL;
  gnutls_hash_fast (GNUTLS_DIG_SHA1, timestamp, strlen (timestamp), digest);
  digest_b64 = g_base64_encode (digest, sizeof digest);

  signed_info_xml
      = g_strdup_printf ("<ds:SignedInfo xmlns:ds=\"" NS_DS "\">"
                         "<ds:CanonicalizationMethod Algorithm=\"" EXC_C14N "\"/>"
                         "<ds:SignatureMethod Algorithm=\"" NS_DS "hmac-sha1\"/>"
                         "<ds:Reference URI=\"#timestamp\"><ds:Transforms>"
                         "<ds:Transform Algorithm=\"" EXC_C14N "\"/></ds:Transforms>"
                         "<ds:DigestMethod Algorithm=\"" NS_DS "sha1\"/>"
                         "<ds:DigestValue>%s</ds:DigestValue></ds:Reference></ds:SignedInfo>",
                         digest_b64);
  signed_info = canonical_fragment (signed_info_xml, error);
  if (signed_info == NULL)
    return NULL;
  gnutls_hmac_fast (
      GNUTLS_MAC_SHA1, proof_key, proof_key_len, signed_info, strlen (signed_info), signature);
  signature_b64 = g_base64_encode (signature, sizeof signature);

  return g_strdup_printf (
      "<wsse:Security xmlns:wsse=\"" NS_WSSE "\" xmlns:wsu=\"" NS_WSU "\">%s%s"
      "<ds:Signature xmlns:ds=\"" NS_DS "\">%s<ds:SignatureValue>%s</ds:SignatureValue>"
      "<ds:KeyInfo><wsse:SecurityTokenReference><wsse:KeyIdentifier ValueType=\""
      "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.0#SAMLAssertionID\">%s"
      "</wsse:KeyIdentifier></wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature>"
      "</wsse:Security>",
      timestamp,
      ticket->assertion,
      signed_info,
      signature_b64,
      id);
}

char *
sfb_cert_prov_build_get_and_publish_cert (const char *auth_uri,
                                          const char *security,
                                          const char *device_id,
                                          const char *entity,
                                          GBytes *csr_der,
                                          const char *message_id,
                                          const char *request_id)
{
  g_autofree char *to = escape (auth_uri);
  g_autofree char *device = escape (device_id);
  g_autofree char *who = escape (entity);
  g_autofree char *mid = escape (message_id);
  g_autofree char *rid = escape (request_id);
  g_autofree char *b64
      = g_base64_encode (g_bytes_get_data (csr_der, NULL), g_bytes_get_size (csr_der));
  g_autoptr (GString) csr = g_string_new (NULL);

  /* CRLF every 76 characters, as SIPE sends it */
  for (gsize i = 0, n = strlen (b64); i < n; i += 76)
    {
      if (i > 0)
        g_string_append (csr, "\r\n");
      g_string_append_len (csr, b64 + i, (gssize) MIN (76, n - i));
    }

  return g_strdup_printf (
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
      "<s:Envelope xmlns:s=\"" NS_SOAP "\" xmlns:wsa=\"" NS_WSA "\">"
      "<s:Header>"
      "<wsa:To>%s</wsa:To>"
      "<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address>"
      "</wsa:ReplyTo>"
      "<wsa:MessageID>uuid:%s</wsa:MessageID>"
      "<wsa:Action>http://schemas.microsoft.com/OCS/AuthWebServices/GetAndPublishCert"
      "</wsa:Action>"
      "%s"
      "</s:Header>"
      "<s:Body>"
      "<GetAndPublishCert xmlns=\"http://schemas.microsoft.com/OCS/AuthWebServices/\""
      " xmlns:wst=\"" NS_WST "/\""
      " xmlns:wstep=\"http://schemas.microsoft.com/windows/pki/2009/01/enrollment\""
      " DeviceId=\"{%s}\" Entity=\"%s\">"
      "<wst:RequestSecurityToken>"
      "<wst:TokenType>http://docs.oasis-open.org/wss/2004/01/"
      "oasis-200401-wss-x509-token-profile-1.0#X509v3</wst:TokenType>"
      "<wst:RequestType>" NS_WST "/Issue</wst:RequestType>"
      "<wsse:BinarySecurityToken xmlns:wsse=\"" NS_WSSE "\""
      " ValueType=\"http://schemas.microsoft.com/OCS/AuthWebServices.xsd#PKCS10\""
      " EncodingType=\"http://docs.oasis-open.org/wss/2004/01/"
      "oasis-200401-wss-wssecurity-secext-1.0.xsd#Base64Binary\">%s</wsse:BinarySecurityToken>"
      "<wstep:RequestID>%s</wstep:RequestID>"
      "</wst:RequestSecurityToken>"
      "</GetAndPublishCert>"
      "</s:Body></s:Envelope>",
      to,
      mid,
      security != NULL ? security : "",
      device,
      who,
      csr->str,
      rid);
}
