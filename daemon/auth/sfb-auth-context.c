/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-auth"

#include "sfb-auth-context.h"

#include "sfb-error.h"

G_DEFINE_ABSTRACT_TYPE (SfbAuthContext, sfb_auth_context, G_TYPE_OBJECT)

static gboolean
not_established (SfbAuthContext *self, GError **error)
{
  g_set_error (error,
               SFB_ERROR,
               SFB_ERROR_FAILED,
               "%s security association not established",
               sfb_auth_context_get_scheme (self));
  return FALSE;
}

static gboolean
sfb_auth_context_real_is_established (SfbAuthContext *self)
{
  return FALSE;
}

static gint64
sfb_auth_context_real_get_expires_at (SfbAuthContext *self)
{
  return G_MAXINT64;
}

static void
sfb_auth_context_real_prepare_async (SfbAuthContext *self,
                                     const SfbSipAuth *challenge,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, sfb_auth_context_real_prepare_async);
  g_task_return_boolean (task, TRUE);
}

static gboolean
sfb_auth_context_real_prepare_finish (SfbAuthContext *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sfb_auth_context_class_init (SfbAuthContextClass *klass)
{
  klass->scheme = NULL;
  klass->prepare_async = sfb_auth_context_real_prepare_async;
  klass->prepare_finish = sfb_auth_context_real_prepare_finish;
  klass->is_established = sfb_auth_context_real_is_established;
  klass->get_expires_at = sfb_auth_context_real_get_expires_at;
}

static void
sfb_auth_context_init (SfbAuthContext *self)
{
}

const char *
sfb_auth_context_get_scheme (SfbAuthContext *self)
{
  g_return_val_if_fail (SFB_IS_AUTH_CONTEXT (self), NULL);
  return SFB_AUTH_CONTEXT_GET_CLASS (self)->scheme;
}

GBytes *
sfb_auth_context_step (SfbAuthContext *self, GBytes *server_token, GError **error)
{
  SfbAuthContextClass *klass;

  g_return_val_if_fail (SFB_IS_AUTH_CONTEXT (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  klass = SFB_AUTH_CONTEXT_GET_CLASS (self);
  g_return_val_if_fail (klass->step != NULL, NULL);
  return klass->step (self, server_token, error);
}

gboolean
sfb_auth_context_is_established (SfbAuthContext *self)
{
  g_return_val_if_fail (SFB_IS_AUTH_CONTEXT (self), FALSE);
  return SFB_AUTH_CONTEXT_GET_CLASS (self)->is_established (self);
}

GBytes *
sfb_auth_context_sign (SfbAuthContext *self, const char *data, gsize len, GError **error)
{
  SfbAuthContextClass *klass;

  g_return_val_if_fail (SFB_IS_AUTH_CONTEXT (self), NULL);
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  klass = SFB_AUTH_CONTEXT_GET_CLASS (self);
  if (klass->sign == NULL || !sfb_auth_context_is_established (self))
    {
      not_established (self, error);
      return NULL;
    }
  return klass->sign (self, data, len, error);
}

gboolean
sfb_auth_context_verify (
    SfbAuthContext *self, const char *data, gsize len, GBytes *signature, GError **error)
{
  SfbAuthContextClass *klass;

  g_return_val_if_fail (SFB_IS_AUTH_CONTEXT (self), FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (signature != NULL, FALSE);
  klass = SFB_AUTH_CONTEXT_GET_CLASS (self);
  if (klass->verify == NULL || !sfb_auth_context_is_established (self))
    return not_established (self, error);
  return klass->verify (self, data, len, signature, error);
}

gint64
sfb_auth_context_get_expires_at (SfbAuthContext *self)
{
  g_return_val_if_fail (SFB_IS_AUTH_CONTEXT (self), 0);
  return SFB_AUTH_CONTEXT_GET_CLASS (self)->get_expires_at (self);
}

void
sfb_auth_context_prepare_async (SfbAuthContext *self,
                                const SfbSipAuth *challenge,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_return_if_fail (SFB_IS_AUTH_CONTEXT (self));
  g_return_if_fail (challenge != NULL);
  SFB_AUTH_CONTEXT_GET_CLASS (self)->prepare_async (
      self, challenge, cancellable, callback, user_data);
}

gboolean
sfb_auth_context_prepare_finish (SfbAuthContext *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (SFB_IS_AUTH_CONTEXT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return SFB_AUTH_CONTEXT_GET_CLASS (self)->prepare_finish (self, result, error);
}
