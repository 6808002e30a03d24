/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfbd's errors as the clients show them: a LastError with what the user
 * can do about it, and a failed call to sfbd in words.  Shared by the
 * applet, sfbd-window and sfbctl (built into the presence view's library),
 * so that they name the same fix; the error names are in
 * dbus/org.sfbd.Sfbd1.Account.xml.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Where a client lets the user fix an error. */
typedef enum
{
  SFB_ERROR_FIX_NOWHERE,  /* the advice is all there is */
  SFB_ERROR_FIX_PASSWORD, /* the password */
  SFB_ERROR_FIX_ACCOUNT,  /* the account settings */
  SFB_ERROR_FIX_CHECKS,   /* the connection checks */
} SfbErrorFixPlace;

typedef struct
{
  const char *error;  /* the name after SFB_DBUS_ERROR_PREFIX */
  const char *advice; /* what to do, in words for a person */
  SfbErrorFixPlace place;
  const char *button; /* the label of what opens @place; NULL for NOWHERE */
} SfbErrorFix;

/* The fix for a LastError (an org.sfbd.Sfbd.Error name); NULL when there
 * is nothing to add (an unknown name, another prefix, NULL). */
const SfbErrorFix *sfb_error_view_fix (const char *error_name);

/* @error_name without SFB_DBUS_ERROR_PREFIX ("AuthFailed"); other names whole. */
const char *sfb_error_view_short_name (const char *error_name);

/* Why a call to a client of the bus failed, as far as the user acts on it. */
typedef enum
{
  SFB_CALL_FAILED,        /* an error of the callee: its message says why */
  SFB_CALL_NOT_RUNNING,   /* nobody owns the name, and D-Bus did not start it */
  SFB_CALL_NOT_ANSWERING, /* no reply within the timeout */
} SfbCallFailure;

SfbCallFailure sfb_error_view_call_failure (const GError *error);

/* "Could not @what: sfbd is not running", "… is not answering", or "…: "
 * and the callee's message, cleaned and cut.  @target names the callee:
 * "sfbd" without an owner is "not running"; another ("sfbd-window", which
 * only D-Bus activation starts) is "not installed". */
char *sfb_error_view_call_text (const char *what, const char *target, const GError *error);

G_END_DECLS
