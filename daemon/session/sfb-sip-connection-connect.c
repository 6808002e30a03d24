/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "config.h"

/* Opening an SfbSipConnection: name resolution (with a short-lived
 * address cache), the TLS handshake (trust, server identity, session
 * resumption), TCP_NODELAY and the local endpoint the server sees. */

#include "sfb-sip-connection-private.h"

#include "sfb-error.h"
#include "sfb-proxy.h"
#include "sfb-tls.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#define CONNECT_TIMEOUT_S 15

typedef struct
{
  char *host;
  guint16 port;
  GTlsDatabase *tls_database;
  GTlsCertificateFlags certificate_errors;
  GTlsCertificate *rejected; /* the peer certificate of certificate_errors */
  GSocketClient *client;
  GList *addresses; /* of GInetAddress, from the resolver */
  GList *next_address;
  GError *first_error;
  GSocketConnection *tcp; /* while the TLS handshake runs */
  const char *source;     /* how the addresses were found, for the trace */
  /* dialling the remembered address while the name is resolved beside */
  gboolean from_memory;
  gboolean resolving;
  gboolean waiting;   /* the remembered address failed: the resolver's answer is next */
  gboolean abandoned; /* its dial was stopped: the name resolves elsewhere now */
  GList *resolved;    /* the resolver's answer, once in */
  GError *resolve_error;
  GCancellable *dial_cancellable; /* the remembered dial's: the task's, or abandoned */
  GCancellable *task_cancellable;
  gulong cancelled_id;
} ConnectData;

static void
drop_dial_cancellable (ConnectData *data)
{
  if (data->cancelled_id != 0)
    g_cancellable_disconnect (data->task_cancellable, data->cancelled_id);
  data->cancelled_id = 0;
  g_clear_object (&data->task_cancellable);
  g_clear_object (&data->dial_cancellable);
}

static void
connect_data_free (ConnectData *data)
{
  g_free (data->host);
  g_clear_object (&data->tls_database);
  g_clear_object (&data->rejected);
  g_clear_object (&data->client);
  g_clear_object (&data->tcp);
  g_resolver_free_addresses (data->addresses);
  g_resolver_free_addresses (data->resolved);
  g_clear_error (&data->first_error);
  g_clear_error (&data->resolve_error);
  drop_dial_cancellable (data);
  g_free (data);
}

static gboolean
on_accept_certificate (GTlsConnection *tls,
                       GTlsCertificate *certificate,
                       GTlsCertificateFlags errors,
                       gpointer user_data)
{
  ConnectData *data = user_data;

  data->certificate_errors = errors;
  g_set_object (&data->rejected, certificate);
  return FALSE; /* never accept what the trust store rejected */
}

static void on_connected (GObject *source, GAsyncResult *result, gpointer user_data);
static void connect_next_address (GTask *task);
static void forget_cached_addresses (const char *host);
static void fall_back_to_resolved (GTask *task);

/* TLS 1.2 session resumption (docs/benchmarks.md).  glib-networking resumes
 * TLS 1.3 sessions by itself, TLS 1.2 sessions only when told to with
 * g_tls_client_connection_copy_session_state() from an earlier connection.
 * So the last TLS connection that completed a verified handshake with each
 * server (name, port and trust database) is kept here, and a new connection
 * to the same server resumes its session.  Never across names or trust
 * databases: a resumed handshake has no certificate to check again. */
static GHashTable *resumable; /* "database/host:port" -> GTlsClientConnection */

static char *
resumable_key (ConnectData *data)
{
  g_autofree char *host = g_ascii_strdown (data->host, -1);

  return g_strdup_printf ("%p/%s:%u", (gpointer) data->tls_database, host, data->port);
}

static void
resume_session (ConnectData *data, GTlsClientConnection *tls)
{
  g_autofree char *key = NULL;
  GTlsClientConnection *previous;

  /* glib-networking computes no session ID under g_test_init() */
  if (resumable == NULL || g_test_initialized ())
    return;
  key = resumable_key (data);
  previous = g_hash_table_lookup (resumable, key);
  if (previous != NULL)
    g_tls_client_connection_copy_session_state (tls, previous);
}

