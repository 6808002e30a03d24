/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-dns"

#include "config.h"

#include "sfb-autodiscover.h"

#include "sfb-error.h"
#include "sfb-stream.h"
#include "sfb-text.h"
#include "sfb-tls.h"
#include "sfb-xml.h"

#include <string.h>

/* ---- The parser: bytes -> SfbAutodiscoverDocument ---- */

void
sfb_autodiscover_document_free (SfbAutodiscoverDocument *doc)
{
  if (doc == NULL)
    return;
  g_free (doc->access_location);
  g_free (doc->user_href);
  g_free (doc->redirect_href);
  g_free (doc->internal_fqdn);
  g_free (doc->external_fqdn);
  g_free (doc);
}

static gboolean
name_is (const SfbXmlNode *node, const char *name)
{
  return node->type == SFB_XML_NODE_ELEMENT && g_str_equal (node->name, name);
}

/* The attribute's value, trimmed, or NULL when absent, empty or too long. */
static char *
get_attribute (SfbXmlNode *node, const char *name)
{
  const char *raw = sfb_xml_node_attr (node, name, NULL);
  char *value;

  if (raw == NULL || strlen (raw) > SFB_AUTODISCOVER_MAX_ATTRIBUTE_LENGTH)
    return NULL;
  value = g_strstrip (g_strdup (raw));
  if (*value == '\0')
    g_clear_pointer (&value, g_free);
  return value;
}

/* A DNS host name: letters, digits, '-', '.'; at most 253 characters; one
 * trailing dot dropped; lower case.  NULL when not a host name. */
static char *
normalize_fqdn (const char *value)
{
  g_autofree char *host = NULL;
  gsize len;

  if (value == NULL)
    return NULL;
  host = g_ascii_strdown (value, -1);
  len = strlen (host);
  if (len > 0 && host[len - 1] == '.')
    host[--len] = '\0';
  if (len == 0 || len > 253 || host[0] == '.' || host[0] == '-')
    return NULL;
  for (const char *p = host; *p; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
        return NULL;
      if (*p == '.' && p[1] == '.')
        return NULL;
    }
  return g_steal_pointer (&host);
}

/* Port 1..65535; @fallback when absent; 0 when malformed. */
static guint16
parse_port (const char *value, guint16 fallback)
{
  guint64 port = 0;

  if (value == NULL)
    return fallback;
  if (!g_ascii_string_to_unsigned (value, 10, 1, 65535, &port, NULL))
    return 0;
  return (guint16) port;
}

static void
parse_access (SfbXmlNode *node, char **fqdn, guint16 *port, guint16 default_port)
{
  g_autofree char *raw_fqdn = NULL;
  g_autofree char *raw_port = NULL;
  g_autofree char *host = NULL;
  guint16 p;

  if (*fqdn != NULL) /* the first one counts */
    return;
  raw_fqdn = get_attribute (node, "fqdn");
  raw_port = get_attribute (node, "port");
  host = normalize_fqdn (raw_fqdn);
  p = parse_port (raw_port, default_port);
  if (host == NULL || p == 0)
    {
      g_debug ("Ignoring %s with a bad fqdn or port", (const char *) node->name);
      return;
    }
  *fqdn = g_steal_pointer (&host);
  *port = p;
}

static void
parse_link (SfbXmlNode *node, SfbAutodiscoverDocument *doc, gboolean in_root)
{
  g_autofree char *token = get_attribute (node, "token");
  g_autofree char *href = get_attribute (node, "href");

  if (token == NULL || href == NULL)
    return;
  if (g_ascii_strcasecmp (token, "Redirect") == 0 && doc->redirect_href == NULL)
    doc->redirect_href = g_steal_pointer (&href);
  else if (in_root && g_ascii_strcasecmp (token, "User") == 0 && doc->user_href == NULL)
    doc->user_href = g_steal_pointer (&href);
}

