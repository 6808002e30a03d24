/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSettings: policies (in-band provisioning) and the dial plan (location
 * profile) of the signed-in account, kept current and cached
 * (the Policies and DialPlan interfaces, docs/architecture.md §3).
 *
 * On every "registered" of the session: SUBSCRIBE provisioning-v2 with
 * every group (a one-off query, Expires: 0, §11.1), then the location
 * profile by SERVICE (below); both are settings tasks, so the session is
 * retrieving-settings until they are answered.  Later provisioning
 * NOTIFY/BENOTIFYs in that dialog (server changes) replace the groups they
 * carry, raise "policies-changed" and fetch the location profile again.
 *
 * The location-profile request (docs/protocol.md §11.6 marks the real one
 * unconfirmed; this is MS-SIPRE 2.2.3/3.8.5.1 as read here, and what
 * tests/sfbsim answers): SERVICE to the location-profile GRUU given by
 * provisioning ServerConfiguration/ucLocationProfile, else the own AOR with
 * ";opaque=app:locationprofile:get;phone-context=<userSetting
 * ucUserLocationProfile>" or ";default"; Accept:
 * application/ms-location-profile-definition+xml, no body.  The 200 carries
 * a LocationProfileDescription.
 *
 * Cache: policies and the location profile document are saved per account
 * (sfb-cache.h) whenever the server sends them, and loaded at start
 * (sfb_settings_load_cache): until the server answers after a sign-in,
 * sfb_settings_is_cached() is TRUE.  When the configured account (Uri)
 * changes, the cache is loaded again for the new account, and what was
 * shown for the old one is dropped even when nothing is cached for the new
 * one: data are never shown for another account.
 */
#pragma once

#include <gio/gio.h>

#include "sfb-config.h"
#include "sfb-dial-plan.h"
#include "sfb-session.h"

G_BEGIN_DECLS

#define SFB_TYPE_SETTINGS (sfb_settings_get_type ())
G_DECLARE_FINAL_TYPE (SfbSettings, sfb_settings, SFB, SETTINGS, GObject)

SfbSettings *sfb_settings_new (SfbSession *session, SfbConfig *config, const char *state_dir);
/* Shows what the cache has for the configured account (again after a
 * change of account). */
void sfb_settings_load_cache (SfbSettings *self);

/* a{sa{sv}}, never NULL (empty when nothing is known) */
GVariant *sfb_settings_get_policies (SfbSettings *self);
/* The group names in the server's order. */
GStrv sfb_settings_dup_groups (SfbSettings *self);
/* NULL when none is known */
SfbDialPlan *sfb_settings_get_dial_plan (SfbSettings *self);
/* TRUE while what is shown comes from the cache */
gboolean sfb_settings_is_cached (SfbSettings *self);
/* The same for each of the two (D-Bus property Cached); FALSE when
 * nothing is known. */
gboolean sfb_settings_policies_are_cached (SfbSettings *self);
gboolean sfb_settings_dial_plan_is_cached (SfbSettings *self);

/* Signals: "policies-changed", "dial-plan-changed" (no arguments). */

G_END_DECLS
