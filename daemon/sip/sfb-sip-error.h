/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SFB_SIP_ERROR domain of the I/O-free SIP core.  The daemon converts
 * it into SFB_ERROR at its own boundary; the SIP core depends on GLib only.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SFB_SIP_ERROR_MALFORMED,           /* violates the SIP grammar */
  SFB_SIP_ERROR_TOO_LARGE,           /* exceeds one of the documented limits */
  SFB_SIP_ERROR_UNSUPPORTED_VERSION, /* well-formed, but not SIP/2.0 */
  SFB_SIP_ERROR_UNSUPPORTED_SCHEME,  /* a URI scheme other than sip, sips, tel */
  SFB_SIP_ERROR_INVALID,             /* parses, but breaks a semantic rule */
  SFB_SIP_ERROR_FAILED,              /* the parser already failed */
} SfbSipError;

#define SFB_SIP_ERROR (sfb_sip_error_quark ())
GQuark sfb_sip_error_quark (void);

G_END_DECLS