static void
remember_session (ConnectData *data, GIOStream *connection)
{
  GIOStream *base = NULL;

  if (G_IS_TCP_WRAPPER_CONNECTION (connection))
    base = g_tcp_wrapper_connection_get_base_io_stream (G_TCP_WRAPPER_CONNECTION (connection));
  if (!G_IS_TLS_CLIENT_CONNECTION (base))
    return;
  if (resumable == NULL)
    resumable = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  if (g_hash_table_size (resumable) >= 64)
    g_hash_table_remove_all (resumable);
  g_hash_table_replace (resumable, resumable_key (data), g_object_ref (base));
}

static void
set_nodelay (GSocketConnection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr (GError) error = NULL;

  if (socket != NULL && !g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, &error))
    g_debug ("Could not set TCP_NODELAY: %s", error->message);
}

static void
on_client_event (GSocketClient *client,
                 GSocketClientEvent event,
                 GSocketConnectable *connectable,
                 GIOStream *connection,
                 gpointer user_data)
{
  if (event == G_SOCKET_CLIENT_CONNECTED && G_IS_SOCKET_CONNECTION (connection))
    set_nodelay (G_SOCKET_CONNECTION (connection));
}

/* The TLS client connection over @tcp, made here rather than by
 * GSocketClient so that the trust database is set at construction:
 * glib-networking otherwise reads the backend's default database while
 * constructing, which loads the whole system trust store even when the
 * CAFile alone decides (see sfb-tls.c). */
static GTlsClientConnection *
new_tls_connection (ConnectData *data, GSocketConnection *tcp, GError **error)
{
  g_autoptr (GSocketConnectable) identity = g_network_address_new (data->host, data->port);
  GTlsBackend *backend = g_tls_backend_get_default ();
  GTlsClientConnection *tls;

  /* dialled by address (see connect_next_address): the name is what the
   * certificate must match */
  if (data->tls_database == NULL)
    tls = G_TLS_CLIENT_CONNECTION (
        g_tls_client_connection_new (G_IO_STREAM (tcp), identity, error));
  else
    tls = g_initable_new (g_tls_backend_get_client_connection_type (backend),
                          NULL,
                          error,
                          "base-io-stream",
                          tcp,
                          "server-identity",
                          identity,
                          "database",
                          data->tls_database,
                          NULL);
  if (tls == NULL)
    return NULL;
  resume_session (data, tls);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate), data);
  return tls;
}

/* The name of the interface that holds @address ("" when none does). */
static char *
interface_for_address (GInetAddress *address)
{
  struct ifaddrs *list = NULL;
  char *name = NULL;

  if (getifaddrs (&list) != 0)
    return g_strdup ("");
  for (struct ifaddrs *ifa = list; ifa != NULL && name == NULL; ifa = ifa->ifa_next)
    {
      g_autoptr (GSocketAddress) socket_address = NULL;
      gsize len;

      if (ifa->ifa_addr == NULL)
        continue;
      if (ifa->ifa_addr->sa_family == AF_INET)
        len = sizeof (struct sockaddr_in);
      else if (ifa->ifa_addr->sa_family == AF_INET6)
        len = sizeof (struct sockaddr_in6);
      else
        continue;
      socket_address = g_socket_address_new_from_native (ifa->ifa_addr, len);
      if (G_IS_INET_SOCKET_ADDRESS (socket_address)
          && g_inet_address_equal (
              g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (socket_address)), address))
        name = g_strdup (ifa->ifa_name);
    }
  freeifaddrs (list);
  return name != NULL ? name : g_strdup ("");
}

