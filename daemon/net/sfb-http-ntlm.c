/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-net"

#include "config.h"

#include "sfb-http-ntlm.h"

#include "sfb-error.h"
#include "sfb-ntlm.h"
#include "sfb-proxy.h"
#include "sfb-stream.h"
#include "sfb-text.h"
#include "sfb-tls.h"

#include <string.h>

/* NEGOTIATE: UNICODE | OEM | REQUEST_TARGET | NTLM | ALWAYS_SIGN |
 * EXTENDED_SESSIONSECURITY | 128 | 56 */
#define NEGOTIATE_FLAGS                                                                            \
  (SFB_NTLM_NEGOTIATE_UNICODE | SFB_NTLM_NEGOTIATE_OEM | SFB_NTLM_REQUEST_TARGET                   \
   | SFB_NTLM_NEGOTIATE_NTLM | SFB_NTLM_NEGOTIATE_ALWAYS_SIGN                                      \
   | SFB_NTLM_NEGOTIATE_EXTENDED_SESSIONSECURITY | SFB_NTLM_NEGOTIATE_128 | SFB_NTLM_NEGOTIATE_56)
#define MAX_SHOWN_URL 200

SoupSession *
sfb_http_ntlm_session_new (GTlsDatabase *database)
{
  /* one connection per host: the legs must share it */
  SoupSession *session = soup_session_new_with_options (
      "max-conns-per-host", 1, "timeout", 30, "user-agent", "sfbd", NULL);

  if (!sfb_proxy_may_be_configured ())
    soup_session_set_proxy_resolver (session, NULL);
  if (database != NULL)
    soup_session_set_tls_database (session, database);
  /* we answer 401s ourselves (NTLMv2, sfb-ntlm.h) */
  soup_session_remove_feature_by_type (session, SOUP_TYPE_AUTH_MANAGER);
  return session;
}

GUri *
sfb_http_ntlm_parse_url (const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);

  if (uri == NULL || g_uri_get_host (uri) == NULL
      || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0)
    {
      g_autofree char *shown = sfb_text_quote_untrusted (url, -1, MAX_SHOWN_URL);

      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_SERVER_REJECTED,
                   "refusing the non-HTTPS or malformed URL %s",
                   shown);
      return NULL;
    }
  return g_steal_pointer (&uri);
}

SoupMessage *
sfb_http_ntlm_message_new (const char *method,
                           GUri *uri,
                           const char *authorization,
                           const char *body)
{
  SoupMessage *message = soup_message_new_from_uri (method, uri);

  /* IDEMPOTENT: libsoup would open a new connection for a POST, and the
   * NTLM legs must share one (the callers' POSTs are safe to repeat) */
  soup_message_add_flags (message, SOUP_MESSAGE_NO_REDIRECT | SOUP_MESSAGE_IDEMPOTENT);
  if (authorization != NULL)
    soup_message_headers_replace (
        soup_message_get_request_headers (message), "Authorization", authorization);
  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "text/xml; charset=utf-8", bytes);
    }
  return message;
}

typedef struct
{
  SoupMessage *message;
  gsize max_body;
  char *shown;
  char *certificate_host; /* nullable */
  gboolean no_server;     /* it failed: nothing is there (no_server ()) */
  GError *failure;        /* while the failure's name is looked up again */
} Leg;

static void
leg_free (Leg *leg)
{
  g_clear_error (&leg->failure);
  g_clear_object (&leg->message);
  g_free (leg->shown);
  g_free (leg->certificate_host);
  g_free (leg);
}

static void
leg_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Leg *leg = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = sfb_stream_read_bounded_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, g_steal_pointer (&error));
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
    g_task_return_new_error (task,
                             SFB_ERROR,
                             SFB_ERROR_SERVER_REJECTED,
                             "%s: the answer is larger than %" G_GSIZE_FORMAT " bytes",
                             leg->shown,
                             leg->max_body);
  else if (body == NULL)
    g_task_return_new_error (task,
                             SFB_ERROR,
                             SFB_ERROR_NOT_REACHABLE,
                             "%s: reading the answer failed: %s",
                             leg->shown,
                             error->message);
  else
    g_task_return_pointer (task, g_steal_pointer (&body), (GDestroyNotify) g_bytes_unref);
}

/* No server at all: nothing listens on the port (a name that does not
 * exist: confirm_name_not_found ()).  A timeout, an unreachable network or
 * a DNS server that failed may pass; these answers will not until DNS or
 * the network changes. */
static gboolean
no_server (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
}

/* The error of a request that got no answer */
static GError *
send_error (Leg *leg, const GError *error)
{
  GTlsCertificateFlags flags = soup_message_get_tls_peer_certificate_errors (leg->message);

  if (error->domain == G_TLS_ERROR && flags != 0 && leg->certificate_host != NULL)
    {
      /* the certificate in words, as for SIP (sfb-tls.h) */
      g_autoptr (GError) tls = sfb_tls_error_new_for_certificate (
          flags, leg->certificate_host, soup_message_get_tls_peer_certificate (leg->message));

      return g_error_new (SFB_ERROR, tls->code, "%s: TLS failed: %s", leg->shown, tls->message);
    }
  return g_error_new (SFB_ERROR,
                      SFB_ERROR_NOT_REACHABLE,
                      "%s: %s%s",
                      leg->shown,
                      error->domain == G_TLS_ERROR ? "TLS failed: " : "",
                      error->message);
}

