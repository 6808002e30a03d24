/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: roaming contacts (contactList and contactDelta).  The
 * input is applied twice to the same list (full list, then as an update),
 * and the list must stay within its limits with clean strings.
 */
#include "sfb-contact-list.h"

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

/* Names go to D-Bus and logs: valid UTF-8, controls made spaces
 * (sfb_svc_clean_string) */
static void
check_name (const char *name)
{
  if (name == NULL || !g_utf8_validate (name, -1, NULL))
    abort ();
  for (const char *p = name; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      abort ();
}

static void
check (const SfbContactList *list)
{
  if (list->contacts->len > SFB_CONTACTS_MAX_CONTACTS
      || list->groups->len > SFB_CONTACTS_MAX_GROUPS)
    abort ();
  for (guint i = 0; i < list->groups->len; i++)
    check_name (((const SfbContactGroup *) list->groups->pdata[i])->name);
  for (guint i = 0; i < list->contacts->len; i++)
    {
      const SfbContactEntry *e = list->contacts->pdata[i];

      if (!g_str_has_prefix (e->uri, "sip:") || strchr (e->uri, '@') == NULL
          || e->n_groups > SFB_CONTACTS_MAX_GROUPS_PER_CONTACT)
        abort ();
      check_name (e->name);
      sfb_relationship_for_uri (e->uri, "contoso.test");
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (SfbContactList) list = sfb_contact_list_new ();

  for (int round = 0; round < 2; round++)
    {
      g_autoptr (GError) error = NULL;
      gboolean changed = FALSE;

      if (!sfb_contact_list_update (list, (const char *) data, size, &changed, &error))
        {
          if (error == NULL || changed)
            abort ();
        }
      else if (error != NULL)
        abort ();
      check (list);
    }
  return 0;
}
