/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The account window: the account settings and the password, signing in
 * with its stages live, the last error with what to do about it, and the
 * connection checks.  A client of the D-Bus API only (the XML in dbus/).
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

typedef enum
{
  SFB_ACCOUNT_WINDOW_PAGE_DEFAULT,  /* the account when none is set, else the sign-in */
  SFB_ACCOUNT_WINDOW_PAGE_DETAILS,  /* the sign-in: state, last error, stages */
  SFB_ACCOUNT_WINDOW_PAGE_ACCOUNT,  /* the account settings */
  SFB_ACCOUNT_WINDOW_PAGE_PASSWORD, /* the account settings, the password focused */
  SFB_ACCOUNT_WINDOW_PAGE_DIAGNOSE, /* the connection checks */
  SFB_ACCOUNT_WINDOW_PAGE_NOTE,     /* the sign-in, the personal note focused */
} SfbAccountWindowPage;

#define SFB_TYPE_ACCOUNT_WINDOW (sfb_account_window_get_type ())
G_DECLARE_FINAL_TYPE (
    SfbAccountWindow, sfb_account_window, SFB, ACCOUNT_WINDOW, AdwApplicationWindow)

SfbAccountWindow *sfb_account_window_new (GtkApplication *app);
void sfb_account_window_show_page (SfbAccountWindow *self, SfbAccountWindowPage page);

G_END_DECLS