static void
name_confirmed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Leg *leg = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);

  g_resolver_free_addresses (addresses);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  leg->no_server = g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND);
  /* a DNS server's failure says more than the other family's "not found" */
  g_task_return_error (task, send_error (leg, error != NULL ? error : leg->failure));
}

/* GSocketClient reports one address family's error when both lookups
 * failed: on a host without IPv6 that can be the AAAA lookup's instant
 * "not found" while the DNS server failed the A lookup.  One lookup of
 * both families together tells a name that does not exist from a DNS
 * server's failure, which may pass. */
static void
confirm_name_not_found (GTask *task, GError *error)
{
  Leg *leg = g_task_get_task_data (task);
  g_autoptr (GResolver) resolver = g_resolver_get_default ();
  const char *host = g_uri_get_host (soup_message_get_uri (leg->message));

  leg->failure = error;
  g_resolver_lookup_by_name_async (
      resolver, host, g_task_get_cancellable (task), name_confirmed_cb, task);
}

static void
leg_sent_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Leg *leg = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) stream
      = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  GCancellable *cancellable;

  if (stream == NULL)
    {
      if (g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
        confirm_name_not_found (g_steal_pointer (&task), g_steal_pointer (&error));
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        {
          leg->no_server = no_server (error);
          g_task_return_error (task, send_error (leg, error));
        }
      return;
    }
  /* read all of it: the connection is idle again only then, and the next
   * leg must reuse it */
  cancellable = g_task_get_cancellable (task);
  sfb_stream_read_bounded_async (
      stream, leg->max_body, cancellable, leg_read_cb, g_steal_pointer (&task));
}

void
sfb_http_ntlm_send_async (SoupSession *session,
                          SoupMessage *message,
                          gsize max_body,
                          const char *shown,
                          const char *certificate_host,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (session, cancellable, callback, user_data);
  Leg *leg = g_new0 (Leg, 1);

  g_task_set_source_tag (task, sfb_http_ntlm_send_async);
  leg->message = g_object_ref (message);
  leg->max_body = max_body;
  leg->shown = g_strdup (shown);
  leg->certificate_host = g_strdup (certificate_host);
  g_task_set_task_data (task, leg, (GDestroyNotify) leg_free);
  soup_session_send_async (
      session, message, G_PRIORITY_DEFAULT, cancellable, leg_sent_cb, g_steal_pointer (&task));
}

GBytes *
sfb_http_ntlm_send_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sfb_http_ntlm_send_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
sfb_http_ntlm_send_found_no_server (GAsyncResult *result)
{
  Leg *leg;

  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sfb_http_ntlm_send_async, FALSE);
  leg = g_task_get_task_data (G_TASK (result));
  return leg->no_server;
}

char *
sfb_http_ntlm_authorization (const char *scheme, GBytes *token)
{
  g_autofree char *b64 = g_base64_encode (g_bytes_get_data (token, NULL), g_bytes_get_size (token));

  return g_strdup_printf ("%s %s", scheme, b64);
}

char *
sfb_http_ntlm_negotiate (const char *scheme)
{
  guint8 msg[32] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 1, 0, 0, 0 };
  guint32 flags = NEGOTIATE_FLAGS;
  g_autoptr (GBytes) token = NULL;

  for (guint i = 0; i < 4; i++)
    msg[12 + i] = (guint8) (flags >> (8 * i));
  token = g_bytes_new (msg, sizeof msg);
  return sfb_http_ntlm_authorization (scheme, token);
}

/* The base64 token after "@scheme " in @value, or NULL */
static const char *
token_under (const char *value, const char *scheme)
{
  gsize n = strlen (scheme);

  if (g_ascii_strncasecmp (value, scheme, n) != 0 || value[n] != ' ')
    return NULL;
  value += n;
  while (*value == ' ')
    value++;
  return *value != '\0' ? value : NULL;
}

GBytes *
sfb_http_ntlm_challenge (SoupMessage *message, const char *scheme)
{
  SoupMessageHeadersIter iter;
  const char *name;
  const char *value;

  soup_message_headers_iter_init (&iter, soup_message_get_response_headers (message));
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      const char *token;
      guchar *raw;
      gsize len = 0;

      if (g_ascii_strcasecmp (name, "WWW-Authenticate") != 0)
        continue;
      if (scheme != NULL)
        token = token_under (value, scheme);
      else if ((token = token_under (value, "NTLM")) == NULL)
        token = token_under (value, "Negotiate");
      /* decode no more than an NTLM message can be */
      if (token == NULL || strlen (token) > 4 * SFB_NTLM_MAX_MESSAGE / 3 + 4)
        continue;
      raw = g_base64_decode (token, &len);
      if (len >= 8 && memcmp (raw, "NTLMSSP", 8) == 0)
        return g_bytes_new_take (raw, len);
      g_free (raw);
    }
  return NULL;
}