static void
record_endpoints (SfbSipConnection *self)
{
  g_autoptr (GSocketAddress) local = NULL;
  g_autoptr (GSocketAddress) remote = NULL;
  GIOStream *base = NULL;

  if (G_IS_SOCKET_CONNECTION (self->connection))
    {
      local = g_socket_connection_get_local_address (G_SOCKET_CONNECTION (self->connection), NULL);
      remote
          = g_socket_connection_get_remote_address (G_SOCKET_CONNECTION (self->connection), NULL);
    }
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    self->remote_ip = g_inet_address_to_string (
        g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  else
    self->remote_ip = g_strdup ("");
  if (G_IS_INET_SOCKET_ADDRESS (local))
    {
      GInetAddress *address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));

      self->local_ip = g_inet_address_to_string (address);
      self->local_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
      self->interface = interface_for_address (address);
    }
  else
    {
      self->local_ip = g_strdup ("0.0.0.0");
      self->interface = g_strdup ("");
    }
  if (strchr (self->local_ip, ':') != NULL)
    self->local_address = g_strdup_printf ("[%s]:%u", self->local_ip, self->local_port);
  else
    self->local_address = g_strdup_printf ("%s:%u", self->local_ip, self->local_port);

  if (G_IS_TCP_WRAPPER_CONNECTION (self->connection))
    base
        = g_tcp_wrapper_connection_get_base_io_stream (G_TCP_WRAPPER_CONNECTION (self->connection));
  if (G_IS_TLS_CONNECTION (base))
    {
      GTlsCertificate *peer = g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (base));

      if (peer != NULL)
        {
          g_autoptr (GByteArray) der = NULL;

          self->peer_subject = g_tls_certificate_get_subject_name (peer);
          g_object_get (peer, "certificate", &der, NULL);
          if (der != NULL)
            self->peer_certificate = g_bytes_new (der->data, der->len);
        }
    }
  if (self->peer_subject == NULL)
    self->peer_subject = g_strdup ("");
}

/* Connecting to this address failed with @error (taken): the next address
 * of the name, if any and the failure was no TLS one, else the task's
 * error. */
static void
connect_failed (GTask *task, GError *error)
{
  ConnectData *data = g_task_get_task_data (task);

  g_clear_object (&data->tcp);
  if (data->from_memory && !g_task_return_error_if_cancelled (task))
    {
      /* Any failure there, a certificate one included (another host may
       * have the address now), sends sfbd to what the name resolves to. */
      if (data->abandoned)
        g_info ("The remembered address of %s was given up: the name resolves elsewhere now",
                data->host);
      else
        g_info ("The remembered address of %s failed (%s): using what the name resolves to",
                data->host,
                error->message);
      g_clear_error (&error);
      data->certificate_errors = 0;
      g_clear_object (&data->rejected);
      if (data->resolving)
        data->waiting = TRUE; /* on_resolved_beside goes on with this reference */
      else
        fall_back_to_resolved (task);
      return;
    }
  if (data->from_memory)
    {
      g_clear_error (&error);
      g_object_unref (task);
      return;
    }
  if (data->certificate_errors == 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      && error->domain != G_TLS_ERROR && data->next_address != NULL)
    {
      /* the next address of the name, if it has more */
      if (data->first_error == NULL)
        data->first_error = g_steal_pointer (&error);
      g_clear_error (&error);
      connect_next_address (task);
      return;
    }
  if (data->first_error != NULL && error->domain != G_TLS_ERROR)
    {
      g_clear_error (&error);
      error = g_steal_pointer (&data->first_error);
    }
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    forget_cached_addresses (data->host); /* stale, or the server moved */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, g_steal_pointer (&error));
  else if (data->certificate_errors != 0)
    g_task_return_error (
        task,
        sfb_tls_error_new_for_certificate (data->certificate_errors, data->host, data->rejected));
  else if (error->domain == G_TLS_ERROR)
    g_task_return_new_error (task,
                             SFB_ERROR,
                             SFB_ERROR_NOT_REACHABLE,
                             "The TLS handshake with %s:%u failed: %s",
                             data->host,
                             data->port,
                             error->message);
  else
    g_task_return_new_error (task,
                             SFB_ERROR,
                             SFB_ERROR_NOT_REACHABLE,
                             "Cannot connect to %s:%u: %s",
                             data->host,
                             data->port,
                             error->message);
  g_clear_error (&error);
  g_object_unref (task);
}

