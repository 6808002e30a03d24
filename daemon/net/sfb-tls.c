/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-tls.h"

#include "sfb-error.h"

#include <string.h>

/*
 * A GTlsDatabase that delegates: verify_chain() asks the CAFile database
 * and, when that rejects the chain, the system database; the chain is good
 * when either accepts it for the identity.  When both reject it, the flags
 * both agree on are reported (e.g. an expired certificate from the private
 * CA is "expired", not "untrusted issuer, expired").  Lookups go to the
 * CAFile first, then the system store.
 *
 * The system store is loaded only when asked (GnuTLS keeps every system CA
 * parsed: about 3.9 MB of heap for Debian's ~144): a deployment whose
 * private CA is the CAFile, the usual on-premises case, never loads it.
 * One instance serves every SfbTlsDatabase of the process, and
 * sfb_tls_release_system_trust() drops it once signed in: each use holds a
 * reference of its own for its duration, so a verification in a worker
 * thread keeps it while it runs, and the next one loads it again.
 */
struct _SfbTlsDatabase
{
  GTlsDatabase parent_instance;

  gint system_needed;  /* atomic: a verification or look-up asked the system store */
  GTlsDatabase *extra; /* nullable: no CAFile */
};

static GMutex system_lock;         /* loading and dropping, from any thread */
static GTlsDatabase *system_trust; /* nullable: not loaded (or no backend) */

/* The class of the backend's own system database, which loads the system
 * store as an instance is made: glib-networking's file database classes
 * derive from it (GTlsFileDatabaseGnutls from GTlsDatabaseGnutls, the
 * OpenSSL ones alike since 2.64).  Our own instance can be freed, unlike
 * the backend's default database, which the backend keeps once made. */
static GType
system_database_type (GTlsBackend *backend)
{
  GType file_type = g_tls_backend_get_file_database_type (backend);
  GType type = file_type != 0 ? g_type_parent (file_type) : 0;

  if (type == 0 || type == G_TYPE_TLS_DATABASE || G_TYPE_IS_ABSTRACT (type)
      || !g_type_is_a (type, G_TYPE_TLS_DATABASE) || !g_type_is_a (type, G_TYPE_INITABLE))
    return 0;
  return type;
}

/* A system database of our own; where the backend has no such class (an
 * abstract parent: glib-networking's OpenSSL backend before 2.64), the
 * backend's default database, past the process default
 * sfb_tls_install_default_database() sets (an SfbTlsDatabase itself):
 * released, that one stays in the backend. */
static GTlsDatabase *
new_system_database (void)
{
  GTlsBackend *backend = g_tls_backend_get_default ();
  g_autoptr (GError) error = NULL;
  GTlsBackendInterface *iface;
  GTlsDatabase *database;
  GType type;

  if (backend == NULL || !g_tls_backend_supports_tls (backend))
    return NULL;
  type = system_database_type (backend);
  if (type != 0)
    {
      database = g_initable_new (type, NULL, &error, NULL);
      if (database == NULL)
        g_message ("Cannot load the system trust store: %s", error->message);
      return database;
    }
  iface = G_TLS_BACKEND_GET_INTERFACE (backend);
  if (iface->get_default_database == NULL)
    return NULL;
  return iface->get_default_database (backend);
}

/* A reference to the system store, loaded first if it is not (nullable:
 * no TLS backend, or it could not be read) */
static GTlsDatabase *
system_trust_ref (void)
{
  GTlsDatabase *database;

  g_mutex_lock (&system_lock);
  if (system_trust == NULL)
    {
      gint64 start = g_get_monotonic_time ();

      system_trust = new_system_database ();
      if (system_trust != NULL)
        g_debug ("System trust store loaded in %" G_GINT64_FORMAT " ms",
                 (g_get_monotonic_time () - start) / 1000);
    }
  database = system_trust != NULL ? g_object_ref (system_trust) : NULL;
  g_mutex_unlock (&system_lock);
  return database;
}

static GTlsDatabase *
system_database (SfbTlsDatabase *self)
{
  g_atomic_int_set (&self->system_needed, TRUE);
  return system_trust_ref ();
}

G_DEFINE_FINAL_TYPE (SfbTlsDatabase, sfb_tls_database, G_TYPE_TLS_DATABASE)

