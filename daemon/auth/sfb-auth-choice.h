/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which MS-SIPAE scheme a sign-in uses (Account.Auth; docs/protocol.md §4.3,
 * §17.11).  A pure policy, unit-tested; the session feeds it what it knows
 * and follows the answer.
 *
 * Auth=auto, in order: TLS-DSK when offered and a valid user certificate
 * exists (or can be provisioned: hook for the TLS-DSK code); else Kerberos
 * when offered and credentials exist (a ticket in the ccache, or the
 * password); else NTLM when offered and the password is known.  A scheme
 * whose handshake failed in this sign-in is skipped (the next offered one
 * is tried), but a rejected password ends the sign-in: see
 * sfb_auth_failure_allows_fallback().  Auth=ntlm|kerberos|tls-dsk take
 * only that scheme.
 */
#pragma once

#include <glib.h>

#include "sfb-config.h"

G_BEGIN_DECLS

typedef enum
{
  SFB_AUTH_SCHEME_NONE = 0,
  SFB_AUTH_SCHEME_NTLM = 1 << 0,
  SFB_AUTH_SCHEME_KERBEROS = 1 << 1,
  SFB_AUTH_SCHEME_TLS_DSK = 1 << 2,
} SfbAuthScheme;

typedef struct
{
  SfbAuthMode mode;            /* Account.Auth */
  guint offered;               /* SfbAuthScheme bits the 401 offers */
  guint failed;                /* schemes whose handshake failed in this sign-in */
  gboolean have_password;      /* a password is known */
  gboolean kerberos_available; /* built with GSSAPI */
  gboolean have_ccache;        /* unexpired Kerberos credentials in the ccache */
  gboolean tls_dsk_available;  /* TLS-DSK implemented */
  gboolean have_certificate;   /* hook: a valid TLS-DSK user certificate exists */
  gboolean can_provision;      /* hook: a certificate may be provisioned (needs the password) */
} SfbAuthChoiceInput;

/* The scheme to use, or SFB_AUTH_SCHEME_NONE.  *reason (may be NULL) gets a
 * sentence for the trace (or the error) saying why; no secrets in it. */
SfbAuthScheme sfb_auth_choose (const SfbAuthChoiceInput *input, char **reason);

/* Wire names ("NTLM", "Kerberos", "TLS-DSK", case-insensitive) to bits. */
guint sfb_auth_schemes_from_names (const char *const *names);
SfbAuthScheme sfb_auth_scheme_from_name (const char *name);
const char *sfb_auth_scheme_to_name (SfbAuthScheme scheme);   /* "Kerberos" */
const char *sfb_auth_scheme_to_method (SfbAuthScheme scheme); /* AuthMethod: "kerberos" */

/* After @scheme failed with @error (in preparation: tickets, certificates;
 * or in the SIP handshake): may the next offered scheme be tried?  Never
 * after a rejected password (SFB_ERROR_AUTH_FAILED while preparing, or any
 * NTLM failure), so a wrong password is not tried twice. */
gboolean sfb_auth_failure_allows_fallback (SfbAuthScheme scheme,
                                           gboolean while_preparing,
                                           const GError *error);

G_END_DECLS
