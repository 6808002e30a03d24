/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbPresence: the user's own presence and the contacts' presence
 * (docs/protocol.md §11.3–11.5, §13).
 *
 * Own presence: SUBSCRIBE vnd-microsoft-roaming-self (categories,
 * containers, subscribers) in every registration.  Every roaming-self body
 * updates the versions of the own publications, keyed (name, instance,
 * container), and the own availability and note as the server aggregated
 * them.  As soon as a registration is made sfbd publishes, beside the
 * roaming-self subscription rather than after its answer (the versions of
 * its own user state and note kept from the former registration; a 409 on
 * the user state there means another endpoint chose one since, which then
 * stays), (SERVICE application/msrtc-category-publish+xml) device and machineState
 * (3500, or what sfb_presence_set_machine_state() set: idle, away) in
 * containers 2 and 3, the userState only when the user chose an
 * availability in this run (else the server's, set by any endpoint of the
 * user, stays), and the note if one was set.  A 409 Client.BadCall.WrongDelta gives the
 * current versions (details/operation@curVersion by 1-based index): they
 * replace ours and the publication is sent again, at most
 * SFB_PRESENCE_MAX_PUBLISH_ATTEMPTS times.  SetAvailability publishes a
 * userState (containers 2, 3), SetNote a note (containers 200, 300, 400,
 * instance 0; an empty note removes it).
 *
 * Contacts' presence: one batched SUBSCRIBE (Require: adhoclist,
 * categoryList; batchSub body) to the own URI for every contact; rlmi
 * "resubscribe" entries with a poolFqdn get a batched SUBSCRIBE of their
 * own to that pool, those without one a single SUBSCRIBE To the contact.
 * Refreshing before expiry and resubscribing after a reconnect are
 * SfbSubscription's.  Each contact whose presence changed raises
 * "presence-changed".  (Servers without adhoclist are not handled: every
 * SfB/Lync front end advertises it.)
 */
#pragma once

#include <gio/gio.h>

#include "sfb-config.h"
#include "sfb-contacts.h"
#include "sfb-exchange.h"
#include "sfb-presence-doc.h"
#include "sfb-session.h"

G_BEGIN_DECLS

#define SFB_PRESENCE_MAX_PUBLISH_ATTEMPTS 3

#define SFB_TYPE_PRESENCE (sfb_presence_get_type ())
G_DECLARE_FINAL_TYPE (SfbPresence, sfb_presence, SFB, PRESENCE, GObject)

SfbPresence *sfb_presence_new (SfbSession *session,
                               SfbConfig *config,
                               SfbContacts *contacts,
                               const char *state_dir);

/* Own presence as the server has it ("offline"/0 before any). */
const char *sfb_presence_get_availability (SfbPresence *self);
guint sfb_presence_get_availability_code (SfbPresence *self);
const char *sfb_presence_get_activity (SfbPresence *self);
const char *sfb_presence_get_note (SfbPresence *self);

/* Publish a userState (a note); complete once the server answered:
 * NotSignedIn when not registered, InvalidArgs for an unknown string or a
 * bad note, ServerRejected when the server refused the publication (SIP
 * status and ms-diagnostics in the message). */
void sfb_presence_set_availability_async (SfbPresence *self,
                                          const char *availability,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);
gboolean
sfb_presence_set_availability_finish (SfbPresence *self, GAsyncResult *result, GError **error);
void sfb_presence_set_note_async (SfbPresence *self,
                                  const char *note,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean sfb_presence_set_note_finish (SfbPresence *self, GAsyncResult *result, GError **error);

/* The machineState sfbd publishes (docs/protocol.md §11.4): whether the user
 * uses the computer.  The server's aggregation shows it when the user chose
 * no availability (a userState) of their own; the user's choice is left as
 * it is.  Published at once when it changes while signed in, else with the
 * next sign-in's first publication. */
#define SFB_MACHINE_STATE_ACTIVE 3500
#define SFB_MACHINE_STATE_INACTIVE 5000
#define SFB_MACHINE_STATE_AWAY 15500
void sfb_presence_set_machine_state (SfbPresence *self, guint code);

/* The unread voicemails the server reported over SIP (the roaming-self
 * "mwi" category Exchange UM's MWI becomes); FALSE when it reported none. */
gboolean sfb_presence_get_voicemails (SfbPresence *self, guint *unread);

/* Publish what @exchange knows (calendarState, calendarData, the OOF note;
 * docs/protocol.md, "Calendar presence") after each registration's first
 * publication and whenever its calendar changes.  NULL stops following. */
void sfb_presence_follow_exchange (SfbPresence *self, SfbExchange *exchange);

/* a{sv} (Availability, AvailabilityCode, Activity, Note) of @uri (a full
 * reference), or NULL when nothing is known. */
GVariant *sfb_presence_lookup (SfbPresence *self, const char *uri);
/* What is known of a contact by normalized URI, without a copy (valid
 * until the main loop runs again); NULL if nothing. */
const SfbPresenceInfo *sfb_presence_peek (SfbPresence *self, const char *normalized_uri);
/* Changes whenever what sfb_presence_peek() returns for any contact
 * changes (presence or card): lets a reply built from it be reused.  The
 * info's own version is this version as of its last change, so a reply
 * can also be rebuilt for the contacts that changed alone. */
guint64 sfb_presence_get_contacts_version (SfbPresence *self);
/* Contact card fields known for @uri (NULL when none). */
const char *sfb_presence_lookup_card (SfbPresence *self, const char *uri, const char *field);

/* Signals:
 *   "changed"          (no arguments): own availability, activity or note
 *   "presence-changed" (const char *uri, GVariant *presence a{sv})
 *   "voicemail-changed" (no arguments): sfb_presence_get_voicemails changed */

G_END_DECLS
