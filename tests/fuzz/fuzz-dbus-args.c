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

/* One line: no control, bidi or separator character (sfb-text.h) */
static void
check_line (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (sfb_text_is_unsafe_char (g_utf8_get_char (p)))
      abort ();
}

static void
check_message (const GError *error)
{
  if (!g_error_matches (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS))
    abort ();
  if (!g_utf8_validate (error->message, -1, NULL) || strlen (error->message) > 600)
    abort ();
  check_line (error->message);
}

/* At most @max characters and "…" where cut; a character is at most 4
 * bytes (U+FFFD for an invalid byte is 3, "…" is 3) */
static void
check_bounded (const char *quoted, gsize max)
{
  if (!g_utf8_validate (quoted, -1, NULL) || g_utf8_strlen (quoted, -1) > (glong) max + 1
      || strlen (quoted) > max * 4 + 3)
    abort ();
  check_line (quoted);
}

/* SFB_TEXT_QUOTE_SPACES: no U+FFFD or invisible character, one space
 * between words, none at either end */
static void
check_spaces (const char *quoted)
{
  gsize len = strlen (quoted);

  if (len > 0 && (quoted[0] == ' ' || quoted[len - 1] == ' '))
    abort ();
  if (strstr (quoted, "  ") != NULL)
    abort ();
  for (const char *p = quoted; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == 0xfffd || (c >= 0x200b && c <= 0x200d) || c == 0xfeff)
        abort ();
    }
}

static void
check_quote (const uint8_t *data, size_t size)
{
  /* a copy of exactly @size bytes, no NUL: nothing may be read past it */
  g_autofree char *copy = g_memdup2 (data + 1, size - 1);
  /* the limits near 0 too, where the cut and "…" meet */
  gsize max = data[0] & 0x80 ? SFB_TEXT_QUOTE_MAX : data[0] % 8;
  g_autofree char *quoted = sfb_text_quote_untrusted (copy, (gssize) size - 1, max);
  g_autofree char *spaced = sfb_text_quote (copy, (gssize) size - 1, max, SFB_TEXT_QUOTE_SPACES);

  check_bounded (quoted, max);
  check_bounded (spaced, max);
  check_spaces (spaced);
  if (max == 0 && *spaced != '\0')
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
  check_quote (data, size);
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