static const SfbXmlLimits limits = {
  .max_document = SFB_AUTODISCOVER_MAX_DOCUMENT_SIZE,
  .max_depth = SFB_AUTODISCOVER_MAX_DEPTH,
};

static void
set_read_error (GError **error, SfbXmlVerdict verdict, gsize length)
{
  const char *why = NULL;

  switch (verdict)
    {
    case SFB_XML_OK:
      g_return_if_reached ();
    case SFB_XML_EMPTY:
      why = "is empty";
      break;
    case SFB_XML_TOO_LARGE:
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_DISCOVERY_FAILED,
                   "The autodiscover answer is too large (%" G_GSIZE_FORMAT " bytes, at most %d)",
                   length,
                   SFB_AUTODISCOVER_MAX_DOCUMENT_SIZE);
      return;
    case SFB_XML_DTD:
      why = "contains a DTD, which is not accepted";
      break;
    case SFB_XML_MALFORMED:
      why = "is not well-formed XML";
      break;
    case SFB_XML_NO_ROOT:
      why = "is not an AutodiscoverResponse";
      break;
    case SFB_XML_TOO_DEEP:
    case SFB_XML_TOO_MANY_ELEMENTS:
      why = "is nested too deeply";
      break;
    }
  g_set_error (error, SFB_ERROR, SFB_ERROR_DISCOVERY_FAILED, "The autodiscover answer %s", why);
}

SfbAutodiscoverDocument *
sfb_autodiscover_parse (const char *data, gsize length, GError **error)
{
  g_autoptr (SfbAutodiscoverDocument) doc = NULL;
  g_autoptr (SfbXmlDoc) xml = NULL;
  g_autofree char *location = NULL;
  SfbXmlNode *root;
  SfbXmlVerdict verdict;

  xml = sfb_xml_read (data, length, &limits, &verdict);
  if (xml == NULL)
    {
      set_read_error (error, verdict, length);
      return NULL;
    }
  root = sfb_xml_doc_root (xml);
  if (!name_is (root, "AutodiscoverResponse"))
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_DISCOVERY_FAILED,
                           "The autodiscover answer is not an AutodiscoverResponse");
      return NULL;
    }

  doc = g_new0 (SfbAutodiscoverDocument, 1);
  location = get_attribute (root, "AccessLocation");
  if (location != NULL && g_ascii_strcasecmp (location, "Internal") == 0)
    doc->access_location = g_strdup ("internal");
  else if (location != NULL && g_ascii_strcasecmp (location, "External") == 0)
    doc->access_location = g_strdup ("external");

  for (SfbXmlNode *section = root->children; section != NULL; section = section->next)
    {
      gboolean in_root;

      if (name_is (section, "Root"))
        {
          doc->has_root = TRUE;
          in_root = TRUE;
        }
      else if (name_is (section, "User"))
        {
          doc->has_user = TRUE;
          in_root = FALSE;
        }
      else
        continue;

      for (SfbXmlNode *node = section->children; node != NULL; node = node->next)
        {
          if (name_is (node, "Link"))
            parse_link (node, doc, in_root);
          else if (!in_root && name_is (node, "SipClientInternalAccess"))
            parse_access (node, &doc->internal_fqdn, &doc->internal_port, 5061);
          else if (!in_root && name_is (node, "SipClientExternalAccess"))
            parse_access (node, &doc->external_fqdn, &doc->external_port, 443);
        }
    }

  if (!doc->has_root && !doc->has_user)
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_DISCOVERY_FAILED,
                           "The autodiscover answer has neither a Root nor a User resource");
      return NULL;
    }
  return g_steal_pointer (&doc);
}

