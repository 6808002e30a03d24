/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What sfbd publishes from the Exchange calendar
 * (daemon/services/sfb-presence-calendar.c): every publication is parsed
 * back with libxml2 and checked as the server would read it. */
#include "sfb-presence-doc.h"

#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define EMAIL "alice@contoso.test"
#define WORKING_HOURS                                                                              \
  "<WorkingHours xmlns=\"http://schemas.microsoft.com/exchange/services/2006/types\">"             \
  "<TimeZone><Bias>0</Bias></TimeZone><WorkingPeriodArray><WorkingPeriod>"                         \
  "<DayOfWeek>Monday Tuesday</DayOfWeek><StartTimeInMinutes>480</StartTimeInMinutes>"              \
  "<EndTimeInMinutes>1020</EndTimeInMinutes></WorkingPeriod></WorkingPeriodArray></WorkingHours>"

/* 2026-11-30T09:00:00Z and friends, µs */
#define T0 (G_GINT64_CONSTANT (1796029200) * G_USEC_PER_SEC)

typedef struct
{
  char *name;
  guint32 instance;
  guint container;
  guint version;
  char *expire_type;
  gboolean removal;
  xmlNode *content; /* the category element, NULL for a removal */
} Pub;

typedef struct
{
  xmlDoc *doc;
  GArray *pubs; /* Pub */
} Parsed;

static char *
prop (const xmlNode *node, const char *name)
{
  xmlChar *value = xmlGetProp (node, (const xmlChar *) name);
  char *copy = g_strdup ((const char *) value);

  xmlFree (value);
  return copy;
}

static guint64
prop_uint (const xmlNode *node, const char *name)
{
  g_autofree char *value = prop (node, name);
  guint64 out = 0;

  g_assert_nonnull (value);
  g_assert_true (g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT32, &out, NULL));
  return out;
}

static xmlNode *
first_element (xmlNode *node)
{
  for (xmlNode *c = node != NULL ? node->children : NULL; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE)
      return c;
  return NULL;
}

static xmlNode *
child (xmlNode *node, const char *name)
{
  for (xmlNode *c = node != NULL ? node->children : NULL; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && g_str_equal ((const char *) c->name, name))
      return c;
  return NULL;
}

static char *
text (xmlNode *node)
{
  xmlChar *value = xmlNodeGetContent (node);
  char *copy = g_strdup ((const char *) value);

  xmlFree (value);
  return copy;
}

static void
pub_clear (Pub *p)
{
  g_free (p->name);
  g_free (p->expire_type);
}

static void
parsed_free (Parsed *parsed)
{
  g_array_unref (parsed->pubs);
  xmlFreeDoc (parsed->doc);
  g_free (parsed);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Parsed, parsed_free)

static Parsed *
parse (SfbPublish *publish)
{
  g_autoptr (GBytes) bytes = sfb_publish_to_bytes (publish);
  gsize length = 0;
  const char *data = g_bytes_get_data (bytes, &length);
  Parsed *parsed = g_new0 (Parsed, 1);
  xmlNode *root;
  xmlNode *pubs;

  parsed->doc = xmlReadMemory (data, (int) length, "publish.xml", "UTF-8", XML_PARSE_NONET);
  g_assert_nonnull (parsed->doc);
  parsed->pubs = g_array_new (FALSE, TRUE, sizeof (Pub));
  g_array_set_clear_func (parsed->pubs, (GDestroyNotify) pub_clear);
  root = xmlDocGetRootElement (parsed->doc);
  g_assert_cmpstr ((const char *) root->name, ==, "publish");
  pubs = child (root, "publications");
  g_assert_nonnull (pubs);
  for (xmlNode *p = pubs != NULL ? pubs->children : NULL; p != NULL; p = p->next)
    {
      g_autofree char *expires = NULL;
      Pub pub = { 0 };

      if (p->type != XML_ELEMENT_NODE)
        continue;
      g_assert_cmpstr ((const char *) p->name, ==, "publication");
      pub.name = prop (p, "categoryName");
      pub.instance = (guint32) prop_uint (p, "instance");
      pub.container = (guint) prop_uint (p, "container");
      pub.version = (guint) prop_uint (p, "version");
      pub.expire_type = prop (p, "expireType");
      expires = prop (p, "expires");
      pub.removal = g_strcmp0 (expires, "0") == 0;
      pub.content = first_element (p);
      g_assert_true (pub.removal == (pub.content == NULL));
      g_array_append_val (parsed->pubs, pub);
    }
  return parsed;
}

