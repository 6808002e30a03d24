/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-args.h"

#include "sfb-error.h"
#include "sfb-text.h"

#include <string.h>

static gboolean
check_count (const char *what, gsize n, gsize max, GError **error)
{
  if (n <= max)
    return TRUE;
  g_set_error (error,
               SFB_ERROR,
               SFB_ERROR_INVALID_ARGS,
               "Too many %s (%" G_GSIZE_FORMAT ", at most %" G_GSIZE_FORMAT ")",
               what,
               n,
               max);
  return FALSE;
}

/* Configure: each "Group.Key" and each string value */
static gboolean
check_settings (GVariant *settings, GError **error)
{
  GVariantIter iter;
  const char *name;
  GVariant *value;

  if (!check_count ("settings", g_variant_n_children (settings), SFB_ARGS_MAX_SETTINGS, error))
    return FALSE;
  g_variant_iter_init (&iter, settings);
  while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
    {
      g_autoptr (GVariant) owned = value;
      g_autofree char *what = NULL;

      if (!sfb_text_check_argument ("A setting name", name, 128, 0, error))
        return FALSE;
      if (!g_variant_is_of_type (owned, G_VARIANT_TYPE_STRING))
        continue; /* the type is checked with the key */
      what = sfb_text_quote_untrusted (name, -1, SFB_TEXT_QUOTE_MAX);
      if (!sfb_text_check_argument (
              what, g_variant_get_string (owned, NULL), SFB_ARGS_MAX_STRING, 0, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
check_password (const char *password, GError **error)
{
  /* never quoted, whatever it holds */
  if (strlen (password) <= SFB_ARGS_MAX_PASSWORD)
    return TRUE;
  g_set_error (error,
               SFB_ERROR,
               SFB_ERROR_INVALID_ARGS,
               "The password is longer than %d bytes",
               SFB_ARGS_MAX_PASSWORD);
  return FALSE;
}

static gboolean
check_uris (GVariant *uris, GError **error)
{
  gsize n = g_variant_n_children (uris);

  if (!check_count ("URIs", n, SFB_ARGS_MAX_URIS, error))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr (GVariant) uri = g_variant_get_child_value (uris, i);

      if (!sfb_text_check_argument (
              "A URI", g_variant_get_string (uri, NULL), SFB_ARGS_MAX_STRING, 0, error))
        return FALSE;
    }
  return TRUE;
}

/* Valid as long as @parameters */
static const char *
string_at (GVariant *parameters, gsize i)
{
  const char *text = NULL;

  g_variant_get_child (parameters, i, "&s", &text);
  return text;
}

/* SendMessage (uri, text); the others take a conversation id first */
static gboolean
check_conversations (const char *method, GVariant *parameters, GError **error)
{
  if (g_str_equal (method, "SendMessage")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(ss)")))
    return sfb_text_check_argument (
               "The URI", string_at (parameters, 0), SFB_ARGS_MAX_STRING, 0, error)
           && sfb_text_check_argument ("The message",
                                       string_at (parameters, 1),
                                       SFB_ARGS_MAX_MESSAGE,
                                       SFB_TEXT_MULTI_LINE | SFB_TEXT_ALLOW_BIDI,
                                       error);
  if (g_variant_n_children (parameters) >= 1
      && g_variant_type_is_subtype_of (G_VARIANT_TYPE ("s"),
                                       g_variant_type_first (g_variant_get_type (parameters))))
    return sfb_text_check_argument (
        "The conversation id", string_at (parameters, 0), SFB_ARGS_MAX_ID, 0, error);
  return TRUE;
}

static gboolean
is_method (const char *interface, const char *method, const char *i, const char *m)
{
  return g_str_equal (interface, i) && g_str_equal (method, m);
}

gboolean
sfb_args_check (const char *interface, const char *method, GVariant *parameters, GError **error)
{
  g_return_val_if_fail (interface != NULL && method != NULL, FALSE);

  if (parameters == NULL || !g_variant_is_container (parameters)
      || g_variant_n_children (parameters) == 0)
    return TRUE;
  if (is_method (interface, method, "Account", "Configure")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(a{sv})")))
    {
      g_autoptr (GVariant) settings = g_variant_get_child_value (parameters, 0);

      return check_settings (settings, error);
    }
  if (is_method (interface, method, "Account", "SetPassword")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sb)")))
    return check_password (string_at (parameters, 0), error);
  if (is_method (interface, method, "Devices", "SelectDevice")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(ss)")))
    return sfb_text_check_argument ("The device kind", string_at (parameters, 0), 64, 0, error)
           && sfb_text_check_argument (
               "The device name", string_at (parameters, 1), SFB_ARGS_MAX_STRING, 0, error);
  if (is_method (interface, method, "DialPlan", "Normalize")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(s)")))
    return sfb_text_check_argument (
        "The number", string_at (parameters, 0), SFB_ARGS_MAX_STRING, 0, error);
  if (is_method (interface, method, "Policies", "GetPolicy")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(s)")))
    return sfb_text_check_argument ("The policy group", string_at (parameters, 0), 128, 0, error);
  if (is_method (interface, method, "Presence", "SetAvailability")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(s)")))
    return sfb_text_check_argument ("The availability", string_at (parameters, 0), 64, 0, error);
  if (is_method (interface, method, "Presence", "SetNote")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(s)")))
    return sfb_text_check_argument ("The note",
                                    string_at (parameters, 0),
                                    SFB_ARGS_MAX_NOTE,
                                    SFB_TEXT_MULTI_LINE | SFB_TEXT_ALLOW_BIDI,
                                    error);
  if (g_str_equal (interface, "Conversations"))
    return check_conversations (method, parameters, error);
  if (is_method (interface, method, "Presence", "GetPresence")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(as)")))
    {
      g_autoptr (GVariant) uris = g_variant_get_child_value (parameters, 0);

      return check_uris (uris, error);
    }
  return TRUE;
}