GPtrArray *
sfb_autodiscover_document_get_candidates (const SfbAutodiscoverDocument *doc)
{
  GPtrArray *candidates
      = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_server_candidate_free);
  const char *location;

  g_return_val_if_fail (doc != NULL, candidates);

  location = doc->access_location;
  if (doc->internal_fqdn != NULL && g_strcmp0 (location, "external") != 0)
    g_ptr_array_add (
        candidates,
        sfb_server_candidate_new (
            doc->internal_fqdn, doc->internal_port, SFB_SERVER_SOURCE_AUTODISCOVER, "internal"));
  if (doc->external_fqdn != NULL && g_strcmp0 (location, "internal") != 0)
    g_ptr_array_add (
        candidates,
        sfb_server_candidate_new (
            doc->external_fqdn, doc->external_port, SFB_SERVER_SOURCE_AUTODISCOVER, "external"));
  return candidates;
}

char *
sfb_autodiscover_build_url (const char *host, const char *user_at_domain)
{
  g_autofree char *escaped = NULL;

  g_return_val_if_fail (host != NULL, NULL);
  g_return_val_if_fail (user_at_domain != NULL, NULL);

  escaped = g_uri_escape_string (user_at_domain, "@", FALSE);
  return g_strdup_printf ("https://%s/?sipuri=%s", host, escaped);
}

/* ---- The HTTPS walk ---- */

typedef struct
{
  SoupSession *session;
  GUri *uri;                       /* the request in flight */
  SoupMessage *message;            /* the request in flight */
  GTlsCertificateFlags tls_errors; /* of the last rejected peer */
  GByteArray *body;
  guint hops;
  GString *path; /* "Root -> User -> ..." for the detail */
  GPtrArray *candidates;
  char *detail;
  GWeakRef provider; /* of SfbWebTicketProvider.object */
  SfbWebTicketGetAsync get_ticket_async;
  SfbWebTicketGetFinish get_ticket_finish;
  gboolean ticket_tried; /* one web ticket per walk */
  char *ticket_header;   /* "opaque=<base64>" for the next request only; a secret */
  GPtrArray *hops_seen;  /* SfbAutodiscoverHop */
  GTlsCertificate *rejected;
} Walk;

void
sfb_autodiscover_hop_free (SfbAutodiscoverHop *hop)
{
  if (hop == NULL)
    return;
  g_free (hop->host);
  g_free (hop->content_type);
  g_free (hop->web_ticket_url);
  g_clear_object (&hop->certificate);
  g_clear_pointer (&hop->document, sfb_autodiscover_document_free);
  g_free (hop);
}

/* A hop for the request in flight, answered with @message's status (NULL: no answer) */
static SfbAutodiscoverHop *
walk_add_hop (Walk *walk, SoupMessage *message)
{
  SfbAutodiscoverHop *hop = g_new0 (SfbAutodiscoverHop, 1);

  hop->host = g_strdup (walk->uri != NULL ? g_uri_get_host (walk->uri) : NULL);
  hop->tls_errors = walk->tls_errors;
  hop->certificate = walk->rejected != NULL ? g_object_ref (walk->rejected) : NULL;
  if (message != NULL)
    {
      SoupMessageHeaders *headers = soup_message_get_response_headers (message);

      hop->status = soup_message_get_status (message);
      hop->content_type = g_strdup (soup_message_headers_get_content_type (headers, NULL));
      hop->web_ticket_url = g_strdup (soup_message_headers_get_one (headers, "X-MS-WebTicketURL"));
    }
  g_ptr_array_add (walk->hops_seen, hop);
  return hop;
}

static void
clear_secret (char **secret)
{
  if (*secret == NULL)
    return;
  explicit_bzero (*secret, strlen (*secret));
  g_clear_pointer (secret, g_free);
}

static void
walk_free (Walk *walk)
{
  g_clear_object (&walk->session);
  g_clear_pointer (&walk->uri, g_uri_unref);
  g_clear_object (&walk->message);
  g_clear_pointer (&walk->body, g_byte_array_unref);
  if (walk->path != NULL)
    g_string_free (walk->path, TRUE);
  g_clear_pointer (&walk->candidates, g_ptr_array_unref);
  g_free (walk->detail);
  g_weak_ref_clear (&walk->provider);
  clear_secret (&walk->ticket_header);
  g_clear_pointer (&walk->hops_seen, g_ptr_array_unref);
  g_clear_object (&walk->rejected);
  g_free (walk);
}

