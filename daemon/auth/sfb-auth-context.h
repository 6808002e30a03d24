/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbAuthContext: the base class of every MS-SIPAE security mechanism
 * (NTLM now; Kerberos and TLS-DSK later).  A context runs the handshake
 * legs (step) and, once established, signs outgoing and verifies incoming
 * MS-SIPAE signature buffers (docs/protocol.md §5).  Key material lives in the
 * subclass and is wiped when the object is finalized.
 */
#pragma once

#include <gio/gio.h>
#include <glib-object.h>

#include "sfb-sip-auth-header.h"

G_BEGIN_DECLS

#define SFB_TYPE_AUTH_CONTEXT (sfb_auth_context_get_type ())
G_DECLARE_DERIVABLE_TYPE (SfbAuthContext, sfb_auth_context, SFB, AUTH_CONTEXT, GObject)

struct _SfbAuthContextClass
{
  GObjectClass parent_class;
  const char *scheme; /* "NTLM", "Kerberos", "TLS-DSK" */
  /* One handshake leg: server_token is the decoded gssapi-data of the
   * challenge (NULL on the first leg); returns the next client token
   * (possibly empty), or NULL with error. */
  GBytes *(*step) (SfbAuthContext *self, GBytes *server_token, GError **error);
  gboolean (*is_established) (SfbAuthContext *self); /* keys exist: can sign and verify */
  GBytes *(*sign) (SfbAuthContext *self, const char *data, gsize len, GError **error);
  gboolean (*verify) (
      SfbAuthContext *self, const char *data, gsize len, GBytes *signature, GError **error);
  gint64 (*get_expires_at) (
      SfbAuthContext *self); /* g_get_real_time() µs when the SA must be renewed */
  /* Optional: work before the first leg that may block or use the network
   * (Kerberos: credentials and the service ticket from the KDC; TLS-DSK:
   * certificate provisioning), given this scheme's challenge from the
   * first 401.  The default completes at once. */
  void (*prepare_async) (SfbAuthContext *self,
                         const SfbSipAuth *challenge,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data);
  gboolean (*prepare_finish) (SfbAuthContext *self, GAsyncResult *result, GError **error);
};

const char *sfb_auth_context_get_scheme (SfbAuthContext *self);
GBytes *sfb_auth_context_step (SfbAuthContext *self, GBytes *server_token, GError **error);
gboolean sfb_auth_context_is_established (SfbAuthContext *self);
GBytes *sfb_auth_context_sign (SfbAuthContext *self, const char *data, gsize len, GError **error);
gboolean sfb_auth_context_verify (
    SfbAuthContext *self, const char *data, gsize len, GBytes *signature, GError **error);
gint64 sfb_auth_context_get_expires_at (SfbAuthContext *self);
void sfb_auth_context_prepare_async (SfbAuthContext *self,
                                     const SfbSipAuth *challenge,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean
sfb_auth_context_prepare_finish (SfbAuthContext *self, GAsyncResult *result, GError **error);

G_END_DECLS