/* The TLS handshake is done: the SfbSipConnection. */
static void
connection_ready (GTask *task, GSocketConnection *connection)
{
  ConnectData *data = g_task_get_task_data (task);
  g_autoptr (SfbSipConnection) self = NULL;
  GSocket *socket = g_socket_connection_get_socket (connection);

  if (socket != NULL)
    g_socket_set_timeout (socket, 0); /* the connect timeout must not end idle reads */

  self = g_object_new (SFB_TYPE_SIP_CONNECTION, NULL);
  self->host = g_strdup (data->host);
  self->port = data->port;
  self->connection = G_IO_STREAM (g_object_ref (connection));
  self->last_sent = g_get_monotonic_time ();
  remember_session (data, self->connection);
  record_endpoints (self);
  data->from_memory = FALSE; /* the resolver's answer only fills the cache now */
  self->address_source = g_strdup (data->source);
  g_info ("Connected to %s:%u at %s (%s) from %s (%s)",
          self->host,
          self->port,
          self->remote_ip,
          self->address_source,
          self->local_address,
          *self->interface != '\0' ? self->interface : "unknown interface");
  sfb_sip_connection_start_read (self);
  g_task_return_pointer (task, g_steal_pointer (&self), g_object_unref);
  g_object_unref (task);
}

static void
on_handshaked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  ConnectData *data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GSocketConnection) connection = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      connect_failed (task, error);
      return;
    }
  connection = g_tcp_wrapper_connection_new (G_IO_STREAM (source),
                                             g_socket_connection_get_socket (data->tcp));
  g_clear_object (&data->tcp);
  connection_ready (task, connection);
}

/* What the dial and handshake watch: the task's cancellable, or while the
 * remembered address is tried one that on_resolved_beside can also cancel. */
static GCancellable *
dial_cancellable (GTask *task)
{
  ConnectData *data = g_task_get_task_data (task);

  return data->dial_cancellable != NULL ? data->dial_cancellable : g_task_get_cancellable (task);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  ConnectData *data = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GTlsClientConnection) tls = NULL;

  data->tcp = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (data->tcp == NULL)
    {
      connect_failed (task, error);
      return;
    }
  tls = new_tls_connection (data, data->tcp, &error);
  if (tls == NULL)
    {
      connect_failed (task, error);
      return;
    }
  g_tls_connection_handshake_async (
      G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, dial_cancellable (task), on_handshaked, task);
}

static void
connect_next_address (GTask *task)
{
  ConnectData *data = g_task_get_task_data (task);
  GInetAddress *address = data->next_address->data;
  g_autoptr (GSocketAddress) socket_address = g_inet_socket_address_new (address, data->port);

  data->next_address = data->next_address->next;
  g_socket_client_connect_async (data->client,
                                 G_SOCKET_CONNECTABLE (socket_address),
                                 dial_cancellable (task),
                                 on_connected,
                                 task);
}

/* Addresses resolved for a connection are reused by the next connection to
 * the same name for ADDRESS_CACHE_S (reconnect, restart of a sign-in: one
 * DNS round trip less).  getaddrinfo() does not tell the record's TTL, so the
 * lifetime is a short fixed one; an entry is dropped as soon as connecting to
 * its addresses fails, and everything when the network changes
 * (sfb_sip_connection_forget_addresses()), so a moved server or another DNS
 * view (VPN, split DNS) is looked up again. */
#define ADDRESS_CACHE_S 60
#define ADDRESS_CACHE_MAX 64

typedef struct
{
  GList *addresses;    /* of GInetAddress */
  gint64 expires;      /* monotonic µs */
  gboolean remembered; /* from the state directory, not resolved in this run */
} CachedAddresses;

static GHashTable *address_cache; /* lower-case host -> CachedAddresses */

static void
cached_addresses_free (CachedAddresses *cached)
{
  g_resolver_free_addresses (cached->addresses);
  g_free (cached);
}

static gpointer
ref_address (gconstpointer address, gpointer user_data)
{
  return g_object_ref ((gpointer) address);
}

static GList *
copy_addresses (GList *addresses)
{
  return g_list_copy_deep (addresses, ref_address, NULL);
}

/* A remembered entry is used once (@remembered set): it is dialled while the
 * name is resolved, and the resolver's answer replaces it. */
