/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbDaemon: the account and everything sfbd knows, as GObject properties
 * that the bus layer mirrors.  It never includes D-Bus code.
 */
#pragma once

#include <gio/gio.h>

#include "sfb-config.h"
#include "sfb-secret-store.h"

G_BEGIN_DECLS

#define SFB_TYPE_DAEMON (sfb_daemon_get_type ())
G_DECLARE_FINAL_TYPE (SfbDaemon, sfb_daemon, SFB, DAEMON, GObject)

SfbDaemon *sfb_daemon_new (void);

SfbConfig *sfb_daemon_get_config (SfbDaemon *self);
SfbSecretStore *sfb_daemon_get_secret_store (SfbDaemon *self);
const char *sfb_daemon_get_state (SfbDaemon *self);
const char *sfb_daemon_get_last_error (SfbDaemon *self);
const char *sfb_daemon_get_last_error_message (SfbDaemon *self);

/* Account */
void sfb_daemon_sign_in_async (SfbDaemon *self,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
gboolean sfb_daemon_sign_in_finish (SfbDaemon *self, GAsyncResult *result, GError **error);
void sfb_daemon_auto_sign_in (SfbDaemon *self);
gboolean sfb_daemon_sign_out (SfbDaemon *self, GError **error);
gboolean sfb_daemon_reconnect (SfbDaemon *self, GError **error);
gboolean sfb_daemon_configure (SfbDaemon *self, GVariant *settings, GError **error);
void sfb_daemon_set_password_async (SfbDaemon *self,
                                    const char *password,
                                    gboolean store,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean sfb_daemon_set_password_finish (SfbDaemon *self, GAsyncResult *result, GError **error);
void sfb_daemon_forget_credentials_async (SfbDaemon *self,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);
gboolean
sfb_daemon_forget_credentials_finish (SfbDaemon *self, GAsyncResult *result, GError **error);
GVariant *sfb_daemon_get_sign_in_trace (SfbDaemon *self);

/* Presence, dial plan, policies, devices */
/* SetAvailability, SetNote: sfb_presence_set_*_async () on sfb_daemon_get_presence () */
gboolean sfb_daemon_normalize_number (SfbDaemon *self,
                                      const char *number,
                                      char **normalized,
                                      char **pattern,
                                      gboolean *internal_extension,
                                      GError **error);
GVariant *sfb_daemon_get_policy (SfbDaemon *self, const char *group, GError **error);
/* Policies and dial plan (daemon/services/sfb-settings.h); for bus/. */
typedef struct _SfbSettings SfbSettings;
SfbSettings *sfb_daemon_get_settings (SfbDaemon *self);
/* Contacts and presence (daemon/services); for bus/. */
typedef struct _SfbContacts SfbContacts;
typedef struct _SfbPresence SfbPresence;
SfbContacts *sfb_daemon_get_contacts (SfbDaemon *self);
SfbPresence *sfb_daemon_get_presence (SfbDaemon *self);
/* Calendar, out-of-office, voicemail (daemon/services/sfb-exchange.h); for bus/. */
typedef struct _SfbExchange SfbExchange;
typedef struct _SfbConversations SfbConversations;
SfbExchange *sfb_daemon_get_exchange (SfbDaemon *self);
/* Instant messages (daemon/services/sfb-conversations.h); for bus/. */
SfbConversations *sfb_daemon_get_conversations (SfbDaemon *self);
gboolean
sfb_daemon_select_device (SfbDaemon *self, const char *kind, const char *name, GError **error);
GVariant *sfb_daemon_list_devices (SfbDaemon *self);

G_END_DECLS