static const Pub *
find (Parsed *parsed, const char *name, guint32 instance, guint container)
{
  for (guint i = 0; i < parsed->pubs->len; i++)
    {
      const Pub *p = &g_array_index (parsed->pubs, Pub, i);

      if (g_str_equal (p->name, name) && p->instance == instance && p->container == container)
        return p;
    }
  return NULL;
}

static guint
count (Parsed *parsed, const char *name)
{
  guint n = 0;

  for (guint i = 0; i < parsed->pubs->len; i++)
    n += g_str_equal (g_array_index (parsed->pubs, Pub, i).name, name);
  return n;
}

static guint32
md5_low (const char *s)
{
  g_autofree char *hex = g_compute_checksum_for_string (G_CHECKSUM_MD5, s, -1);
  guint64 value = 0;

  /* the digest's last 4 bytes */
  g_assert_true (g_ascii_string_to_unsigned (hex + 24, 16, 0, G_MAXUINT32, &value, NULL));
  return (guint32) value;
}

static SfbCalendarPresence *
meeting_now (void)
{
  SfbCalendarPresence cal = {
    .email = (char *) EMAIL,
    .state = SFB_CALENDAR_MEETING,
    .state_start = T0,
    .subject = (char *) "Q&A <planning> \"2027\"",
    .location = (char *) "Room 1 & 2",
    .working_hours = (char *) WORKING_HOURS,
    .free_busy = (char *) "2222000001111333300",
    .free_busy_start = T0 - 9 * G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC,
    .free_busy_interval = 15,
    .oof = TRUE,
    .oof_message = (char *) "Away until Friday & <back> on Monday",
    .oof_start = T0,
    .oof_end = T0 + 4 * G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC,
  };

  return sfb_calendar_presence_copy (&cal);
}

/* ---- encoding ---- */

static void
test_free_busy_encoding (void)
{
  g_autofree char *example = NULL;
  g_autofree char *no_data = NULL;
  g_autofree char *hostile = NULL;
  g_autofree char *one = NULL;
  g_autofree char *long_value = NULL;
  g_autofree char *many = g_strnfill (SFB_CALENDAR_MAX_FREE_BUSY + 100, '2');
  g_autofree guchar *decoded = NULL;
  gsize length = 0;

  /* 4 busy, 5 free, 4 tentative, 4 OOF, 2 free: aa 00 54 fd 03, the first
   * slot in the least significant bits (docs/protocol.md) */
  example = sfb_presence_free_busy_base64 ("2222000001111333300");
  g_assert_cmpstr (example, ==, "qgBU/QM=");
  /* "4" (no data) is free, not a corrupted neighbour */
  no_data = sfb_presence_free_busy_base64 ("2222400001111333304");
  g_assert_cmpstr (no_data, ==, "qgBU/QM=");
  hostile = sfb_presence_free_busy_base64 ("2222x\xff"
                                           "0001111333300");
  g_assert_cmpstr (hostile, ==, "qgBU/QM=");
  one = sfb_presence_free_busy_base64 ("3");
  g_assert_cmpstr (one, ==, "Aw==");
  g_assert_null (sfb_presence_free_busy_base64 (""));
  g_assert_null (sfb_presence_free_busy_base64 (NULL));
  /* bounded */
  long_value = sfb_presence_free_busy_base64 (many);
  decoded = g_base64_decode (long_value, &length);
  g_assert_cmpuint (length, ==, SFB_CALENDAR_MAX_FREE_BUSY / 4);
}

