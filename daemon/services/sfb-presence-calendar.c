/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

/* What sfbd publishes from the Exchange calendar (docs/protocol.md,
 * "Calendar presence"): calendarState, calendarData (working hours and
 * free/busy) and the out-of-office note.  Pure: the caller gives the
 * calendar and the versions, this builds the publications. */

#include "sfb-presence-doc.h"

#include "sfb-svc-xml.h"

#include <string.h>

#define NS_CALENDAR_DATA "http://schemas.microsoft.com/2006/09/sip/calendarData"

static const guint calendar_data_containers[] = { 1, 100, 200, 300, 400 };
static const guint note_containers[] = { 200, 300, 400 };
#define BLOCKED_CONTAINER 32000

SfbCalendarPresence *
sfb_calendar_presence_copy (const SfbCalendarPresence *cal)
{
  SfbCalendarPresence *copy = g_new0 (SfbCalendarPresence, 1);

  *copy = *cal;
  copy->email = g_strdup (cal->email);
  copy->subject = g_strdup (cal->subject);
  copy->location = g_strdup (cal->location);
  copy->working_hours = g_strdup (cal->working_hours);
  copy->free_busy = g_strdup (cal->free_busy);
  copy->oof_message = g_strdup (cal->oof_message);
  return copy;
}

void
sfb_calendar_presence_free (SfbCalendarPresence *cal)
{
  if (cal == NULL)
    return;
  g_free (cal->email);
  g_free (cal->subject);
  g_free (cal->location);
  g_free (cal->working_hours);
  g_free (cal->free_busy);
  g_free (cal->oof_message);
  g_free (cal);
}

guint32
sfb_presence_calendar_instance (guint32 prefix, gboolean wide, const char *email)
{
  g_autofree char *lower = g_ascii_strdown (email != NULL ? email : "", -1);
  g_autoptr (GChecksum) md5 = g_checksum_new (G_CHECKSUM_MD5);
  guint8 digest[16];
  gsize length = sizeof digest;
  guint32 low;

  g_checksum_update (md5, (const guchar *) lower, (gssize) strlen (lower));
  g_checksum_get_digest (md5, digest, &length);
  /* the least significant bits of the 128-bit digest (its last bytes) */
  low = ((guint32) digest[12] << 24) | ((guint32) digest[13] << 16) | ((guint32) digest[14] << 8)
        | digest[15];
  return prefix | (low & (wide ? 0x3fffffffu : 0x0fffffffu));
}

char *
sfb_presence_free_busy_base64 (const char *digits)
{
  gsize n = digits != NULL ? strnlen (digits, SFB_CALENDAR_MAX_FREE_BUSY) : 0;
  g_autofree guchar *packed = NULL;

  if (n == 0)
    return NULL;
  packed = g_new0 (guchar, (n + 3) / 4);
  for (gsize i = 0; i < n; i++)
    {
      /* 0 free, 1 tentative, 2 busy, 3 OOF; 4 (no data) and the rest: free */
      guint slot = digits[i] >= '0' && digits[i] <= '3' ? (guint) (digits[i] - '0') : 0;

      packed[i / 4] |= (guchar) (slot << (2 * (i % 4)));
    }
  return g_base64_encode (packed, (n + 3) / 4);
}

static char *
utc_time (gint64 us)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);

  return t != NULL ? g_date_time_format (t, "%Y-%m-%dT%H:%M:%SZ")
                   : g_strdup ("1970-01-01T00:00:00Z");
}

/* @text as XML character data: valid UTF-8, at most SFB_CALENDAR_MAX_TEXT
 * bytes, without the characters XML 1.0 cannot carry (the server would
 * refuse the whole publication). */
static char *
escape (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  g_autoptr (GString) clean = g_string_new (NULL);

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gsize size = (gsize) (g_utf8_next_char (p) - p);

      if (clean->len + size > SFB_CALENDAR_MAX_TEXT)
        break;
      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f || (c >= 0xfdd0 && c <= 0xfdef)
          || (c & 0xfffe) == 0xfffe)
        g_string_append_c (clean, ' ');
      else
        g_string_append_len (clean, p, (gssize) size);
    }
  return g_markup_escape_text (clean->str, (gssize) clean->len);
}