static GList *
lookup_cached_addresses (const char *host, gboolean *remembered)
{
  g_autofree char *key = g_ascii_strdown (host, -1);
  CachedAddresses *cached;
  GList *addresses;

  *remembered = FALSE;
  if (address_cache == NULL)
    return NULL;
  cached = g_hash_table_lookup (address_cache, key);
  if (cached == NULL)
    return NULL;
  if (g_get_monotonic_time () >= cached->expires)
    {
      g_hash_table_remove (address_cache, key);
      return NULL;
    }
  addresses = copy_addresses (cached->addresses);
  *remembered = cached->remembered;
  if (cached->remembered)
    g_hash_table_remove (address_cache, key);
  return addresses;
}

static void
cache_addresses (const char *host, GList *addresses)
{
  CachedAddresses *cached = g_new0 (CachedAddresses, 1);

  if (address_cache == NULL)
    address_cache = g_hash_table_new_full (
        g_str_hash, g_str_equal, g_free, (GDestroyNotify) cached_addresses_free);
  if (g_hash_table_size (address_cache) >= ADDRESS_CACHE_MAX)
    g_hash_table_remove_all (address_cache);
  cached->addresses = copy_addresses (addresses);
  cached->expires = g_get_monotonic_time () + ADDRESS_CACHE_S * G_USEC_PER_SEC;
  g_hash_table_replace (address_cache, g_ascii_strdown (host, -1), cached);
}

static void
forget_cached_addresses (const char *host)
{
  g_autofree char *key = g_ascii_strdown (host, -1);

  if (address_cache != NULL)
    g_hash_table_remove (address_cache, key);
}

void
sfb_sip_connection_remember_address (const char *host, const char *address)
{
  g_autoptr (GInetAddress) inet = NULL;
  g_autofree char *key = NULL;
  GList *addresses;

  g_return_if_fail (host != NULL && address != NULL);

  inet = g_inet_address_new_from_string (address);
  key = g_ascii_strdown (host, -1);
  if (inet == NULL || (address_cache != NULL && g_hash_table_contains (address_cache, key)))
    return; /* what this run resolved is newer */
  addresses = g_list_prepend (NULL, g_steal_pointer (&inet));
  cache_addresses (host, addresses);
  ((CachedAddresses *) g_hash_table_lookup (address_cache, key))->remembered = TRUE;
  g_resolver_free_addresses (addresses);
}

void
sfb_sip_connection_forget_addresses (void)
{
  if (address_cache != NULL)
    g_hash_table_remove_all (address_cache);
}

/* GLib resolves names for GSocketClient one address family at a time with
 * AI_ADDRCONFIG, which finds nothing on a host whose only interface is lo
 * (the test network); one lookup of both families works everywhere. */
static void
on_resolved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ConnectData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  data->addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);
  if (data->addresses == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task,
                                 SFB_ERROR,
                                 SFB_ERROR_NOT_REACHABLE,
                                 "Cannot connect to %s:%u: the name " SFB_SIP_CONNECTION_NO_ADDRESS
                                 " (%s)",
                                 data->host,
                                 data->port,
                                 error->message);
      return;
    }
  cache_addresses (data->host, data->addresses);
  data->source = "resolved";
  data->next_address = data->addresses;
  connect_next_address (g_steal_pointer (&task));
}

/* The remembered address failed: dial what the resolver answered (the
 * chain's reference to @task goes on). */
static void
fall_back_to_resolved (GTask *task)
{
  ConnectData *data = g_task_get_task_data (task);

  data->from_memory = FALSE;
  drop_dial_cancellable (data);
  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  if (data->resolved == NULL)
    {
      g_task_return_new_error (
          task,
          SFB_ERROR,
          SFB_ERROR_NOT_REACHABLE,
          "Cannot connect to %s:%u: the name " SFB_SIP_CONNECTION_NO_ADDRESS " (%s)",
          data->host,
          data->port,
          data->resolve_error != NULL ? data->resolve_error->message : "no answer");
      g_object_unref (task);
      return;
    }
  g_resolver_free_addresses (data->addresses);
  data->addresses = g_steal_pointer (&data->resolved);
  data->next_address = data->addresses;
  data->source = "resolved after the remembered address failed";
  connect_next_address (task);
}

static gint
compare_addresses (gconstpointer a, gconstpointer b)
{
  return g_inet_address_equal (G_INET_ADDRESS (a), G_INET_ADDRESS (b)) ? 0 : 1;
}

