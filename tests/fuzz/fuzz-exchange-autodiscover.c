/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the Exchange Autodiscover (POX) response parser.  What
 * it keeps must be https URLs and a plain SMTP address, and its error text
 * one clean line.
 */
#include "sfb-exchange-doc.h"
#include "sfb-text.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  g_log_set_writer_func (g_log_writer_default, NULL, NULL);
  return 0;
}

static void
check_line (const char *text)
{
  if (text == NULL)
    return;
  g_assert_true (g_utf8_validate (text, -1, NULL));
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    g_assert_false (sfb_text_is_unsafe_char (g_utf8_get_char (p)));
}

static void
check_url (const char *url)
{
  if (url != NULL)
    g_assert_true (g_ascii_strncasecmp (url, "https://", 8) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbExchangeAutodiscover) ad
      = sfb_exchange_doc_parse_autodiscover ((const char *) data, size, &error);

  g_assert_true ((ad == NULL) == (error != NULL));
  if (error != NULL)
    {
      check_line (error->message);
      return 0;
    }
  check_url (ad->ews_url);
  check_url (ad->as_url);
  check_url (ad->oof_url);
  check_url (ad->um_url);
  check_url (ad->redirect_url);
  check_line (ad->error_code);
  check_line (ad->error_message);
  if (ad->redirect_addr != NULL)
    g_assert_nonnull (strchr (ad->redirect_addr, '@'));
  return 0;
}