char *
sfb_presence_calendar_state_xml (const SfbCalendarPresence *cal)
{
  g_autofree char *uri = escape (cal->email);
  g_autofree char *start = utc_time (cal->state_start);
  g_autofree char *subject = escape (cal->subject);
  g_autofree char *location = escape (cal->location);
  const char *inner;

  switch (cal->state)
    {
    case SFB_CALENDAR_MEETING:
      inner = "<availability>6500</availability><activity token=\"in-a-meeting\" "
              "minAvailability=\"6500\" maxAvailability=\"8999\"></activity>";
      break;
    case SFB_CALENDAR_BUSY:
      inner = "<availability>6500</availability>";
      break;
    case SFB_CALENDAR_OOF:
      /* no availability of its own: it marks whatever the user is */
      inner = "<activity token=\"out-of-office\" minAvailability=\"12000\"></activity>";
      break;
    case SFB_CALENDAR_FREE:
    default:
      return NULL;
    }
  return g_strdup_printf ("<state xmlns=\"http://schemas.microsoft.com/2006/09/sip/state\" "
                          "manual=\"false\" uri=\"%s\" startTime=\"%s\" "
                          "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                          "xsi:type=\"calendarState\">%s<endpointLocation/>"
                          "<meetingSubject>%s</meetingSubject>"
                          "<meetingLocation>%s</meetingLocation></state>",
                          uri,
                          start,
                          inner,
                          subject,
                          location);
}

/* The element @xml holds, re-serialised in its exclusive canonical form
 * (never the caller's bytes: a declaration or a second element would
 * break the publication), or NULL. */
static char *
reserialise (const char *xml)
{
  g_autoptr (SfbXmlDoc) doc = NULL;

  if (xml == NULL || *xml == '\0')
    return NULL;
  doc = sfb_svc_xml_parse (xml, strlen (xml), "working hours", NULL);
  return doc != NULL ? sfb_xml_canonicalize (sfb_xml_doc_root (doc)) : NULL;
}

char *
sfb_presence_working_hours_xml (const char *email, const char *working_hours)
{
  g_autofree char *mailbox = escape (email);
  g_autofree char *element = reserialise (working_hours);

  if (element == NULL)
    return NULL;
  return g_strdup_printf ("<calendarData xmlns=\"" NS_CALENDAR_DATA
                          "\" mailboxID=\"%s\">%s</calendarData>",
                          mailbox,
                          element);
}

char *
sfb_presence_free_busy_xml (const char *email,
                            gint64 start,
                            guint interval_minutes,
                            const char *digits)
{
  g_autofree char *mailbox = escape (email);
  g_autofree char *when = utc_time (start);
  g_autofree char *value = sfb_presence_free_busy_base64 (digits);

  if (value == NULL || interval_minutes == 0 || interval_minutes > 24 * 60)
    return NULL;
  return g_strdup_printf ("<calendarData xmlns=\"" NS_CALENDAR_DATA "\" mailboxID=\"%s\">"
                          "<freeBusy startTime=\"%s\" granularity=\"PT%uM\" "
                          "encodingVersion=\"1\">%s</freeBusy></calendarData>",
                          mailbox,
                          when,
                          interval_minutes,
                          value);
}

char *
sfb_presence_calendar_data_empty_xml (void)
{
  return g_strdup ("<calendarData xmlns=\"" NS_CALENDAR_DATA "\"/>");
}

char *
sfb_presence_oof_note_xml (const char *text, gint64 start, gint64 end)
{
  g_autofree char *body = escape (text);
  g_autofree char *times = NULL;

  if (start != 0 && end != 0)
    {
      g_autofree char *from = utc_time (start);
      g_autofree char *to = utc_time (end);

      times = g_strdup_printf (" startTime=\"%s\" endTime=\"%s\"", from, to);
    }
  return g_strdup_printf ("<note xmlns=\"http://schemas.microsoft.com/2006/09/sip/note\">"
                          "<body type=\"OOF\" uri=\"\"%s>%s</body></note>",
                          times != NULL ? times : "",
                          body);
}

/* ---- what changed ---- */

static gboolean
same_state (const SfbCalendarPresence *a, const SfbCalendarPresence *b)
{
  if (a->state != b->state)
    return FALSE;
  return a->state == SFB_CALENDAR_FREE
         || (a->state_start == b->state_start && g_strcmp0 (a->subject, b->subject) == 0
             && g_strcmp0 (a->location, b->location) == 0);
}

static gboolean
oof_note_on (const SfbCalendarPresence *cal)
{
  return cal->oof && cal->oof_message != NULL && *cal->oof_message != '\0';
}

static gboolean
same_oof_note (const SfbCalendarPresence *a, const SfbCalendarPresence *b)
{
  if (oof_note_on (a) != oof_note_on (b))
    return FALSE;
  return !oof_note_on (a)
         || (g_strcmp0 (a->oof_message, b->oof_message) == 0 && a->oof_start == b->oof_start
             && a->oof_end == b->oof_end);
}