static void
test_instances (void)
{
  guint32 low = md5_low (EMAIL);

  g_assert_cmpuint (sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_MEETING, FALSE, EMAIL),
                    ==,
                    0x40000000u | (low & 0x0fffffffu));
  g_assert_cmpuint (sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_OOF, FALSE, EMAIL),
                    ==,
                    0x50000000u | (low & 0x0fffffffu));
  g_assert_cmpuint (sfb_presence_calendar_instance (SFB_INSTANCE_FREE_BUSY, TRUE, EMAIL),
                    ==,
                    0x40000000u | (low & 0x3fffffffu));
  /* the mailbox, not how it is written */
  g_assert_cmpuint (
      sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_MEETING, FALSE, "Alice@Contoso.TEST"),
      ==,
      sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_MEETING, FALSE, EMAIL));
  g_assert_cmpuint (
      sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_MEETING, FALSE, "bob@contoso.test"),
      !=,
      sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_MEETING, FALSE, EMAIL));
}

/* ---- the publications ---- */

static void
check_state (const Pub *p, const char *availability, const char *activity)
{
  xmlNode *state = p->content;
  g_autofree char *type = NULL;
  g_autofree char *uri = prop (state, "uri");
  g_autofree char *start = prop (state, "startTime");
  g_autofree char *manual = prop (state, "manual");
  g_autofree char *subject = text (child (state, "meetingSubject"));
  g_autofree char *location = text (child (state, "meetingLocation"));
  xmlNode *avail = child (state, "availability");
  xmlNode *act = child (state, "activity");
  xmlChar *raw_type = xmlGetNsProp (state,
                                    (const xmlChar *) "type",
                                    (const xmlChar *) "http://www.w3.org/2001/XMLSchema-instance");

  type = g_strdup ((const char *) raw_type);
  xmlFree (raw_type);
  g_assert_cmpstr ((const char *) state->name, ==, "state");
  g_assert_cmpstr (type, ==, "calendarState");
  g_assert_cmpstr (manual, ==, "false");
  g_assert_cmpstr (p->expire_type, ==, "endpoint");
  g_assert_cmpstr (uri, ==, EMAIL);
  g_assert_cmpstr (start, ==, "2026-11-30T09:00:00Z");
  g_assert_cmpstr (subject, ==, "Q&A <planning> \"2027\"");
  g_assert_cmpstr (location, ==, "Room 1 & 2");
  if (availability == NULL)
    g_assert_null (avail);
  else
    {
      g_autofree char *value = text (avail);

      g_assert_cmpstr (value, ==, availability);
    }
  if (activity == NULL)
    g_assert_null (act);
  else
    {
      g_autofree char *token = prop (act, "token");

      g_assert_cmpstr (token, ==, activity);
    }
}

