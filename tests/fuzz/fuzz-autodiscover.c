/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: autodiscover (MS-OCDISCWS) XML answers, the candidate
 * list built from them, and the candidate strings for the trace.
 */
#include "sfb-autodiscover.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gboolean
is_host_name (const char *host)
{
  if (host == NULL || *host == '\0' || strlen (host) > 253)
    return FALSE;
  for (const char *p = host; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      return FALSE;
  return TRUE;
}

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
  g_autoptr (SfbAutodiscoverDocument) doc = NULL;
  g_autoptr (GPtrArray) candidates = NULL;

  doc = sfb_autodiscover_parse ((const char *) data, size, &error);
  if (doc == NULL)
    {
      /* Failure always comes with an error, never with a document. */
      if (error == NULL || error->message == NULL)
        abort ();
      return 0;
    }
  if (error != NULL || (!doc->has_root && !doc->has_user))
    abort ();
  if (doc->user_href != NULL && strlen (doc->user_href) > SFB_AUTODISCOVER_MAX_ATTRIBUTE_LENGTH)
    abort ();
  if (doc->redirect_href != NULL
      && strlen (doc->redirect_href) > SFB_AUTODISCOVER_MAX_ATTRIBUTE_LENGTH)
    abort ();

  candidates = sfb_autodiscover_document_get_candidates (doc);
  if (candidates->len > 2)
    abort ();
  for (guint i = 0; i < candidates->len; i++)
    {
      const SfbServerCandidate *c = candidates->pdata[i];
      g_autofree char *text = sfb_server_candidate_to_string (c);

      /* Whatever the server sent, a candidate is a plain host name and a
       * real port: it goes into certificate checks and traces. */
      if (!is_host_name (c->host) || c->port == 0 || text == NULL)
        abort ();
    }
  return 0;
}
