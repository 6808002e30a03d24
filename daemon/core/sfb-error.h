/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SFB_ERROR domain: one code per contract error name
 * (org.sfbd.Sfbd.Error.<Name>, docs/architecture.md §3).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Keep in the order of the table in sfb-error.c. */
typedef enum
{
  SFB_ERROR_FAILED,
  SFB_ERROR_NOT_CONFIGURED,
  SFB_ERROR_NO_CREDENTIALS,
  SFB_ERROR_NOT_SIGNED_IN,
  SFB_ERROR_AUTH_FAILED,
  SFB_ERROR_CERTIFICATE_INVALID,
  SFB_ERROR_NOT_REACHABLE,
  SFB_ERROR_DISCOVERY_FAILED,
  SFB_ERROR_TIMED_OUT,
  SFB_ERROR_SERVER_REJECTED,
  SFB_ERROR_ACCOUNT_DISABLED,
  SFB_ERROR_NO_MATCHING_RULE,
  SFB_ERROR_NOT_FOUND,
  SFB_ERROR_INVALID_ARGS,
  /* authentication failures other than refused credentials */
  SFB_ERROR_CLOCK_SKEW,
  SFB_ERROR_CERTIFICATE_PROVISIONING_FAILED,
  SFB_ERROR_NO_USABLE_AUTH_SCHEME,
  SFB_ERROR_SIGNATURE_INVALID,
} SfbError;

#define SFB_ERROR_N_CODES (SFB_ERROR_SIGNATURE_INVALID + 1)

#define SFB_ERROR (sfb_error_quark ())
GQuark sfb_error_quark (void);

const char *sfb_error_to_dbus_name (SfbError code);
gboolean sfb_error_from_dbus_name (const char *name, SfbError *code);
const char *sfb_error_get_dbus_name (const GError *error);
void sfb_error_convert (GError **error);

G_END_DECLS