static GTlsCertificateFlags
sfb_tls_database_verify_chain (GTlsDatabase *database,
                               GTlsCertificate *chain,
                               const char *purpose,
                               GSocketConnectable *identity,
                               GTlsInteraction *interaction,
                               GTlsDatabaseVerifyFlags flags,
                               GCancellable *cancellable,
                               GError **error)
{
  SfbTlsDatabase *self = SFB_TLS_DATABASE (database);
  GTlsCertificateFlags extra_flags = G_TLS_CERTIFICATE_UNKNOWN_CA;
  GTlsCertificateFlags system_flags;
  GTlsCertificateFlags common;
  g_autoptr (GTlsDatabase) system = NULL;

  if (self->extra != NULL)
    {
      extra_flags = g_tls_database_verify_chain (
          self->extra, chain, purpose, identity, interaction, flags, cancellable, error);
      if (extra_flags == 0)
        return 0;
      if (error != NULL && *error != NULL)
        return extra_flags;
    }
  system = system_database (self);
  if (system == NULL)
    return extra_flags;

  system_flags = g_tls_database_verify_chain (
      system, chain, purpose, identity, interaction, flags, cancellable, error);
  if (system_flags == 0 || self->extra == NULL)
    return system_flags;

  common = system_flags & extra_flags;
  return common != 0 ? common : extra_flags;
}

static char *
sfb_tls_database_create_certificate_handle (GTlsDatabase *database, GTlsCertificate *certificate)
{
  SfbTlsDatabase *self = SFB_TLS_DATABASE (database);
  g_autoptr (GTlsDatabase) system = NULL;
  char *handle = NULL;

  if (self->extra != NULL)
    handle = g_tls_database_create_certificate_handle (self->extra, certificate);
  if (handle == NULL && (system = system_database (self)) != NULL)
    handle = g_tls_database_create_certificate_handle (system, certificate);
  return handle;
}

static GTlsCertificate *
sfb_tls_database_lookup_certificate_for_handle (GTlsDatabase *database,
                                                const char *handle,
                                                GTlsInteraction *interaction,
                                                GTlsDatabaseLookupFlags flags,
                                                GCancellable *cancellable,
                                                GError **error)
{
  SfbTlsDatabase *self = SFB_TLS_DATABASE (database);
  g_autoptr (GTlsDatabase) system = NULL;
  GTlsCertificate *certificate = NULL;

  if (self->extra != NULL)
    certificate = g_tls_database_lookup_certificate_for_handle (
        self->extra, handle, interaction, flags, cancellable, error);
  if (certificate == NULL && (error == NULL || *error == NULL)
      && (system = system_database (self)) != NULL)
    certificate = g_tls_database_lookup_certificate_for_handle (
        system, handle, interaction, flags, cancellable, error);
  return certificate;
}

static GTlsCertificate *
sfb_tls_database_lookup_certificate_issuer (GTlsDatabase *database,
                                            GTlsCertificate *certificate,
                                            GTlsInteraction *interaction,
                                            GTlsDatabaseLookupFlags flags,
                                            GCancellable *cancellable,
                                            GError **error)
{
  SfbTlsDatabase *self = SFB_TLS_DATABASE (database);
  g_autoptr (GTlsDatabase) system = NULL;
  GTlsCertificate *issuer = NULL;

  if (self->extra != NULL)
    issuer = g_tls_database_lookup_certificate_issuer (
        self->extra, certificate, interaction, flags, cancellable, error);
  if (issuer == NULL && (error == NULL || *error == NULL)
      && (system = system_database (self)) != NULL)
    issuer = g_tls_database_lookup_certificate_issuer (
        system, certificate, interaction, flags, cancellable, error);
  return issuer;
}

static GList *
sfb_tls_database_lookup_certificates_issued_by (GTlsDatabase *database,
                                                GByteArray *issuer_raw_dn,
                                                GTlsInteraction *interaction,
                                                GTlsDatabaseLookupFlags flags,
                                                GCancellable *cancellable,
                                                GError **error)
{
  SfbTlsDatabase *self = SFB_TLS_DATABASE (database);
  g_autoptr (GTlsDatabase) system = NULL;
  GList *certificates = NULL;

  if (self->extra != NULL)
    certificates = g_tls_database_lookup_certificates_issued_by (
        self->extra, issuer_raw_dn, interaction, flags, cancellable, error);
  if ((error == NULL || *error == NULL) && (system = system_database (self)) != NULL)
    certificates
        = g_list_concat (certificates,
                         g_tls_database_lookup_certificates_issued_by (
                             system, issuer_raw_dn, interaction, flags, cancellable, error));
  return certificates;
}

static void
sfb_tls_database_finalize (GObject *object)
{
  SfbTlsDatabase *self = SFB_TLS_DATABASE (object);

  g_clear_object (&self->extra);

  G_OBJECT_CLASS (sfb_tls_database_parent_class)->finalize (object);
}