static void
add_state (SfbPublish *publish, GHashTable *versions, const SfbCalendarPresence *now)
{
  guint32 meeting
      = sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_MEETING, FALSE, now->email);
  guint32 oof = sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_OOF, FALSE, now->email);
  g_autofree char *state = sfb_presence_calendar_state_xml (now);
  gboolean is_oof = now->state == SFB_CALENDAR_OOF;

  for (guint container = 2; container <= 3; container++)
    {
      sfb_publish_add_versioned (
          publish, versions, "state", meeting, container, "endpoint", is_oof ? NULL : state);
      sfb_publish_add_versioned (
          publish, versions, "state", oof, container, "endpoint", is_oof ? state : NULL);
    }
}

/* @content in 1, 100, 200, 300, 400 and the empty element in 32000. */
static void
add_calendar_data (SfbPublish *publish,
                   GHashTable *versions,
                   guint32 instance,
                   const char *expire_type,
                   const char *content)
{
  g_autofree char *empty = content != NULL ? sfb_presence_calendar_data_empty_xml () : NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (calendar_data_containers); i++)
    sfb_publish_add_versioned (publish,
                               versions,
                               "calendarData",
                               instance,
                               calendar_data_containers[i],
                               expire_type,
                               content);
  /* @content NULL: removed there too */
  sfb_publish_add_versioned (
      publish, versions, "calendarData", instance, BLOCKED_CONTAINER, expire_type, empty);
}

static void
add_oof_note (SfbPublish *publish, GHashTable *versions, const SfbCalendarPresence *now)
{
  guint32 instance = sfb_presence_calendar_instance (SFB_INSTANCE_OOF_NOTE, FALSE, now->email);
  g_autofree char *note = NULL;

  if (oof_note_on (now))
    note = sfb_presence_oof_note_xml (now->oof_message, now->oof_start, now->oof_end);
  for (gsize i = 0; i < G_N_ELEMENTS (note_containers); i++)
    sfb_publish_add_versioned (
        publish, versions, "note", instance, note_containers[i], "static", note);
}

/* What @before published for its mailbox that must not stay: busy or out
 * of office, and with @free_busy its free/busy (the instances hash the
 * address, so another mailbox's would stand beside the new ones). */
static void
remove_mailbox (SfbPublish *publish,
                GHashTable *versions,
                const SfbCalendarPresence *before,
                gboolean free_busy)
{
  SfbCalendarPresence gone = { .email = before->email, .state = SFB_CALENDAR_FREE };

  if (!same_state (before, &gone))
    add_state (publish, versions, &gone);
  if (!same_oof_note (before, &gone))
    add_oof_note (publish, versions, &gone);
  if (free_busy && before->free_busy != NULL)
    add_calendar_data (publish,
                       versions,
                       sfb_presence_calendar_instance (SFB_INSTANCE_FREE_BUSY, TRUE, before->email),
                       "endpoint",
                       NULL);
}

void
sfb_presence_add_calendar (SfbPublish *publish,
                           GHashTable *versions,
                           const SfbCalendarPresence *before,
                           const SfbCalendarPresence *now)
{
  gboolean had_mailbox = before != NULL && before->email != NULL && *before->email != '\0';

  if (now->email == NULL || *now->email == '\0')
    {
      /* the mailbox is gone (Exchange unreachable or another account):
       * what said busy or out of office must not stay */
      if (had_mailbox)
        remove_mailbox (publish, versions, before, FALSE);
      return;
    }
  /* another mailbox (the user's address changed): the old one's instances
   * go, the new ones are published anew */
  if (before != NULL
      && g_ascii_strcasecmp (before->email != NULL ? before->email : "", now->email) != 0)
    {
      if (had_mailbox)
        remove_mailbox (publish, versions, before, TRUE);
      before = NULL;
    }

  if (before == NULL || !same_state (before, now))
    add_state (publish, versions, now);
  if (now->working_hours != NULL
      && (before == NULL || g_strcmp0 (before->working_hours, now->working_hours) != 0))
    {
      g_autofree char *wh = sfb_presence_working_hours_xml (now->email, now->working_hours);

      if (wh != NULL)
        add_calendar_data (publish, versions, SFB_INSTANCE_WORKING_HOURS, "static", wh);
    }
  /* free/busy every time, so the newest source wins (the publication time) */
  {
    g_autofree char *fb = sfb_presence_free_busy_xml (
        now->email, now->free_busy_start, now->free_busy_interval, now->free_busy);

    if (fb != NULL)
      add_calendar_data (publish,
                         versions,
                         sfb_presence_calendar_instance (SFB_INSTANCE_FREE_BUSY, TRUE, now->email),
                         "endpoint",
                         fb);
  }
  if (before == NULL || !same_oof_note (before, now))
    add_oof_note (publish, versions, now);
}
