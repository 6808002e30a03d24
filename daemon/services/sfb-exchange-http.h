/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbExchangeHttp: HTTPS POSTs to Exchange (Autodiscover, EWS) over
 * libsoup 3, authenticated with the sign-in credentials.
 *
 * Only https: the password's proof travels here.  Redirects are not
 * followed (the caller decides: Autodiscover re-POSTs a 302 Location).
 * A 401 offering NTLM or Negotiate is answered with connection-oriented
 * NTLMv2 (our own NTLM, sfb-ntlm.h; under Negotiate the NTLMSSP tokens go
 * in "Negotiate" headers, which SPNEGO servers accept): NEGOTIATE, the
 * server's CHALLENGE, AUTHENTICATE, on one kept-alive connection.  A host
 * that asked once is sent the NEGOTIATE at once afterwards.  Basic is
 * never answered (the password would travel in the clear inside TLS to
 * whatever answered).  With sfb_exchange_http_set_kerberos(), Negotiate is
 * first tried with a Kerberos token, SPNEGO-wrapped as RFC 4559 asks (the
 * server's final NegTokenResp in the 200 is ignored).
 *
 * Errors: transport and TLS problems are SFB_ERROR_NOT_REACHABLE naming
 * the URL ("TLS failed: ..."), except no server at all there (no such host
 * name or address, nothing listening: sfb_http_ntlm_send_found_no_server()),
 * which is SFB_ERROR_NOT_FOUND; a 401 after the AUTHENTICATE is
 * SFB_ERROR_AUTH_FAILED; a 401 offering neither NTLM nor Negotiate is
 * SFB_ERROR_NO_USABLE_AUTH_SCHEME; an answer larger than
 * SFB_EXCHANGE_HTTP_MAX_BODY is SFB_ERROR_SERVER_REJECTED.  Any other
 * status is an answer: the caller words it (sfb_exchange_http_status_text()).
 * No password, hash or token reaches a log line or an error.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SFB_EXCHANGE_HTTP_MAX_BODY (1024 * 1024)

typedef struct
{
  guint status;
  char *reason;       /* the server's reason phrase, bounded and sanitised */
  char *content_type; /* media type only, lower case; "" when none */
  char *location;     /* a 3xx Location, raw (check it before use), or NULL */
  GBytes *body;       /* never NULL */
} SfbExchangeHttpAnswer;

void sfb_exchange_http_answer_free (SfbExchangeHttpAnswer *answer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbExchangeHttpAnswer, sfb_exchange_http_answer_free)

/* "HTTP 404 Not Found" */
char *sfb_exchange_http_status_text (const SfbExchangeHttpAnswer *answer);

#define SFB_TYPE_EXCHANGE_HTTP (sfb_exchange_http_get_type ())
G_DECLARE_FINAL_TYPE (SfbExchangeHttp, sfb_exchange_http, SFB, EXCHANGE_HTTP, GObject)

/* @database: nullable (the system's); @ntlm: an NTLM SfbAuthContext made
 * from the sign-in credentials, or NULL (a 401 then fails). */
SfbExchangeHttp *sfb_exchange_http_new (GTlsDatabase *database, GObject *ntlm);

/* A new Kerberos SfbAuthContext per request (NULL: none). */
typedef GObject *(*SfbExchangeHttpKerberosFunc) (gpointer user_data);
/* With this, a 401 offering Negotiate is first answered with a Kerberos
 * token for HTTP/<host> (one leg); when that fails (no ticket, no KDC, the
 * server refuses it) the host gets NTLM from then on. */
void sfb_exchange_http_set_kerberos (SfbExchangeHttp *self,
                                     SfbExchangeHttpKerberosFunc new_kerberos,
                                     gpointer user_data);

/* POSTs @body (text/xml; charset=utf-8) to @url. */
void sfb_exchange_http_post_async (SfbExchangeHttp *self,
                                   const char *url,
                                   const char *body,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
SfbExchangeHttpAnswer *
sfb_exchange_http_post_finish (SfbExchangeHttp *self, GAsyncResult *result, GError **error);

/* How many HTTP requests went out (for tests and the trace). */
guint sfb_exchange_http_get_request_count (SfbExchangeHttp *self);

/* Closes the idle connections now (the next request connects afresh); a
 * request in flight keeps its connection until it ends (every leg of its
 * handshake), which then closes. */
void sfb_exchange_http_close_connections (SfbExchangeHttp *self);

G_END_DECLS