static void
sfb_tls_database_class_init (SfbTlsDatabaseClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GTlsDatabaseClass *database_class = G_TLS_DATABASE_CLASS (klass);

  object_class->finalize = sfb_tls_database_finalize;
  /* The async variants of GTlsDatabase run these in a worker thread. */
  database_class->verify_chain = sfb_tls_database_verify_chain;
  database_class->create_certificate_handle = sfb_tls_database_create_certificate_handle;
  database_class->lookup_certificate_for_handle = sfb_tls_database_lookup_certificate_for_handle;
  database_class->lookup_certificate_issuer = sfb_tls_database_lookup_certificate_issuer;
  database_class->lookup_certificates_issued_by = sfb_tls_database_lookup_certificates_issued_by;
}

static void
sfb_tls_database_init (SfbTlsDatabase *self)
{
}

static void
preload_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GTlsDatabase *database = system_trust_ref (); /* loaded: kept by system_trust */

  g_clear_object (&database);
  g_task_return_boolean (task, TRUE);
}

void
sfb_tls_preload_system_trust (void)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, NULL, NULL);

  g_task_set_source_tag (task, sfb_tls_preload_system_trust);
  g_task_run_in_thread (task, preload_thread);
}

void
sfb_tls_database_preload (GTlsDatabase *database)
{
  SfbTlsDatabase *self = SFB_TLS_DATABASE (database);

  if (self->extra == NULL || g_atomic_int_get (&self->system_needed))
    sfb_tls_preload_system_trust ();
}

void
sfb_tls_release_system_trust (void)
{
  GTlsDatabase *database;

  g_mutex_lock (&system_lock);
  database = g_steal_pointer (&system_trust);
  g_mutex_unlock (&system_lock);
  if (database == NULL)
    return;
  g_object_unref (database); /* freed now, or by the last use still running */
  g_debug ("System trust store released");
}

void
sfb_tls_install_default_database (void)
{
  GTlsBackend *backend = g_tls_backend_get_default ();
  g_autoptr (GTlsDatabase) database = NULL;

  if (backend == NULL || !g_tls_backend_supports_tls (backend))
    return;
  database = g_object_new (SFB_TYPE_TLS_DATABASE, NULL);
  g_tls_backend_set_default_database (backend, database);
}

GTlsDatabase *
sfb_tls_database_new (const char *ca_file, GError **error)
{
  g_autoptr (SfbTlsDatabase) self = g_object_new (SFB_TYPE_TLS_DATABASE, NULL);

  if (ca_file != NULL && *ca_file != '\0')
    {
      g_autoptr (GError) local_error = NULL;
      GList *anchors = g_tls_certificate_list_new_from_file (ca_file, &local_error);

      if (anchors == NULL)
        {
          g_set_error (error,
                       SFB_ERROR,
                       SFB_ERROR_NOT_CONFIGURED,
                       "Cannot use the CA file %s (TLS.CAFile): %s",
                       ca_file,
                       local_error != NULL ? local_error->message : "it holds no PEM certificate");
          return NULL;
        }
      g_list_free_full (anchors, g_object_unref);

      self->extra = g_tls_file_database_new (ca_file, &local_error);
      if (self->extra == NULL)
        {
          g_set_error (error,
                       SFB_ERROR,
                       SFB_ERROR_NOT_CONFIGURED,
                       "Cannot use the CA file %s (TLS.CAFile): %s",
                       ca_file,
                       local_error->message);
          return NULL;
        }
    }
  /* without a CAFile the system store is the only trust: have it ready
   * (in a thread) by the time the first handshake asks */
  sfb_tls_database_preload (G_TLS_DATABASE (self));
  return G_TLS_DATABASE (g_steal_pointer (&self));
}

