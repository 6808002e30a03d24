/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * STATUS (engineer "settings"): USABLE.  The API below and the session's
 * request API (sfb-session.h, "for daemon/services") are implemented and
 * unit-tested; add your sources to sfb_services_sources in
 * daemon/services/meson.build.
 *
 * SfbSubscription: one SUBSCRIBE dialog (docs/protocol.md §11).
 *
 * Every SUBSCRIBE carries the common headers of §11 (Event, Accept,
 * Supported: com.microsoft.autoextend, ms-benotify,
 * ms-piggyback-first-notify, Proxy-Require: ms-benotify, Contact: GRUU)
 * plus the headers and body set here.  The first body comes back in the
 * 200 (ms-piggyback-cseq) or in a NOTIFY; both, and every later NOTIFY or
 * BENOTIFY of the dialog (matched by Call-ID), go to the body handler
 * (sfb_subscription_set_body_handler()).
 * NOTIFY gets a signed 200; BENOTIFY is never answered.
 *
 * A subscription with Expires > 0 is refreshed inside the dialog 120 s
 * before it expires (at half the time when Expires <= 240 s); a 481, an
 * error answer or "subscription-state: terminated" ends it with
 * "terminated".  A one-off query (Expires: 0, e.g. provisioning-v2) is
 * answered "terminated" by design: that ends nothing, and later NOTIFYs
 * with the same Call-ID (server updates) are still emitted.
 *
 * start() sends the first SUBSCRIBE when the session is registered and
 * again, in a new dialog, after every "registered" of the session (a new
 * connection); stop() sends Expires: 0 for an active dialog and forgets it.
 * When the session signs out ("signing-out") an active dialog gets its
 * Expires: 0 too, and the subscription starts again at the next sign-in.
 *
 * Signals:
 *   "terminated"  (const GError *reason)
 */
#pragma once

#include <gio/gio.h>

#include "sfb-session.h"

G_BEGIN_DECLS

/* refresh this many seconds before Expires (docs/protocol.md §11) */
#define SFB_SUBSCRIPTION_REFRESH_MARGIN_S 120

#define SFB_TYPE_SUBSCRIPTION (sfb_subscription_get_type ())
G_DECLARE_FINAL_TYPE (SfbSubscription, sfb_subscription, SFB, SUBSCRIPTION, GObject)

/* @target_uri NULL: the own AOR.  @accept may be NULL. */
SfbSubscription *sfb_subscription_new (SfbSession *session,
                                       const char *event,
                                       const char *accept,
                                       const char *target_uri);
void sfb_subscription_set_body (SfbSubscription *self, const char *content_type, GBytes *body);
/* The body built again for each SUBSCRIBE instead of kept (a batch of
 * 1,000 contacts is 44 kB, sent at a refresh every few hours); replaces a
 * body set.  @destroy frees @user_data with the subscription. */
typedef GBytes *(*SfbSubscriptionBodyBuilder) (gpointer user_data);
void sfb_subscription_set_body_builder (SfbSubscription *self,
                                        const char *content_type,
                                        SfbSubscriptionBodyBuilder build,
                                        gpointer user_data,
                                        GDestroyNotify destroy);
/* Each body the server sends in the dialog (a NOTIFY's or BENOTIFY's, or
 * the 200's), with its Content-Type ("" when none); @content_type and
 * @body are valid during the call only.  One handler, the subscription's
 * owner's, called directly: a presence storm sends a thousand bodies, and a
 * GObject signal costs an emission each.  NULL @func removes it; the
 * handler holds no reference on @user_data: remove it before @user_data
 * goes. */
typedef void (*SfbSubscriptionBodyFunc) (SfbSubscription *subscription,
                                         const char *content_type,
                                         GBytes *body,
                                         gboolean benotify,
                                         gpointer user_data);
void sfb_subscription_set_body_handler (SfbSubscription *self,
                                        SfbSubscriptionBodyFunc func,
                                        gpointer user_data);
/* Extra header sent with every SUBSCRIBE (e.g. Require, Supported). */
void sfb_subscription_add_header (SfbSubscription *self, const char *name, const char *value);
/* Expires asked for: 0 = a one-off query (provisioning-v2); negative (the
 * default): no Expires header, the server chooses. */
void sfb_subscription_set_expires (SfbSubscription *self, int expires);
void sfb_subscription_start (SfbSubscription *self);
void sfb_subscription_stop (SfbSubscription *self);
gboolean sfb_subscription_is_active (SfbSubscription *self);
const char *sfb_subscription_get_event (SfbSubscription *self);
/* The SIP status of the last answer to SUBSCRIBE (0 before any). */
guint sfb_subscription_get_last_status (SfbSubscription *self);

G_END_DECLS
