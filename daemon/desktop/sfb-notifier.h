/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Desktop notifications: org.freedesktop.Notifications on the session bus
 * (the Desktop Notifications Specification 1.2).  Each notification has a
 * key chosen by the caller; showing a key again replaces it in place.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What the notifier shows of a caller's text, in characters. */
#define SFB_NOTIFIER_SUMMARY_MAX 120
#define SFB_NOTIFIER_BODY_MAX 1000
#define SFB_NOTIFIER_BODY_LINES_MAX 24
#define SFB_NOTIFIER_LABEL_MAX 40
/* Longest inline reply passed on, in bytes. */
#define SFB_NOTIFIER_REPLY_MAX 8000

#define SFB_TYPE_NOTIFIER (sfb_notifier_get_type ())
G_DECLARE_FINAL_TYPE (SfbNotifier, sfb_notifier, SFB, NOTIFIER, GObject)

/* NULL bus: a no-op notifier (no session bus, tests). */
SfbNotifier *sfb_notifier_new (GDBusConnection *session_bus);

/* Shows or replaces the notification known as @key.  @summary and @body are
 * bounded and sanitised here (@body may have several lines); the body's markup
 * is escaped when the server advertises body-markup.  @actions is NULL or a
 * NULL-terminated list of (id, label) pairs; "default" is the id of a click
 * on the notification itself.  @reply: offer an inline reply where the server
 * has one (the inline-reply capability). */
void sfb_notifier_show (SfbNotifier *self,
                        const char *key,
                        const char *summary,
                        const char *body,
                        const char *const *actions,
                        gboolean reply);

/* Closes the notification known as @key, if it is shown. */
void sfb_notifier_withdraw (SfbNotifier *self, const char *key);

/* Whether the notification known as @key is shown (or on its way). */
gboolean sfb_notifier_is_shown (SfbNotifier *self, const char *key);

/* The XDG activation token the server sent with the last action (for the
 * window that action starts), or NULL.  Valid until the next action. */
const char *sfb_notifier_get_activation_token (SfbNotifier *self);

/* Signals:
 *   "action" (const char *key, const char *action_id): the user chose an action
 *   "reply"  (const char *key, const char *text): the user replied inline;
 *            @text is valid UTF-8 of at most SFB_NOTIFIER_REPLY_MAX bytes,
 *            newlines and tabs allowed, no other control character
 */

G_END_DECLS