char *
sfb_tls_flags_to_string (GTlsCertificateFlags errors, const char *host)
{
  g_autoptr (GPtrArray) words = g_ptr_array_new_with_free_func (g_free);

  if (errors & G_TLS_CERTIFICATE_UNKNOWN_CA)
    g_ptr_array_add (words, g_strdup ("untrusted issuer"));
  if (errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
    g_ptr_array_add (words, g_strdup_printf ("does not match the name %s", host));
  if (errors & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    g_ptr_array_add (words, g_strdup ("not valid yet"));
  if (errors & G_TLS_CERTIFICATE_EXPIRED)
    g_ptr_array_add (words, g_strdup ("expired"));
  if (errors & G_TLS_CERTIFICATE_REVOKED)
    g_ptr_array_add (words, g_strdup ("revoked"));
  if (errors & G_TLS_CERTIFICATE_INSECURE)
    g_ptr_array_add (words, g_strdup ("insecure algorithm"));
  if ((errors & G_TLS_CERTIFICATE_GENERIC_ERROR) || words->len == 0)
    g_ptr_array_add (words, g_strdup ("could not be verified"));
  g_ptr_array_add (words, NULL);

  return g_strjoinv (", ", (char **) words->pdata);
}

#define MAX_SHOWN_NAMES 8
#define MAX_NAME_LENGTH 100

/* A name from a certificate, shown only as the characters a host name can
 * have (certificate text is the peer's, untrusted) */
static void
append_name (GString *out, const char *name, gsize len)
{
  gsize shown = 0;

  if (out->len > 0)
    g_string_append (out, ", ");
  for (gsize i = 0; i < len && shown < MAX_NAME_LENGTH; i++)
    if (g_ascii_isalnum (name[i]) || strchr ("-.*_:", name[i]) != NULL)
      {
        g_string_append_c (out, name[i]);
        shown++;
      }
}

char *
sfb_tls_certificate_names (GTlsCertificate *certificate)
{
  g_autoptr (GPtrArray) names = g_tls_certificate_get_dns_names (certificate);
  GString *out = g_string_new (NULL);

  for (guint i = 0; names != NULL && i < names->len && i < MAX_SHOWN_NAMES; i++)
    {
      gsize len = 0;
      const char *name = g_bytes_get_data (g_ptr_array_index (names, i), &len);

      append_name (out, name, len);
    }
  if (names != NULL && names->len > MAX_SHOWN_NAMES)
    g_string_append_printf (out, " and %u more", names->len - MAX_SHOWN_NAMES);
  if (out->len == 0)
    {
      g_autofree char *subject = g_tls_certificate_get_subject_name (certificate);

      if (subject != NULL)
        append_name (out, subject, strlen (subject));
    }
  return g_string_free (out, FALSE);
}

static char *
format_utc (GDateTime *when)
{
  return when != NULL ? g_date_time_format (when, "%Y-%m-%d %H:%M UTC") : g_strdup ("?");
}

/* "; it expired on 2024-01-01 00:00 UTC; it is for sip.example.com" */
static char *
certificate_facts (GTlsCertificateFlags errors, GTlsCertificate *certificate)
{
  GString *out = g_string_new (NULL);

  if (certificate == NULL)
    return g_string_free (out, FALSE);
  if (errors & G_TLS_CERTIFICATE_EXPIRED)
    {
      g_autoptr (GDateTime) until = g_tls_certificate_get_not_valid_after (certificate);
      g_autofree char *when = format_utc (until);

      g_string_append_printf (out, "; it expired on %s", when);
    }
  if (errors & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    {
      g_autoptr (GDateTime) from = g_tls_certificate_get_not_valid_before (certificate);
      g_autofree char *when = format_utc (from);

      g_string_append_printf (out, "; it is valid only from %s", when);
    }
  if (errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
    {
      g_autofree char *names = sfb_tls_certificate_names (certificate);

      g_string_append_printf (
          out, "; it is for %s", *names != '\0' ? names : "no name (it names no host)");
    }
  return g_string_free (out, FALSE);
}

GError *
sfb_tls_error_new (GTlsCertificateFlags errors, const char *host)
{
  return sfb_tls_error_new_for_certificate (errors, host, NULL);
}

GError *
sfb_tls_error_new_for_certificate (GTlsCertificateFlags errors,
                                   const char *host,
                                   GTlsCertificate *certificate)
{
  g_autofree char *checks = NULL;
  g_autofree char *facts = certificate_facts (errors, certificate);
  const char *advice;

  if (host == NULL || *host == '\0')
    host = "the server";
  checks = sfb_tls_flags_to_string (errors, host);

  if (errors & G_TLS_CERTIFICATE_UNKNOWN_CA)
    advice = "If the server uses a private certificate authority, add it with: "
             "sfbctl config set TLS.CAFile /path/to/ca.pem";
  else if (errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
    advice = "The server's certificate is for another name; ask the administrator to add "
             "this name to it, or check Account.Server";
  else if (errors & (G_TLS_CERTIFICATE_EXPIRED | G_TLS_CERTIFICATE_NOT_ACTIVATED))
    advice = "Check the system clock; otherwise the administrator must renew the certificate";
  else
    advice = "Ask the administrator to check the server's certificate";

  return g_error_new (SFB_ERROR,
                      SFB_ERROR_CERTIFICATE_INVALID,
                      "The certificate of %s was rejected (%s%s). %s",
                      host,
                      checks,
                      facts,
                      advice);
}
