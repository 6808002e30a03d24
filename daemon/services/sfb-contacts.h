/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbContacts: the roaming contact list of the signed-in account
 * (docs/protocol.md §11.2), kept current and cached.
 *
 * SUBSCRIBE vnd-microsoft-roaming-contacts (Supported: ms-ucs) in every
 * registration; the first body (piggy-backed or NOTIFY) is a settings task
 * of the session.  contactList replaces, contactDelta updates (NOTIFY and
 * BENOTIFY alike); each change raises "contacts-changed" and is saved in
 * the cache ("contacts", sfb-cache.h), which sfb_contacts_load_cache()
 * shows at start, marked as cached until the server answers.
 */
#pragma once

#include <gio/gio.h>

#include "sfb-config.h"
#include "sfb-contact-list.h"
#include "sfb-session.h"

G_BEGIN_DECLS

#define SFB_TYPE_CONTACTS (sfb_contacts_get_type ())
G_DECLARE_FINAL_TYPE (SfbContacts, sfb_contacts, SFB, CONTACTS, GObject)

SfbContacts *sfb_contacts_new (SfbSession *session, SfbConfig *config, const char *state_dir);
void sfb_contacts_load_cache (SfbContacts *self);

const SfbContactList *sfb_contacts_get_list (SfbContacts *self);
gboolean sfb_contacts_is_cached (SfbContacts *self);
/* The user's own SIP domain (for the relationship), or NULL. */
const char *sfb_contacts_get_own_domain (SfbContacts *self);
/* The contacts' URIs, in list order. */
GStrv sfb_contacts_dup_uris (SfbContacts *self);

/* Apply a roaming-contacts body (what the subscription does; tests). */
gboolean sfb_contacts_apply_document (SfbContacts *self, GBytes *body, GError **error);

/* Signal: "contacts-changed" (no arguments). */

G_END_DECLS
