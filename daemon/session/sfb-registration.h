/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the server says about a registration (docs/protocol.md §9, §10, §12.3),
 * read from parsed SIP messages.  Pure functions, no I/O: the 200 OK to
 * REGISTER (our GRUU among the Contacts, Expires, ms-keep-alive,
 * Supported, Allow-Events, Server), the 301's Contact, ms-diagnostics,
 * Retry-After and registration-notify (body and P-Preferred-Registrar).
 *
 * Everything is server data: every text returned here is cut to a limit,
 * holds no control characters and is valid UTF-8, so it may go to a log,
 * the sign-in trace, an error message or a D-Bus property as is.
 */
#pragma once

#include "sfb-sip-message.h"

#include <glib.h>

G_BEGIN_DECLS

/* longest Server, ms-diagnostics or event text kept (characters; longer is cut) */
#define SFB_REGISTRATION_MAX_TEXT 256
/* a reason phrase shown in an error: "Service Unavailable" and the like */
#define SFB_REGISTRATION_MAX_REASON 64
/* longest Supported or Allow-Events list kept (joined, bytes) */
#define SFB_REGISTRATION_MAX_LIST 1024
/* longest GRUU accepted; a longer one is ignored */
#define SFB_REGISTRATION_MAX_GRUU 512
/* Contact entries looked at for our +sip.instance */
#define SFB_REGISTRATION_MAX_CONTACTS 64
/* bytes of a registration-notify body looked at */
#define SFB_REGISTRATION_MAX_NOTIFY_BODY 1024
/* longest host name accepted in a 301 Contact or P-Preferred-Registrar */
#define SFB_REGISTRATION_MAX_HOST 253

typedef struct
{
  char *gruu;         /* our GRUU (a sip: URI), NULL when no Contact is ours */
  guint expires;      /* seconds granted: our Contact's expires=, else the
                       * Expires header; 0 when neither is usable */
  guint keepalive;    /* ms-keep-alive timeout=N in seconds, 0 when none */
  char *supported;    /* Supported values joined with ",", never NULL */
  char *allow_events; /* Allow-Events values joined with ",", never NULL */
  char *server;       /* Server header, NULL when none */
} SfbRegistration;

/* The 200 OK to REGISTER; @instance is our +sip.instance UUID (without
 * urn:uuid:, compared case-insensitively, docs/protocol.md §17.7). */
SfbRegistration *sfb_registration_parse (SfbSipMessage *response, const char *instance);
void sfb_registration_free (SfbRegistration *registration);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbRegistration, sfb_registration_free)

/* TRUE if @token is one of @list's comma-separated values (case-insensitive) */
gboolean sfb_registration_list_has (const char *list, const char *token);

/* The first number of a header (Retry-After: 30 (busy), Expires: 300),
 * at most @max; FALSE when missing, not a number or above @max. */
gboolean sfb_registration_header_number (SfbSipMessage *message,
                                         const char *name,
                                         guint64 max,
                                         guint64 *value);

/* timeout=N (1..86400) of ms-keep-alive: UAS; tcp=no; hop-hop=yes; timeout=300; 0 when none */
guint sfb_registration_keepalive_timeout (SfbSipMessage *message);

/* The home pool a 301 names in its Contact: host (a DNS name or an IP
 * address) and port (5061 when none).  FALSE with SFB_ERROR_SERVER_REJECTED
 * when there is no usable Contact. */
gboolean sfb_registration_parse_redirect (SfbSipMessage *response,
                                          char **host,
                                          guint16 *port,
                                          GError **error);

/* ms-diagnostics, else ms-diagnostics-public, else Warning, made safe to
 * show; NULL when none. */
char *sfb_registration_dup_diagnostics (SfbSipMessage *message);
/* The code of ms-diagnostics or ms-diagnostics-public (4141;reason="User
 * disabled" gives 4141); 0 when none. */
guint sfb_registration_diagnostics_code (SfbSipMessage *message);

/* A safe copy of server text to show: at most @max characters (then "…"),
 * control, bidi and invalid characters replaced (sfb_text_quote_untrusted). */
char *sfb_registration_sanitize (const char *text, gssize len, gsize max);

/* The response's reason phrase, made safe to show the same way. */
char *sfb_registration_dup_reason (SfbSipMessage *response);

typedef enum
{
  SFB_DEREGISTRATION_UNKNOWN,          /* no or an unknown event=: signed out */
  SFB_DEREGISTRATION_UNREGISTERED,     /* endpoint quota: signed in elsewhere */
  SFB_DEREGISTRATION_REJECTED,         /* account disabled */
  SFB_DEREGISTRATION_DEACTIVATED,      /* moved: discover again */
  SFB_DEREGISTRATION_REGISTRAR_CHANGE, /* preferred-registrar-change */
} SfbDeregistrationKind;

typedef struct
{
  SfbDeregistrationKind kind;
  char *event;          /* the event= value as sent (safe), NULL when none */
  char *diagnostics;    /* ms-diagnostics-public, else ms-diagnostics; NULL */
  char *registrar_host; /* P-Preferred-Registrar with preferred-registrar-change */
  guint16 registrar_port;
} SfbDeregistration;

/* A registration-notify NOTIFY/BENOTIFY (body "deregistered;event=rejected") */
SfbDeregistration *sfb_deregistration_parse (SfbSipMessage *request);
void sfb_deregistration_free (SfbDeregistration *deregistration);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbDeregistration, sfb_deregistration_free)

G_END_DECLS
