/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the checks of D-Bus method arguments (sfb_args_check)
 * and the quoting of untrusted text they use.  The first byte picks the
 * method; the rest is its arguments in GVariant serialisation (as GDBus
 * hands them over: normal form, valid UTF-8 strings).  Every refusal must
 * be InvalidArgs with a short, valid UTF-8 message free of line breaks.
 */
#include "sfb-args.h"
#include "sfb-error.h"
#include "sfb-text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const struct
{
  const char *interface;
  const char *method;
  const char *signature;
} methods[] = {
  { "Account", "Configure", "(a{sv})" },      { "Account", "SetPassword", "(sb)" },
  { "Devices", "SelectDevice", "(ss)" },      { "DialPlan", "Normalize", "(s)" },
  { "Policies", "GetPolicy", "(s)" },         { "Presence", "SetAvailability", "(s)" },
  { "Presence", "SetNote", "(s)" },           { "Presence", "GetPresence", "(as)" },
  { "Conversations", "SendMessage", "(ss)" }, { "Conversations", "SetTyping", "(sb)" },
  { "Conversations", "GetMessages", "(s)" },
};

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);
  g_log_set_writer_func (g_log_writer_default, NULL, NULL);
  return 0;
}

static void
check_message (const GError *error)
{
  if (!g_error_matches (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS))
    abort ();
  if (!g_utf8_validate (error->message, -1, NULL) || strlen (error->message) > 600
      || strpbrk (error->message, "\r\n") != NULL)
    abort ();
}

static void
check_quote (const uint8_t *data, size_t size)
{
  /* a copy of exactly @size bytes, no NUL: nothing may be read past it */
  g_autofree char *copy = g_memdup2 (data, size);
  g_autofree char *quoted = sfb_text_quote_untrusted (copy, (gssize) size, SFB_TEXT_QUOTE_MAX);

  if (!g_utf8_validate (quoted, -1, NULL) || strlen (quoted) > SFB_TEXT_QUOTE_MAX * 4 + 3)
    abort ();
  for (const char *p = quoted; *p != '\0'; p = g_utf8_next_char (p))
    if (sfb_text_is_unsafe_char (g_utf8_get_char (p)))
      abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GVariant) raw = NULL;
  g_autoptr (GVariant) parameters = NULL;
  g_autoptr (GError) error = NULL;
  guint which;

  if (size == 0)
    return 0;
  check_quote (data + 1, size - 1);
  which = data[0] % G_N_ELEMENTS (methods);
  bytes = g_bytes_new (data + 1, size - 1);
  raw = g_variant_ref_sink (
      g_variant_new_from_bytes (G_VARIANT_TYPE (methods[which].signature), bytes, FALSE));
  /* GDBus delivers only normal-form values with valid strings */
  if (!g_variant_is_normal_form (raw))
    return 0;
  parameters = g_variant_get_normal_form (raw);
  if (!sfb_args_check (methods[which].interface, methods[which].method, parameters, &error))
    check_message (error);
  return 0;
}
