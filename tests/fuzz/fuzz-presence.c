/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the presence documents the server sends.  The first
 * byte chooses the parser: 0 roaming-self, 1 a 409 fault, 2 a presence
 * notification (multipart/related with rlmi and categories, boundary "b"),
 * 3 a categories document.
 */
#include "sfb-presence-doc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

static void
check_string (const char *s)
{
  if (s == NULL)
    return;
  if (!g_utf8_validate (s, -1, NULL))
    abort ();
  for (const char *p = s; *p; p++)
    if ((guchar) *p < 0x20)
      abort ();
}

static void
check_info (const SfbPresenceInfo *info)
{
  check_string (info->uri);
  check_string (info->activity);
  check_string (info->note);
  check_string (info->display_name);
  check_string (info->title);
  check_string (info->company);
  check_string (info->email);
  if (sfb_availability_from_code (info->availability, info->activity) == NULL)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  const char *doc = (const char *) data + 1;
  gsize len = size > 0 ? size - 1 : 0;

  if (size == 0)
    return 0;
  switch (data[0] % 4)
    {
    case 0:
      {
        g_autoptr (SfbRoamingSelf) self = sfb_roaming_self_parse (doc, len, &error);
        g_autoptr (GHashTable) versions = sfb_pub_versions_new ();

        if ((self == NULL) == (error == NULL))
          abort ();
        if (self == NULL)
          break;
        if (self->categories->len > SFB_PRESENCE_MAX_CATEGORIES)
          abort ();
        if (self->self != NULL)
          check_info (self->self);
        if (self->mwi.state > SFB_MWI_REMOVED || self->mwi.unread > SFB_PRESENCE_MAX_VOICEMAILS
            || (self->mwi.state != SFB_MWI_SET && self->mwi.unread != 0))
          abort ();
        sfb_pub_versions_apply (versions, self);
        for (guint i = 0; i < self->subscribers->len; i++)
          check_string (((SfbSubscriber *) self->subscribers->pdata[i])->display_name);
        break;
      }
    case 1:
      {
        g_autofree char *code = NULL;
        g_autoptr (GArray) ops = NULL;

        if (sfb_presence_parse_fault (doc, len, &code, &ops, &error))
          {
            if (error != NULL || ops == NULL)
              abort ();
            check_string (code);
          }
        else if (error == NULL)
          abort ();
        break;
      }
    case 2:
      {
        g_autoptr (SfbPresenceNotify) n = sfb_presence_notify_parse (
            "multipart/related; type=\"application/rlmi+xml\"; boundary=\"b\"", doc, len, &error);

        if ((n == NULL) == (error == NULL))
          abort ();
        if (n == NULL)
          break;
        for (guint i = 0; i < n->presences->len; i++)
          check_info (n->presences->pdata[i]);
        for (guint i = 0; i < n->resubscribe->len; i++)
          {
            const SfbPresenceResubscribe *r = n->resubscribe->pdata[i];

            check_string (r->uri);
            check_string (r->pool);
          }
        break;
      }
    default:
      {
        g_autoptr (SfbPresenceInfo) info = sfb_presence_parse_categories (doc, len, &error);

        if ((info == NULL) == (error == NULL))
          abort ();
        if (info != NULL)
          check_info (info);
        break;
      }
    }
  return 0;
}