static void
test_first_publication (void)
{
  g_autoptr (SfbCalendarPresence) now = meeting_now ();
  g_autoptr (SfbPublish) publish = sfb_publish_new ("sip:alice@contoso.test");
  g_autoptr (GHashTable) versions = sfb_pub_versions_new ();
  g_autoptr (Parsed) parsed = NULL;
  guint32 meeting = sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_MEETING, FALSE, EMAIL);
  guint32 oof = sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_OOF, FALSE, EMAIL);
  guint32 fb = sfb_presence_calendar_instance (SFB_INSTANCE_FREE_BUSY, TRUE, EMAIL);
  guint32 note = sfb_presence_calendar_instance (SFB_INSTANCE_OOF_NOTE, FALSE, EMAIL);
  static const guint data_containers[] = { 1, 100, 200, 300, 400 };

  sfb_pub_versions_set (versions, "calendarData", 0, 300, 7);
  sfb_presence_add_calendar (publish, versions, NULL, now);
  parsed = parse (publish);

  /* calendarState in the aggregation containers; no OOF instance to clear */
  for (guint c = 2; c <= 3; c++)
    {
      const Pub *p = find (parsed, "state", meeting, c);

      g_assert_nonnull (p);
      g_assert_cmpuint (p->version, ==, 0);
      check_state (p, "6500", "in-a-meeting");
      g_assert_null (find (parsed, "state", oof, c));
    }
  g_assert_cmpuint (count (parsed, "state"), ==, 2);

  /* working hours (instance 0, static) and free/busy (endpoint) */
  for (gsize i = 0; i < G_N_ELEMENTS (data_containers); i++)
    {
      const Pub *wh = find (parsed, "calendarData", 0, data_containers[i]);
      const Pub *fbp = find (parsed, "calendarData", fb, data_containers[i]);
      g_autofree char *mailbox = NULL;
      g_autofree char *start = NULL;
      g_autofree char *granularity = NULL;
      g_autofree char *value = NULL;
      xmlNode *hours;
      xmlNode *free_busy;

      g_assert_nonnull (wh);
      g_assert_cmpstr (wh->expire_type, ==, "static");
      g_assert_cmpuint (wh->version, ==, data_containers[i] == 300 ? 7 : 0);
      mailbox = prop (wh->content, "mailboxID");
      g_assert_cmpstr (mailbox, ==, EMAIL);
      hours = child (wh->content, "WorkingHours");
      g_assert_nonnull (hours);
      g_assert_cmpstr (hours != NULL && hours->ns != NULL ? (const char *) hours->ns->href : NULL,
                       ==,
                       "http://schemas.microsoft.com/exchange/services/2006/types");
      g_assert_null (child (wh->content, "freeBusy")); /* either, never both */

      g_assert_nonnull (fbp);
      g_assert_cmpstr (fbp->expire_type, ==, "endpoint");
      free_busy = child (fbp->content, "freeBusy");
      g_assert_nonnull (free_busy);
      g_assert_null (child (fbp->content, "WorkingHours"));
      start = prop (free_busy, "startTime");
      granularity = prop (free_busy, "granularity");
      value = text (free_busy);
      g_assert_cmpstr (start, ==, "2026-11-30T00:00:00Z");
      g_assert_cmpstr (granularity, ==, "PT15M");
      g_assert_cmpstr (value, ==, "qgBU/QM=");
    }
  /* Blocked: the empty element */
  for (guint32 instance = 0; instance != G_MAXUINT32; instance = instance == 0 ? fb : G_MAXUINT32)
    {
      const Pub *blocked = find (parsed, "calendarData", instance, 32000);

      g_assert_nonnull (blocked);
      g_assert_cmpstr ((const char *) blocked->content->name, ==, "calendarData");
      g_assert_null (first_element (blocked->content));
      g_assert_null (xmlGetProp (blocked->content, (const xmlChar *) "mailboxID"));
    }
  g_assert_cmpuint (count (parsed, "calendarData"), ==, 12);

  /* the OOF note, scheduled, beside (not instead of) the personal one */
  for (guint c = 200; c <= 400; c += 100)
    {
      const Pub *p = find (parsed, "note", note, c);
      xmlNode *body;
      g_autofree char *type = NULL;
      g_autofree char *start = NULL;
      g_autofree char *end = NULL;
      g_autofree char *value = NULL;

      g_assert_nonnull (p);
      g_assert_cmpstr (p->expire_type, ==, "static");
      body = child (p->content, "body");
      type = prop (body, "type");
      start = prop (body, "startTime");
      end = prop (body, "endTime");
      value = text (body);
      g_assert_cmpstr (type, ==, "OOF");
      g_assert_cmpstr (start, ==, "2026-11-30T09:00:00Z");
      g_assert_cmpstr (end, ==, "2026-12-04T09:00:00Z");
      g_assert_cmpstr (value, ==, "Away until Friday & <back> on Monday");
      g_assert_null (find (parsed, "note", SFB_INSTANCE_NOTE, c));
    }
  g_assert_cmpuint (count (parsed, "note"), ==, 3);
}

/* What the server has after @publish was accepted. */
static void
accept (GHashTable *versions, SfbPublish *publish)
{
  sfb_pub_versions_published (versions, publish);
}