static void walk_request (GTask *task, const char *url);

static void
walk_done (GTask *task, const char *summary)
{
  Walk *walk = g_task_get_task_data (task);

  walk->detail = g_strdup_printf ("%s%s%s", walk->path->str, walk->path->len ? ": " : "", summary);
  if (walk->candidates == NULL)
    walk->candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_server_candidate_free);
  g_task_return_pointer (
      task, g_ptr_array_ref (walk->candidates), (GDestroyNotify) g_ptr_array_unref);
}

static void
walk_fail (GTask *task, GError *error)
{
  Walk *walk = g_task_get_task_data (task);

  walk->detail
      = g_strdup_printf ("%s%s%s", walk->path->str, walk->path->len ? ": " : "", error->message);
  g_task_return_error (task, error);
}

static const char *
walk_host (Walk *walk)
{
  return walk->uri != NULL && g_uri_get_host (walk->uri) != NULL ? g_uri_get_host (walk->uri) : "?";
}

static void
walk_handle_document (GTask *task)
{
  Walk *walk = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbAutodiscoverDocument) owned = NULL;
  SfbAutodiscoverDocument *doc;
  const char *next = NULL;

  doc = sfb_autodiscover_parse ((const char *) walk->body->data, walk->body->len, &error);
  /* the answer's hop keeps the document */
  if (doc != NULL && walk->hops_seen->len > 0)
    ((SfbAutodiscoverHop *) g_ptr_array_index (walk->hops_seen, walk->hops_seen->len - 1))->document
        = doc;
  else
    owned = doc;
  if (doc == NULL)
    {
      walk_fail (
          task,
          g_error_new (
              SFB_ERROR, SFB_ERROR_DISCOVERY_FAILED, "%s: %s", walk_host (walk), error->message));
      return;
    }

  if (doc->has_user && (doc->internal_fqdn != NULL || doc->external_fqdn != NULL))
    {
      g_autoptr (GString) summary = g_string_new (NULL);

      walk->candidates = sfb_autodiscover_document_get_candidates (doc);
      if (walk->candidates->len == 0)
        {
          walk_done (task, "no SIP server for this access location");
          return;
        }
      for (guint i = 0; i < walk->candidates->len; i++)
        {
          g_autofree char *text = sfb_server_candidate_to_string (walk->candidates->pdata[i]);

          g_string_append_printf (summary, "%s%s", i ? ", " : "", text);
        }
      walk_done (task, summary->str);
      return;
    }
  if (doc->redirect_href != NULL)
    {
      g_string_append (walk->path, " -> Redirect");
      next = doc->redirect_href;
    }
  else if (doc->has_root && doc->user_href != NULL)
    {
      g_string_append (walk->path, " -> User");
      next = doc->user_href;
    }
  if (next == NULL)
    {
      walk_done (task, "the answer names no SIP server");
      return;
    }
  walk_request (task, next);
}

/* Said the same whether Content-Length or the body itself is too long */
static GError *
too_large_error (Walk *walk)
{
  return g_error_new (SFB_ERROR,
                      SFB_ERROR_DISCOVERY_FAILED,
                      "%s: the answer is larger than %d bytes",
                      walk_host (walk),
                      SFB_AUTODISCOVER_MAX_DOCUMENT_SIZE);
}

static void
walk_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Walk *walk = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = sfb_stream_read_bounded_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, g_steal_pointer (&error));
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
    walk_fail (task, too_large_error (walk));
  else if (body == NULL)
    walk_fail (task,
               g_error_new (SFB_ERROR,
                            SFB_ERROR_NOT_REACHABLE,
                            "%s: reading the answer failed: %s",
                            walk_host (walk),
                            error->message));
  else
    {
      g_byte_array_append (walk->body, g_bytes_get_data (body, NULL), g_bytes_get_size (body));
      walk_handle_document (task);
    }
}

