/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The REGISTERs of `sfbctl diagnose` (doc/sfbctl.1.rst, DIAGNOSE; the
 * protocol is docs/protocol.md §4, §9): on a connection of their own and
 * with an endpoint id of their own, so a signed-in session never sees them.
 *
 * Without sign-in: one unauthenticated REGISTER, whose 401 says which
 * schemes the registrar offers and what its clock says (Date); a 301 given
 * before authentication is followed.  With sign-in: the whole handshake
 * with the stored credentials (NTLM or Kerberos, as Account.Auth and the
 * offer choose), every 301 followed (a loop is reported, not followed for
 * ever), and once registered a de-register (Expires: 0) at once.
 *
 * Nothing here reports checks: the findings go to sfb-diagnose-auth.c.
 */
#pragma once

#include <gio/gio.h>

#include "sfb-auth-choice.h"
#include "sfb-config.h"
#include "sfb-sip-message.h"

G_BEGIN_DECLS

/* as many 301s as a sign-in follows (sfb-sign-in-attempt.c) */
#define SFB_DIAGNOSE_MAX_REDIRECTS 5

typedef enum
{
  SFB_DIAGNOSE_REGISTER_CHALLENGED,  /* no sign-in: stopped at the first 401 */
  SFB_DIAGNOSE_REGISTER_REGISTERED,  /* 200 (then de-registered) */
  SFB_DIAGNOSE_REGISTER_AUTH_FAILED, /* the credentials were refused */
  SFB_DIAGNOSE_REGISTER_NO_SCHEME,   /* nothing offered that sfbd can use here */
  SFB_DIAGNOSE_REGISTER_LOOP,        /* a 301 back to a registrar already asked */
  SFB_DIAGNOSE_REGISTER_TOO_MANY,    /* more than SFB_DIAGNOSE_MAX_REDIRECTS */
  SFB_DIAGNOSE_REGISTER_UNREACHABLE, /* a registrar (or a 301 target) did not connect */
  SFB_DIAGNOSE_REGISTER_REJECTED,    /* another final answer, or no answer */
} SfbDiagnoseRegisterOutcome;

typedef struct
{
  char *uri;      /* sip:alice@contoso.test */
  char *login;    /* CONTOSO\alice, nullable */
  char *password; /* nullable; wiped when freed */
  SfbAuthMode mode;
  GTlsDatabase *tls_database;
  char *host; /* the first registrar */
  guint16 port;
  gboolean sign_in;
} SfbDiagnoseRegisterInput;

typedef struct
{
  SfbDiagnoseRegisterOutcome outcome;
  GError *error;                  /* why, for every outcome but CHALLENGED and REGISTERED */
  GPtrArray *hops;                /* "host:port" asked, in order (the first, then 301 targets) */
  char *failed_hop;               /* UNREACHABLE: the host:port that did not connect */
  gboolean failed_hop_unresolved; /* ... because its name does not resolve */
  SfbSipMessage *challenge;       /* the first 401, nullable */
  char *challenge_hop;            /* host:port that sent it */
  guint n_redirects_before_auth;  /* 301s to unauthenticated REGISTERs */
  SfbAuthScheme scheme;           /* the scheme the sign-in used, NONE without one */
  gboolean tls_dsk_only;          /* NO_SCHEME: TLS-DSK is all the registrar offers */
  char *epid;                     /* the endpoint id the REGISTERs carried */
  guint deregister_status;        /* the answer to Expires: 0; 0: none */
} SfbDiagnoseRegisterResult;

void sfb_diagnose_register_result_free (SfbDiagnoseRegisterResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbDiagnoseRegisterResult, sfb_diagnose_register_result_free)

/* Copies what it needs from @input.  Completes with a result, never an
 * error (but G_IO_ERROR_CANCELLED). */
void sfb_diagnose_register_async (const SfbDiagnoseRegisterInput *input,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
SfbDiagnoseRegisterResult *sfb_diagnose_register_finish (GAsyncResult *result, GError **error);

/* The seconds the server's Date (an HTTP date, RFC 9110) is ahead of
 * @now_us (g_get_real_time(); negative: behind).  FALSE when @date is
 * NULL or not a date. */
gboolean sfb_diagnose_clock_offset (const char *date, gint64 now_us, gint64 *offset_s);

G_END_DECLS
