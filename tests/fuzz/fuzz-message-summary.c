/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the RFC 3842 message summary of a NOTIFY Event:
 * message-summary (daemon/services/sfb-message-summary.h), the whole input
 * as the body.  A body is either refused with the documented error or
 * gives a count within the cap; the same input gives the same answer.
 */
#include "sfb-error.h"
#include "sfb-message-summary.h"

#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) again_error = NULL;
  guint unread = 0;
  guint again = 0;
  gboolean ok = sfb_message_summary_parse ((const char *) data, size, &unread, &error);

  g_assert_true (ok == (error == NULL));
  if (!ok)
    g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
  else
    g_assert_cmpuint (unread, <=, SFB_MESSAGE_SUMMARY_MAX_COUNT);
  g_assert_true (sfb_message_summary_parse ((const char *) data, size, &again, &again_error) == ok);
  g_assert_cmpuint (again, ==, unread);
  return 0;
}
