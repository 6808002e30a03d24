/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Lync autodiscover (MS-OCDISCWS, docs/protocol.md §2.2): the XML parser (pure,
 * fuzzed) and the HTTPS walk Root -> User, following Redirect links with a
 * hop limit.  Only https:// is ever requested; only the content type
 * application/vnd.microsoft.rtc.autodiscover+xml is accepted.
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "sfb-discovery.h"

G_BEGIN_DECLS

#define SFB_AUTODISCOVER_ACCEPT "application/vnd.microsoft.rtc.autodiscover+xml;v=1"
#define SFB_AUTODISCOVER_CONTENT_TYPE "application/vnd.microsoft.rtc.autodiscover+xml"
/* Limits on what the server sends. */
#define SFB_AUTODISCOVER_MAX_DOCUMENT_SIZE (64 * 1024)
#define SFB_AUTODISCOVER_MAX_DEPTH 16
#define SFB_AUTODISCOVER_MAX_ATTRIBUTE_LENGTH 2048
/* Requests in one walk: Root, User and redirects together. */
#define SFB_AUTODISCOVER_MAX_HOPS 6

typedef struct
{
  char *access_location; /* "internal", "external" or NULL (attribute absent/unknown) */
  gboolean has_root;     /* <Root> present */
  gboolean has_user;     /* <User> present */
  char *user_href;       /* Root/Link token="User" */
  char *redirect_href;   /* Root/Link or User/Link token="Redirect" */
  char *internal_fqdn;   /* User/SipClientInternalAccess */
  guint16 internal_port;
  char *external_fqdn; /* User/SipClientExternalAccess */
  guint16 external_port;
} SfbAutodiscoverDocument;

void sfb_autodiscover_document_free (SfbAutodiscoverDocument *doc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbAutodiscoverDocument, sfb_autodiscover_document_free)

/* Pure: parses an AutodiscoverResponse (no network, no DTD, no entity
 * expansion, size and depth limits; attribute values trimmed).  Fails with
 * SFB_ERROR_DISCOVERY_FAILED on anything that is not a well-formed
 * AutodiscoverResponse. */
SfbAutodiscoverDocument *sfb_autodiscover_parse (const char *data, gsize length, GError **error);

/* The SIP servers a User document names, AccessLocation applied (Internal:
 * only SipClientInternalAccess; External: only SipClientExternalAccess;
 * absent: internal then external).  Source AUTODISCOVER.  Never NULL. */
GPtrArray *sfb_autodiscover_document_get_candidates (const SfbAutodiscoverDocument *doc);

/* The error for an answer of another content type than
 * SFB_AUTODISCOVER_CONTENT_TYPE (NULL: none): names @host and quotes the
 * type, bounded and sanitised. */
GError *sfb_autodiscover_content_type_error (const char *host, const char *content_type);
/* The error for an HTTP status other than 200, 401 and 404: the reason
 * phrase quoted bounded and sanitised. */
GError *sfb_autodiscover_status_error (const char *host, guint status, const char *reason);

/* "https://<host>/?sipuri=<user@domain>" (the sipuri escaped). */
char *sfb_autodiscover_build_url (const char *host, const char *user_at_domain);

/* A web ticket provider (set by the session, which owns the credentials):
 * @get_async asks the web ticket service at @service_url (the 401's
 * X-MS-WebTicketURL) for a ticket scoped to @applies_to (the User URL);
 * @get_finish, called with the callback's source object, returns the raw
 * saml:Assertion.  @object is held by a weak reference only. */
typedef void (*SfbWebTicketGetAsync) (GObject *object,
                                      const char *service_url,
                                      const char *applies_to,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);
typedef char *(*SfbWebTicketGetFinish) (GObject *source, GAsyncResult *result, GError **error);

typedef struct _SfbWebTicketProvider
{
  GObject *object;
  SfbWebTicketGetAsync get_async;
  SfbWebTicketGetFinish get_finish;
} SfbWebTicketProvider;

/* Limit on the X-MS-WebTicketURL the server names. */
#define SFB_AUTODISCOVER_MAX_WEB_TICKET_URL 2048

/* Walks from @url (https only): Root -> User -> SIP servers, following
 * Redirect links, at most SFB_AUTODISCOVER_MAX_HOPS requests.  The session's
 * TLS database decides trust. */
void sfb_autodiscover_lookup_async (SoupSession *session,
                                    const char *url,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
/* The candidates (possibly empty: a 404, a web-ticket 401 or a document
 * without SIP access are "no result", not errors); @detail (nullable) gets a
 * line for the sign-in trace either way.  Errors: SFB_ERROR_CERTIFICATE_INVALID
 * (host and failed check), SFB_ERROR_NOT_REACHABLE, SFB_ERROR_DISCOVERY_FAILED
 * (bad answer, hop limit), G_IO_ERROR_CANCELLED. */
/* As sfb_autodiscover_lookup_async; on a 401 carrying X-MS-WebTicketURL
 * (an https URL) it gets a web ticket from @provider (nullable: none) and
 * repeats that request once with "X-MS-WebTicket: opaque=<base64 ticket>".
 * A ticket that cannot be had or is refused is "no result". */
void sfb_autodiscover_lookup_full_async (SoupSession *session,
                                         const char *url,
                                         const SfbWebTicketProvider *provider,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data);
GPtrArray *sfb_autodiscover_lookup_finish (GAsyncResult *result, char **detail, GError **error);

/* One request of a walk, for `sfbctl diagnose`: what was asked and what came back. */
typedef struct
{
  char *host;                        /* the host asked */
  guint status;                      /* the HTTP status; 0: no answer */
  char *content_type;                /* as sent (quote it before showing it), NULL: none */
  char *web_ticket_url;              /* a 401's X-MS-WebTicketURL, NULL: none */
  GTlsCertificateFlags tls_errors;   /* the rejected certificate's failed checks */
  GTlsCertificate *certificate;      /* the rejected certificate, NULL: none */
  SfbAutodiscoverDocument *document; /* the parsed answer, NULL: none */
} SfbAutodiscoverHop;

void sfb_autodiscover_hop_free (SfbAutodiscoverHop *hop);
/* The requests of the walk @result belongs to, in order (a new reference);
 * call it after sfb_autodiscover_lookup_finish(). */
GPtrArray *sfb_autodiscover_lookup_get_hops (GAsyncResult *result);

G_END_DECLS