/* The task's cancellation reaches the remembered dial too. */
static void
on_task_cancelled (GCancellable *cancellable, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
on_resolved_beside (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data; /* the resolver's reference */
  ConnectData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  data->resolving = FALSE;
  data->resolved = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);
  if (data->resolved != NULL)
    cache_addresses (data->host, data->resolved);
  else
    data->resolve_error = g_steal_pointer (&error);
  if (data->waiting)
    {
      /* the dial's reference, kept by connect_failed(), goes on; the
       * resolver's goes with this callback */
      data->waiting = FALSE;
      fall_back_to_resolved (task);
    }
  else if (data->from_memory && data->resolved != NULL
           && g_list_find_custom (data->resolved, data->addresses->data, compare_addresses) == NULL)
    {
      /* the name has moved: a dial to the old address could hang until the
       * connect timeout (a firewall drops it); stop it, connect_failed then
       * dials what the name resolves to */
      data->abandoned = TRUE;
      g_cancellable_cancel (data->dial_cancellable);
    }
}

void
sfb_sip_connection_new_async (const char *host,
                              guint16 port,
                              GTlsDatabase *tls_database,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GResolver) resolver = NULL;
  ConnectData *data;
  gboolean remembered = FALSE;

  g_return_if_fail (host != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_sip_connection_new_async);
  data = g_new0 (ConnectData, 1);
  data->host = g_strdup (host);
  data->port = port != 0 ? port : 5061;
  data->tls_database = tls_database != NULL ? g_object_ref (tls_database) : NULL;
  g_task_set_task_data (task, data, (GDestroyNotify) connect_data_free);

  data->client = g_socket_client_new ();
  g_socket_client_set_timeout (data->client, CONNECT_TIMEOUT_S);
  /* a proxy's CONNECT tunnel when one is configured (sfb-proxy.h) */
  g_socket_client_set_enable_proxy (data->client, sfb_proxy_may_be_configured ());
  g_signal_connect (data->client, "event", G_CALLBACK (on_client_event), data);
  data->addresses = lookup_cached_addresses (host, &remembered);
  resolver = g_resolver_get_default ();
  if (data->addresses != NULL && remembered)
    {
      /* a new process: the address the home pool had, dialled at once; the
       * name is still resolved beside it, for a fallback and the cache.  TLS
       * checks the certificate against the name, so a stale or spoofed
       * address gains nothing. */
      g_autofree char *shown = g_inet_address_to_string (data->addresses->data);

      g_info ("Dialling %s at its remembered address %s while resolving the name", host, shown);
      data->source = "the remembered address";
      data->from_memory = TRUE;
      data->resolving = TRUE;
      data->next_address = data->addresses;
      data->dial_cancellable = g_cancellable_new ();
      if (cancellable != NULL)
        {
          data->task_cancellable = g_object_ref (cancellable);
          data->cancelled_id = g_cancellable_connect (
              cancellable, G_CALLBACK (on_task_cancelled), data->dial_cancellable, NULL);
        }
      g_resolver_lookup_by_name_async (
          resolver, host, cancellable, on_resolved_beside, g_object_ref (task));
      connect_next_address (g_steal_pointer (&task));
      return;
    }
  if (data->addresses != NULL)
    {
      g_debug ("Dialling %s with the addresses resolved before", host);
      data->source = "resolved before";
      data->next_address = data->addresses;
      connect_next_address (g_steal_pointer (&task));
      return;
    }
  g_resolver_lookup_by_name_async (
      resolver, host, cancellable, on_resolved, g_steal_pointer (&task));
}

SfbSipConnection *
sfb_sip_connection_new_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* A connection over @stream, already open (tests, or a transport set up
 * elsewhere): reading starts at once. */
SfbSipConnection *
sfb_sip_connection_new_for_stream (GIOStream *stream, const char *host, guint16 port)
{
  SfbSipConnection *self;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (host != NULL, NULL);

  self = g_object_new (SFB_TYPE_SIP_CONNECTION, NULL);
  self->host = g_strdup (host);
  self->port = port;
  self->connection = g_object_ref (stream);
  self->last_sent = g_get_monotonic_time ();
  record_endpoints (self);
  sfb_sip_connection_start_read (self);
  return self;
}