static gboolean
content_type_ok (SoupMessage *message)
{
  const char *type
      = soup_message_headers_get_content_type (soup_message_get_response_headers (message), NULL);

  return type != NULL && g_ascii_strcasecmp (type, SFB_AUTODISCOVER_CONTENT_TYPE) == 0;
}

GError *
sfb_autodiscover_status_error (const char *host, guint status, const char *reason)
{
  /* the reason phrase is the server's text */
  g_autofree char *shown = sfb_text_quote_untrusted (reason, -1, SFB_TEXT_QUOTE_MAX);

  return g_error_new (
      SFB_ERROR, SFB_ERROR_DISCOVERY_FAILED, "%s answered HTTP %u %s", host, status, shown);
}

GError *
sfb_autodiscover_content_type_error (const char *host, const char *content_type)
{
  g_autofree char *shown = NULL;

  if (content_type == NULL)
    return g_error_new (SFB_ERROR,
                        SFB_ERROR_DISCOVERY_FAILED,
                        "%s answered with no content type, not %s",
                        host,
                        SFB_AUTODISCOVER_CONTENT_TYPE);
  shown = sfb_text_quote_untrusted (content_type, -1, SFB_TEXT_QUOTE_MAX);
  return g_error_new (SFB_ERROR,
                      SFB_ERROR_DISCOVERY_FAILED,
                      "%s answered with content type “%s”, not %s",
                      host,
                      shown,
                      SFB_AUTODISCOVER_CONTENT_TYPE);
}

static void
walk_ticket_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Walk *walk = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree char *next = NULL;
  char *ticket;
  char *encoded;

  ticket = walk->get_ticket_finish (source, result, &error);
  if (ticket == NULL)
    {
      g_autofree char *summary = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      summary = g_strdup_printf ("401: no web ticket (%s); no result from autodiscover",
                                 error->message);
      walk_done (task, summary);
      return;
    }
  encoded = g_base64_encode ((const guchar *) ticket, strlen (ticket));
  clear_secret (&ticket);
  walk->ticket_header = g_strconcat ("opaque=", encoded, NULL);
  clear_secret (&encoded);
  g_string_append (walk->path, " -> web ticket -> User");
  next = g_uri_to_string (walk->uri);
  walk_request (task, next);
}

/* MS-OCDISCWS 3.1.5.3: the User resource wants a web ticket from the
 * service its 401 names (X-MS-WebTicketURL, docs/protocol.md §2.2). */
static void
walk_unauthorized (GTask *task)
{
  Walk *walk = g_task_get_task_data (task);
  const char *service = soup_message_headers_get_one (
      soup_message_get_response_headers (walk->message), "X-MS-WebTicketURL");
  g_autoptr (GObject) provider = NULL;
  g_autoptr (GUri) service_uri = NULL;
  g_autofree char *applies_to = NULL;

  if (service == NULL)
    {
      walk_done (task, "401 without X-MS-WebTicketURL; no result from autodiscover");
      return;
    }
  if (walk->ticket_tried)
    {
      walk_done (task, "401: the web ticket was refused; no result from autodiscover");
      return;
    }
  provider = g_weak_ref_get (&walk->provider);
  if (provider == NULL)
    {
      walk_done (task,
                 "401: the User resource needs a web ticket and none can be had; "
                 "no result from autodiscover");
      return;
    }
  if (strlen (service) > SFB_AUTODISCOVER_MAX_WEB_TICKET_URL
      || (service_uri = g_uri_parse (service, SOUP_HTTP_URI_FLAGS, NULL)) == NULL
      || g_ascii_strcasecmp (g_uri_get_scheme (service_uri), "https") != 0
      || g_uri_get_host (service_uri) == NULL || *g_uri_get_host (service_uri) == '\0')
    {
      walk_done (task,
                 "401 naming a web ticket service that is not an https URL; "
                 "no result from autodiscover");
      return;
    }
  walk->ticket_tried = TRUE;
  applies_to = g_uri_to_string (walk->uri);
  g_debug ("Autodiscover: web ticket from %s", g_uri_get_host (service_uri));
  walk->get_ticket_async (provider,
                          service,
                          applies_to,
                          g_task_get_cancellable (task),
                          walk_ticket_cb,
                          g_object_ref (task));
}

