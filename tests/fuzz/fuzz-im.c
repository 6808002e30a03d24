/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: instant-message documents (daemon/services/
 * sfb-im-doc.h).  The input is a Content-Type line, then the body; the
 * body goes through every reader that takes untrusted input: body to text,
 * the INVITE offer verdict, typing, and the first line as an
 * Ms-Text-Format value.  Whatever the input, text that comes back is valid
 * UTF-8 of at most SFB_IM_MAX_TEXT bytes without control characters other
 * than newline and tab.
 */
#include "fuzz-util.h"
#include "sfb-im-doc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  sfb_fuzz_quiet_logs ();
  return 0;
}

static void
check_text (const char *text)
{
  if (text == NULL)
    return;
  if (strlen (text) > SFB_IM_MAX_TEXT || !g_utf8_validate (text, -1, NULL))
    abort ();
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      /* no control character (C0, DEL, C1) but newline and tab */
      if (c != '\n' && c != '\t' && g_unichar_type (c) == G_UNICODE_CONTROL)
        abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *bytes = (const char *) data;
  const char *nl = memchr (bytes, '\n', size);
  g_autofree char *content_type = NULL;
  g_autofree char *text = NULL;
  g_autofree char *first = NULL;
  const char *body;
  gsize length;
  int typing;

  if (nl == NULL)
    return 0;
  content_type = g_strndup (bytes, nl - bytes);
  body = nl + 1;
  length = size - (nl + 1 - bytes);

  text = sfb_im_body_to_text (content_type, body, length, NULL);
  check_text (text);
  (void) sfb_im_offer_classify (content_type, body, length);
  typing = sfb_im_typing_parse (content_type, body, length);
  if (typing < -1 || typing > 1)
    abort ();
  first = sfb_im_text_format_parse (content_type, NULL);
  check_text (first);
  return 0;
}