static void
test_changes (void)
{
  g_autoptr (SfbCalendarPresence) before = meeting_now ();
  g_autoptr (SfbCalendarPresence) now = NULL;
  g_autoptr (GHashTable) versions = sfb_pub_versions_new ();
  guint32 meeting = sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_MEETING, FALSE, EMAIL);
  guint32 oof = sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_OOF, FALSE, EMAIL);
  guint32 fb = sfb_presence_calendar_instance (SFB_INSTANCE_FREE_BUSY, TRUE, EMAIL);
  guint32 note = sfb_presence_calendar_instance (SFB_INSTANCE_OOF_NOTE, FALSE, EMAIL);

  {
    g_autoptr (SfbPublish) first = sfb_publish_new ("sip:alice@contoso.test");

    sfb_presence_add_calendar (first, versions, NULL, before);
    accept (versions, first);
  }

  /* nothing changed: only free/busy again (the newest source wins) */
  {
    g_autoptr (SfbPublish) publish = sfb_publish_new ("sip:alice@contoso.test");
    g_autoptr (Parsed) parsed = NULL;

    now = sfb_calendar_presence_copy (before);
    sfb_presence_add_calendar (publish, versions, before, now);
    parsed = parse (publish);
    g_assert_cmpuint (parsed->pubs->len, ==, 6);
    g_assert_cmpuint (find (parsed, "calendarData", fb, 300)->version, ==, 1);
    accept (versions, publish);
  }

  /* the meeting and OOF end: calendarState and the note cleared
   * (expires="0" at the server's version), working hours not republished */
  {
    g_autoptr (SfbPublish) publish = sfb_publish_new ("sip:alice@contoso.test");
    g_autoptr (Parsed) parsed = NULL;

    now->state = SFB_CALENDAR_FREE;
    now->oof = FALSE;
    sfb_presence_add_calendar (publish, versions, before, now);
    parsed = parse (publish);
    for (guint c = 2; c <= 3; c++)
      {
        const Pub *p = find (parsed, "state", meeting, c);

        g_assert_nonnull (p);
        g_assert_true (p->removal);
        g_assert_cmpuint (p->version, ==, 1);
        g_assert_cmpstr (p->expire_type, ==, "endpoint");
        g_assert_null (find (parsed, "state", oof, c)); /* the server has none */
      }
    for (guint c = 200; c <= 400; c += 100)
      {
        const Pub *p = find (parsed, "note", note, c);

        g_assert_nonnull (p);
        g_assert_true (p->removal);
        g_assert_cmpuint (p->version, ==, 1);
      }
    g_assert_null (find (parsed, "calendarData", 0, 1));
    g_assert_cmpuint (count (parsed, "calendarData"), ==, 6);
    accept (versions, publish);
    g_assert_cmpuint (sfb_pub_versions_get (versions, "state", meeting, 2), ==, 0);
  }
  sfb_calendar_presence_free (before);
  before = g_steal_pointer (&now);

  /* an OOF event: the OOF instance, no availability of its own */
  {
    g_autoptr (SfbPublish) publish = sfb_publish_new ("sip:alice@contoso.test");
    g_autoptr (Parsed) parsed = NULL;

    now = sfb_calendar_presence_copy (before);
    now->state = SFB_CALENDAR_OOF;
    sfb_presence_add_calendar (publish, versions, before, now);
    parsed = parse (publish);
    for (guint c = 2; c <= 3; c++)
      {
        const Pub *p = find (parsed, "state", oof, c);

        g_assert_nonnull (p);
        g_assert_cmpuint (p->version, ==, 0);
        check_state (p, NULL, "out-of-office");
        g_assert_null (find (parsed, "state", meeting, c)); /* cleared already */
      }
    accept (versions, publish);
  }
  sfb_calendar_presence_free (before);
  before = g_steal_pointer (&now);

  /* busy, not a meeting: the meeting instance without activity, OOF cleared */
  {
    g_autoptr (SfbPublish) publish = sfb_publish_new ("sip:alice@contoso.test");
    g_autoptr (Parsed) parsed = NULL;

    now = sfb_calendar_presence_copy (before);
    now->state = SFB_CALENDAR_BUSY;
    sfb_presence_add_calendar (publish, versions, before, now);
    parsed = parse (publish);
    for (guint c = 2; c <= 3; c++)
      {
        check_state (find (parsed, "state", meeting, c), "6500", NULL);
        g_assert_true (find (parsed, "state", oof, c)->removal);
        g_assert_cmpuint (find (parsed, "state", oof, c)->version, ==, 1);
      }
  }
}