static void
walk_send_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Walk *walk = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) stream = NULL;
  GCancellable *cancellable;
  guint status;
  goffset length;

  stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  walk_add_hop (walk, stream != NULL ? walk->message : NULL);
  if (stream == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (error->domain == G_TLS_ERROR && walk->tls_errors != 0)
        walk_fail (task, sfb_tls_error_new (walk->tls_errors, walk_host (walk)));
      else if (error->domain == G_TLS_ERROR)
        walk_fail (task,
                   g_error_new (SFB_ERROR,
                                SFB_ERROR_NOT_REACHABLE,
                                "%s: TLS failed: %s",
                                walk_host (walk),
                                error->message));
      else
        walk_fail (
            task,
            g_error_new (
                SFB_ERROR, SFB_ERROR_NOT_REACHABLE, "%s: %s", walk_host (walk), error->message));
      return;
    }

  status = soup_message_get_status (walk->message);
  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      walk_unauthorized (task);
      return;
    }
  if (status == SOUP_STATUS_NOT_FOUND)
    {
      walk_done (task, "404: the user is not known to this autodiscover service");
      return;
    }
  if (status != SOUP_STATUS_OK)
    {
      walk_fail (task,
                 sfb_autodiscover_status_error (
                     walk_host (walk), status, soup_message_get_reason_phrase (walk->message)));
      return;
    }
  if (!content_type_ok (walk->message))
    {
      const char *type = soup_message_headers_get_content_type (
          soup_message_get_response_headers (walk->message), NULL);

      walk_fail (task, sfb_autodiscover_content_type_error (walk_host (walk), type));
      return;
    }
  length
      = soup_message_headers_get_content_length (soup_message_get_response_headers (walk->message));
  if (length > SFB_AUTODISCOVER_MAX_DOCUMENT_SIZE)
    {
      walk_fail (task, too_large_error (walk));
      return;
    }

  g_byte_array_set_size (walk->body, 0);
  /* Taken first: argument evaluation order is unspecified, and the task is stolen below. */
  cancellable = g_task_get_cancellable (task);
  sfb_stream_read_bounded_async (stream,
                                 SFB_AUTODISCOVER_MAX_DOCUMENT_SIZE,
                                 cancellable,
                                 walk_read_cb,
                                 g_steal_pointer (&task));
}

static gboolean
accept_certificate_cb (SoupMessage *message,
                       GTlsCertificate *certificate,
                       GTlsCertificateFlags errors,
                       gpointer user_data)
{
  Walk *walk = user_data;

  /* Only called for a certificate the database rejected: record why,
   * and refuse it. */
  walk->tls_errors = errors;
  g_set_object (&walk->rejected, certificate);
  return FALSE;
}

