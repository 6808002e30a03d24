/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the EWS answers SfbExchange reads.  The first byte
 * picks the parser: GetUserAvailability, GetUserOofSettings, GetFolder
 * (UnreadCount), FindItem (TotalItemsInView) or FindFolder (FolderId),
 * or the HTML-to-text of the
 * OOF message.  What they keep must be bounded, clean text; the
 * WorkingHours rebuilt must be well-formed XML again.
 */
#include "sfb-exchange-doc.h"
#include "sfb-svc-xml.h"
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
check_text (const char *text, gsize max_chars, gboolean multi_line)
{
  g_assert_nonnull (text);
  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_cmpuint (g_utf8_strlen (text, -1), <=, max_chars + 1);
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (multi_line && c == '\n')
        continue;
      g_assert_false (sfb_text_is_unsafe_char (c));
    }
}

static void
check_availability (SfbExchangeAvailability *av)
{
  g_assert_cmpuint (av->events->len, <=, SFB_EXCHANGE_MAX_EVENTS);
  for (guint i = 0; i < av->events->len; i++)
    {
      SfbCalendarEvent *e = g_ptr_array_index (av->events, i);

      check_text (e->subject, SFB_EXCHANGE_MAX_TEXT, FALSE);
      check_text (e->location, SFB_EXCHANGE_MAX_TEXT, FALSE);
      g_assert_cmpint (e->start, <=, e->end);
      if (i > 0)
        g_assert_cmpint (
            ((SfbCalendarEvent *) g_ptr_array_index (av->events, i - 1))->start, <=, e->start);
    }
  if (av->free_busy != NULL)
    g_assert_cmpuint (strspn (av->free_busy, "012345"), ==, strlen (av->free_busy));
  if (av->working_hours != NULL)
    {
      g_autoptr (SfbXmlDoc) doc = sfb_svc_xml_parse (
          av->working_hours, strlen (av->working_hours), "working hours", NULL);

      g_assert_nonnull (doc);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *doc = (const char *) data + 1;
  g_autoptr (GError) error = NULL;
  guint count = 0;

  if (size == 0)
    return 0;
  size--;
  switch (data[0] % 5)
    {
    case 0:
      {
        g_autoptr (SfbExchangeAvailability) av
            = sfb_exchange_doc_parse_availability (doc, size, &error);

        if (av != NULL)
          check_availability (av);
        break;
      }
    case 1:
      {
        g_autoptr (SfbExchangeOof) oof = sfb_exchange_doc_parse_oof (doc, size, &error);

        if (oof != NULL)
          check_text (oof->message, SFB_EXCHANGE_MAX_MESSAGE, TRUE);
        break;
      }
    case 2:
      sfb_exchange_doc_parse_unread_count (doc, size, &count, &error);
      break;
    case 3:
      if (data[0] & 0x80)
        {
          g_autofree char *id = sfb_exchange_doc_parse_folder_id (doc, size, &error);

          /* base64 or base64url characters: it goes into a request */
          g_assert_true (id == NULL
                         || (*id != '\0'
                             && strspn (id,
                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789+/=-_")
                                    == strlen (id)));
        }
      else
        sfb_exchange_doc_parse_item_count (doc, size, &count, &error);
      break;
    default:
      {
        g_autofree char *copy = g_strndup (doc, size);
        g_autofree char *text = sfb_exchange_doc_html_to_text (copy, 200);

        check_text (text, 200, TRUE);
        break;
      }
    }
  if (error != NULL)
    check_text (error->message, 1000, FALSE);
  return 0;
}