static void
test_nothing_without_mailbox (void)
{
  g_autoptr (SfbCalendarPresence) before = meeting_now ();
  g_autoptr (SfbCalendarPresence) now = meeting_now ();
  g_autoptr (GHashTable) versions = sfb_pub_versions_new ();
  guint32 meeting = sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_MEETING, FALSE, EMAIL);
  guint32 note = sfb_presence_calendar_instance (SFB_INSTANCE_OOF_NOTE, FALSE, EMAIL);

  g_clear_pointer (&now->email, g_free);
  {
    g_autoptr (SfbPublish) publish = sfb_publish_new ("sip:alice@contoso.test");

    sfb_presence_add_calendar (publish, versions, NULL, now);
    g_assert_cmpuint (sfb_publish_get_length (publish), ==, 0);
  }
  /* published, then the mailbox is lost: busy and out of office removed */
  {
    g_autoptr (SfbPublish) first = sfb_publish_new ("sip:alice@contoso.test");

    sfb_presence_add_calendar (first, versions, NULL, before);
    sfb_pub_versions_published (versions, first);
  }
  {
    g_autoptr (SfbPublish) publish = sfb_publish_new ("sip:alice@contoso.test");
    g_autoptr (Parsed) parsed = NULL;

    sfb_presence_add_calendar (publish, versions, before, now);
    parsed = parse (publish);
    g_assert_cmpuint (parsed->pubs->len, ==, 5);
    for (guint c = 2; c <= 3; c++)
      g_assert_true (find (parsed, "state", meeting, c)->removal);
    for (guint c = 200; c <= 400; c += 100)
      g_assert_true (find (parsed, "note", note, c)->removal);
  }
}

/* The user's address changes while signed in: the old mailbox's instances
 * are removed beside the new ones, never left standing */
static void
test_another_mailbox (void)
{
  g_autoptr (SfbCalendarPresence) before = meeting_now ();
  g_autoptr (SfbCalendarPresence) now = meeting_now ();
  g_autoptr (GHashTable) versions = sfb_pub_versions_new ();
  g_autoptr (SfbPublish) publish = sfb_publish_new ("sip:alice@contoso.test");
  g_autoptr (Parsed) parsed = NULL;
  const char *other = "alice.smith@contoso.test";
  guint32 old_meeting
      = sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_MEETING, FALSE, EMAIL);
  guint32 old_fb = sfb_presence_calendar_instance (SFB_INSTANCE_FREE_BUSY, TRUE, EMAIL);
  guint32 old_note = sfb_presence_calendar_instance (SFB_INSTANCE_OOF_NOTE, FALSE, EMAIL);
  guint32 new_meeting
      = sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_MEETING, FALSE, other);
  guint32 new_fb = sfb_presence_calendar_instance (SFB_INSTANCE_FREE_BUSY, TRUE, other);

  {
    g_autoptr (SfbPublish) first = sfb_publish_new ("sip:alice@contoso.test");

    sfb_presence_add_calendar (first, versions, NULL, before);
    accept (versions, first);
  }
  g_free (now->email);
  now->email = g_strdup (other);
  sfb_presence_add_calendar (publish, versions, before, now);
  parsed = parse (publish);
  for (guint c = 2; c <= 3; c++)
    {
      g_assert_true (find (parsed, "state", old_meeting, c)->removal);
      g_assert_cmpuint (find (parsed, "state", old_meeting, c)->version, ==, 1);
      g_assert_false (find (parsed, "state", new_meeting, c)->removal);
    }
  for (guint c = 200; c <= 400; c += 100)
    g_assert_true (find (parsed, "note", old_note, c)->removal);
  for (gsize i = 0; i < 6; i++)
    {
      static const guint containers[] = { 1, 100, 200, 300, 400, 32000 };
      const Pub *gone = find (parsed, "calendarData", old_fb, containers[i]);

      g_assert_nonnull (gone);
      g_assert_true (gone->removal);
      g_assert_false (find (parsed, "calendarData", new_fb, containers[i])->removal);
    }
}