static void
walk_request (GTask *task, const char *url)
{
  Walk *walk = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = NULL;

  if (++walk->hops > SFB_AUTODISCOVER_MAX_HOPS)
    {
      walk_fail (task,
                 g_error_new (SFB_ERROR,
                              SFB_ERROR_DISCOVERY_FAILED,
                              "gave up after %d requests (a redirect loop?)",
                              SFB_AUTODISCOVER_MAX_HOPS));
      return;
    }
  if (strlen (url) > SFB_AUTODISCOVER_MAX_ATTRIBUTE_LENGTH)
    {
      walk_fail (task, g_error_new (SFB_ERROR, SFB_ERROR_DISCOVERY_FAILED, "a link is too long"));
      return;
    }
  uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, &error);
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_autofree char *shown = sfb_text_quote_untrusted (url, -1, 200);

      walk_fail (task, g_error_new (SFB_ERROR, SFB_ERROR_DISCOVERY_FAILED, "bad link %s", shown));
      return;
    }
  /* Never plaintext: an http answer can be forged by anyone on the path. */
  if (g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0)
    {
      g_autofree char *shown = sfb_text_quote_untrusted (url, -1, 200);

      walk_fail (task,
                 g_error_new (SFB_ERROR,
                              SFB_ERROR_DISCOVERY_FAILED,
                              "refusing to follow the non-HTTPS link %s",
                              shown));
      return;
    }

  g_clear_pointer (&walk->uri, g_uri_unref);
  walk->uri = g_steal_pointer (&uri);
  walk->tls_errors = 0;
  g_clear_object (&walk->rejected);
  if (walk->hops > 1)
    g_string_append_printf (walk->path, " (%s)", g_uri_get_host (walk->uri));
  g_clear_object (&walk->message);
  walk->message = soup_message_new_from_uri (SOUP_METHOD_GET, walk->uri);
  soup_message_headers_replace (
      soup_message_get_request_headers (walk->message), "Accept", SFB_AUTODISCOVER_ACCEPT);
  if (walk->ticket_header != NULL)
    {
      soup_message_headers_replace (
          soup_message_get_request_headers (walk->message), "X-MS-WebTicket", walk->ticket_header);
      clear_secret (&walk->ticket_header);
    }
  /* Redirects are only followed as autodiscover Redirect links. */
  soup_message_add_flags (walk->message, SOUP_MESSAGE_NO_REDIRECT);
  g_signal_connect (walk->message, "accept-certificate", G_CALLBACK (accept_certificate_cb), walk);

  g_debug ("Autodiscover: GET %s", g_uri_get_host (walk->uri));
  soup_session_send_async (walk->session,
                           walk->message,
                           G_PRIORITY_DEFAULT,
                           g_task_get_cancellable (task),
                           walk_send_cb,
                           g_object_ref (task));
}

void
sfb_autodiscover_lookup_async (SoupSession *session,
                               const char *url,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  sfb_autodiscover_lookup_full_async (session, url, NULL, cancellable, callback, user_data);
}

void
sfb_autodiscover_lookup_full_async (SoupSession *session,
                                    const char *url,
                                    const SfbWebTicketProvider *provider,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  Walk *walk;

  g_return_if_fail (SOUP_IS_SESSION (session));
  g_return_if_fail (url != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_autodiscover_lookup_full_async);
  walk = g_new0 (Walk, 1);
  walk->session = g_object_ref (session);
  walk->body = g_byte_array_new ();
  walk->path = g_string_new ("Root");
  walk->hops_seen = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_autodiscover_hop_free);
  g_weak_ref_init (&walk->provider, NULL);
  if (provider != NULL && provider->object != NULL && provider->get_async != NULL
      && provider->get_finish != NULL)
    {
      g_weak_ref_set (&walk->provider, provider->object);
      walk->get_ticket_async = provider->get_async;
      walk->get_ticket_finish = provider->get_finish;
    }
  g_task_set_task_data (task, walk, (GDestroyNotify) walk_free);

  walk_request (task, url);
}

GPtrArray *
sfb_autodiscover_lookup_finish (GAsyncResult *result, char **detail, GError **error)
{
  GTask *task = G_TASK (result);
  Walk *walk = g_task_get_task_data (task);

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  if (detail != NULL)
    *detail = g_strdup (walk->detail != NULL ? walk->detail : "cancelled");
  return g_task_propagate_pointer (task, error);
}

GPtrArray *
sfb_autodiscover_lookup_get_hops (GAsyncResult *result)
{
  Walk *walk;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  walk = g_task_get_task_data (G_TASK (result));
  return g_ptr_array_ref (walk->hops_seen);
}
