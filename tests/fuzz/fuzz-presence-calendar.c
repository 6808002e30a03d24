/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the publications sfbd builds from Exchange data
 * (calendarState, calendarData, the OOF note).  The input: a byte choosing
 * the calendar state and OOF, then NUL-separated fields: email, subject,
 * location, working hours (XML), free/busy digits, OOF message.  Whatever
 * they hold, the publication must stay well-formed XML (the server would
 * refuse all of it) and the free/busy value bounded.
 */
#include "sfb-presence-doc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

static void
check_well_formed (SfbPublish *publish)
{
  g_autoptr (GBytes) bytes = sfb_publish_to_bytes (publish);
  gsize length = 0;
  const char *xml = g_bytes_get_data (bytes, &length);
  xmlDoc *doc = xmlReadMemory (xml,
                               (int) length,
                               "p.xml",
                               "UTF-8",
                               XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);

  if (doc == NULL)
    abort ();
  xmlFreeDoc (doc);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_auto (GStrv) fields = NULL;
  g_autoptr (GHashTable) versions = sfb_pub_versions_new ();
  g_autoptr (SfbCalendarPresence) first = NULL;
  SfbCalendarPresence cal = { 0 };
  guint n;

  if (size < 1)
    return 0;
  {
    GPtrArray *parts = g_ptr_array_new ();
    const char *p = (const char *) data + 1;
    const char *end = (const char *) data + size;

    while (p <= end && parts->len < 6)
      {
        const char *nul = memchr (p, '\0', (size_t) (end - p));
        const char *stop = nul != NULL ? nul : end;

        g_ptr_array_add (parts, g_strndup (p, (gsize) (stop - p)));
        p = stop + 1;
      }
    g_ptr_array_add (parts, NULL);
    fields = (GStrv) g_ptr_array_free (parts, FALSE);
  }
  n = g_strv_length (fields);
  cal.state = (SfbCalendarState) (data[0] % 4);
  cal.oof = (data[0] & 0x10) != 0;
  cal.state_start = (data[0] & 0x20) ? G_MAXINT64 : G_GINT64_CONSTANT (1796029200) * G_USEC_PER_SEC;
  cal.oof_start = (data[0] & 0x40) ? cal.state_start : 0;
  cal.oof_end = (data[0] & 0x40) ? G_MININT64 : 0;
  cal.free_busy_interval = (data[0] & 0x80) ? 15 : 30;
  cal.email = n > 0 ? fields[0] : NULL;
  cal.subject = n > 1 ? fields[1] : NULL;
  cal.location = n > 2 ? fields[2] : NULL;
  cal.working_hours = n > 3 ? fields[3] : NULL;
  cal.free_busy = n > 4 ? fields[4] : NULL;
  cal.oof_message = n > 5 ? fields[5] : NULL;

  {
    g_autoptr (SfbPublish) publish = sfb_publish_new ("sip:alice@contoso.test");
    g_autofree char *fb = sfb_presence_free_busy_base64 (cal.free_busy);

    if (fb != NULL && strlen (fb) > (SFB_CALENDAR_MAX_FREE_BUSY / 4 + 3) / 3 * 4 + 4)
      abort ();
    sfb_presence_add_calendar (publish, versions, NULL, &cal);
    check_well_formed (publish);
    sfb_pub_versions_published (versions, publish);
    first = sfb_calendar_presence_copy (&cal);
  }
  /* then everything ends: removals at the versions the server has */
  {
    g_autoptr (SfbPublish) publish = sfb_publish_new ("sip:alice@contoso.test");

    cal.state = SFB_CALENDAR_FREE;
    cal.oof = FALSE;
    if (data[0] & 0x08)
      cal.email = NULL;
    sfb_presence_add_calendar (publish, versions, first, &cal);
    check_well_formed (publish);
  }
  return 0;
}