static void
test_unusable_parts_left_out (void)
{
  g_autoptr (SfbCalendarPresence) now = meeting_now ();
  g_autoptr (SfbPublish) publish = sfb_publish_new ("sip:alice@contoso.test");
  g_autoptr (GHashTable) versions = sfb_pub_versions_new ();
  g_autoptr (Parsed) parsed = NULL;

  /* working hours that are not one element, no free/busy interval, OOF
   * without a message: none of them published, the rest still is */
  g_free (now->working_hours);
  now->working_hours = g_strdup ("<WorkingHours>unclosed");
  now->free_busy_interval = 0;
  g_free (now->oof_message);
  now->oof_message = g_strdup ("");
  sfb_presence_add_calendar (publish, versions, NULL, now);
  parsed = parse (publish);
  g_assert_cmpuint (count (parsed, "calendarData"), ==, 0);
  g_assert_cmpuint (count (parsed, "note"), ==, 0);
  g_assert_cmpuint (count (parsed, "state"), ==, 2);
}

/* Text XML 1.0 cannot carry and working hours that are more than one
 * element never make the publication unreadable (the server would refuse
 * all of it). */
static void
test_hostile_text (void)
{
  g_autoptr (SfbCalendarPresence) now = meeting_now ();
  g_autoptr (SfbPublish) publish = sfb_publish_new ("sip:alice@contoso.test");
  g_autoptr (GHashTable) versions = sfb_pub_versions_new ();
  g_autoptr (Parsed) parsed = NULL;
  guint32 meeting = sfb_presence_calendar_instance (SFB_INSTANCE_CALENDAR_MEETING, FALSE, EMAIL);
  guint32 note = sfb_presence_calendar_instance (SFB_INSTANCE_OOF_NOTE, FALSE, EMAIL);
  g_autofree char *subject = NULL;
  g_autofree char *body = NULL;
  g_autofree char *hours_ns = NULL;
  xmlNode *hours;

  g_free (now->subject);
  now->subject = g_strdup ("a\x01"
                           "b\x1b"
                           "[31mc\xef\xbf\xbe"
                           "d\xff"
                           "e\tf");
  g_free (now->oof_message);
  now->oof_message = g_strnfill (3 * SFB_CALENDAR_MAX_TEXT, 'x');
  g_free (now->working_hours);
  now->working_hours = g_strdup ("<?xml version=\"1.0\"?><!-- c -->" WORKING_HOURS);
  sfb_presence_add_calendar (publish, versions, NULL, now);
  parsed = parse (publish); /* well-formed */

  subject = text (child (find (parsed, "state", meeting, 2)->content, "meetingSubject"));
  g_assert_cmpstr (subject,
                   ==,
                   "a b [31mc d\xef\xbf\xbd"
                   "e\tf");
  body = text (child (find (parsed, "note", note, 200)->content, "body"));
  g_assert_cmpuint (strlen (body), ==, SFB_CALENDAR_MAX_TEXT);
  hours = child (find (parsed, "calendarData", 0, 200)->content, "WorkingHours");
  g_assert_nonnull (hours);
  hours_ns = g_strdup (hours != NULL && hours->ns != NULL ? (const char *) hours->ns->href : NULL);
  g_assert_cmpstr (hours_ns, ==, "http://schemas.microsoft.com/exchange/services/2006/types");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/presence-calendar/free-busy-encoding", test_free_busy_encoding);
  g_test_add_func ("/presence-calendar/instances", test_instances);
  g_test_add_func ("/presence-calendar/first-publication", test_first_publication);
  g_test_add_func ("/presence-calendar/changes", test_changes);
  g_test_add_func ("/presence-calendar/nothing-without-mailbox", test_nothing_without_mailbox);
  g_test_add_func ("/presence-calendar/another-mailbox", test_another_mailbox);
  g_test_add_func ("/presence-calendar/unusable-parts", test_unusable_parts_left_out);
  g_test_add_func ("/presence-calendar/hostile-text", test_hostile_text);
  return g_test_run ();
}
