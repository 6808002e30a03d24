/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfbd's errors as the clients show them: see sfb-error-view.h. */
#include "config.h"

#include "sfb-error-view.h"

#include "sfb-presence-view.h"

#include <sfbd/sfb-names.h>
#include <string.h>

#define BUTTON_PASSWORD "Set password…"
#define BUTTON_ACCOUNT "Account…"
#define BUTTON_CHECKS "Run checks…"

/* clang-format off */
static const SfbErrorFix fixes[] = {
  { "AuthFailed", "The server refused the password. sfbd does not try again by itself, so "
    "that the account is not locked: enter the password again, then sign in.",
    SFB_ERROR_FIX_PASSWORD, BUTTON_PASSWORD },
  { "NoCredentials", "sfbd has no password for this account, or the keyring is locked. "
    "Enter the password, or unlock the keyring and sign in again.",
    SFB_ERROR_FIX_PASSWORD, BUTTON_PASSWORD },
  { "NotConfigured", "The account is not set up, or sfbd.conf has a mistake (the message "
    "names the line). Fill in the SIP address under Account.",
    SFB_ERROR_FIX_ACCOUNT, BUTTON_ACCOUNT },
  { "DiscoveryFailed", "sfbd could not find the server from the SIP address. Enter the "
    "server under Account, or run the checks to see which lookup failed.",
    SFB_ERROR_FIX_ACCOUNT, BUTTON_ACCOUNT },
  { "NoUsableAuthScheme", "The server offers no sign-in method sfbd can use with what it "
    "has. Choose another authentication method, or get a Kerberos ticket.",
    SFB_ERROR_FIX_ACCOUNT, BUTTON_ACCOUNT },
  { "CertificateProvisioningFailed", "The server could not issue a sign-in certificate. "
    "Choose NTLM or Kerberos under Account, or ask your administrator.",
    SFB_ERROR_FIX_ACCOUNT, BUTTON_ACCOUNT },
  { "CertificateInvalid", "The server's certificate is not trusted. Ask your administrator "
    "for the certificate authority and set TLS.CAFile (see sfbd.conf(5)).",
    SFB_ERROR_FIX_CHECKS, BUTTON_CHECKS },
  { "AccountDisabled", "The server says the account is disabled. Ask your administrator.",
    SFB_ERROR_FIX_NOWHERE, NULL },
  { "ClockSkew", "The clock of this computer is wrong. Turn on automatic date and time, "
    "then sign in again.", SFB_ERROR_FIX_NOWHERE, NULL },
  { "NotReachable", "No server answered. Check the network or the VPN; sfbd tries again "
    "by itself.", SFB_ERROR_FIX_CHECKS, BUTTON_CHECKS },
  { "TimedOut", "The server did not answer in time; sfbd tries again by itself.",
    SFB_ERROR_FIX_CHECKS, BUTTON_CHECKS },
  { "ServerRejected", "The server refused the sign-in; the message above says why. Run "
    "the checks, or ask your administrator.", SFB_ERROR_FIX_CHECKS, BUTTON_CHECKS },
  { "SignatureInvalid", "Messages from the server were changed on the way, perhaps by a "
    "proxy. sfbd tries again with a growing delay.", SFB_ERROR_FIX_CHECKS, BUTTON_CHECKS },
  { "Failed", "Run the checks to find out more.", SFB_ERROR_FIX_CHECKS, BUTTON_CHECKS },
};
/* clang-format on */

const char *
sfb_error_view_short_name (const char *error_name)
{
  if (g_str_has_prefix (error_name, SFB_DBUS_ERROR_PREFIX))
    return error_name + strlen (SFB_DBUS_ERROR_PREFIX);
  return error_name;
}

const SfbErrorFix *
sfb_error_view_fix (const char *error_name)
{
  if (error_name == NULL || !g_str_has_prefix (error_name, SFB_DBUS_ERROR_PREFIX))
    return NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (fixes); i++)
    if (g_str_equal (fixes[i].error, sfb_error_view_short_name (error_name)))
      return &fixes[i];
  return NULL;
}

/* The bus's errors that say sfbd did not take the call; any other name is
 * the callee's own answer.  The four timeouts all mean no reply came in
 * time: NoReply, the reply timeout of the bus or of GDBus; TimedOut, the
 * bus gave up starting (activating) the name; Timeout, a timeout below the
 * call (ETIMEDOUT); and GDBus's own call timeout, G_IO_ERROR_TIMED_OUT, in
 * sfb_error_view_call_failure(). */
static const struct
{
  const char *name;
  SfbCallFailure failure;
} call_failures[] = {
  { "org.freedesktop.DBus.Error.ServiceUnknown", SFB_CALL_NOT_RUNNING },
  { "org.freedesktop.DBus.Error.NameHasNoOwner", SFB_CALL_NOT_RUNNING },
  { "org.freedesktop.DBus.Error.NoReply", SFB_CALL_NOT_ANSWERING },
  { "org.freedesktop.DBus.Error.Timeout", SFB_CALL_NOT_ANSWERING },
  { "org.freedesktop.DBus.Error.TimedOut", SFB_CALL_NOT_ANSWERING },
};

SfbCallFailure
sfb_error_view_call_failure (const GError *error)
{
  g_autofree char *name = g_dbus_error_get_remote_error (error);

  /* raised here when the call's timeout expired; the same error sent by
   * sfbd (an unmapped GError) is sfbd's answer */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
      && !g_dbus_error_is_remote_error (error))
    return SFB_CALL_NOT_ANSWERING;
  for (gsize i = 0; name != NULL && i < G_N_ELEMENTS (call_failures); i++)
    if (g_str_equal (name, call_failures[i].name))
      return call_failures[i].failure;
  return SFB_CALL_FAILED;
}

char *
sfb_error_view_call_text (const char *what, const char *target, const GError *error)
{
  g_autoptr (GError) stripped = NULL;
  g_autofree char *message = NULL;

  switch (sfb_error_view_call_failure (error))
    {
    case SFB_CALL_NOT_RUNNING:
      return g_strdup_printf ("Could not %s: %s is not %s",
                              what,
                              target,
                              g_str_equal (target, "sfbd") ? "running" : "installed");
    case SFB_CALL_NOT_ANSWERING:
      return g_strdup_printf ("Could not %s: %s is not answering", what, target);
    case SFB_CALL_FAILED:
    default:
      break;
    }
  /* the message without its "GDBus.Error:name: " prefix: a person reads it */
  stripped = g_error_copy (error);
  g_dbus_error_strip_remote_error (stripped);
  message = sfb_presence_view_clean_text (stripped->message, SFB_PRESENCE_VIEW_MAX_TEXT);
  return g_strdup_printf ("Could not %s: %s", what, message);
}
