/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Presence documents (daemon/services/sfb-presence-doc.c).  Fixtures in
 * tests/data/presence were written by sfbsim's documents.py (the server
 * side of these documents, an independent implementation). */
#include "sfb-presence-doc-private.h"

#include "sfb-error.h"

#include <string.h>

#include <libxml/parser.h>

static char *
fixture (const char *name, gsize *length)
{
  g_autofree char *path = g_build_filename (g_getenv ("SFB_TEST_DATA"), "presence", name, NULL);
  g_autoptr (GError) error = NULL;
  char *data = NULL;

  g_assert_true (g_file_get_contents (path, &data, length, &error));
  g_assert_no_error (error);
  return data;
}

static void
test_availability (void)
{
  static const struct
  {
    guint code;
    const char *activity;
    const char *expected;
  } cases[] = {
    { 3500, NULL, "online" },         { 3000, NULL, "online" },
    { 4500, NULL, "away" },           { 6500, NULL, "busy" },
    { 7500, NULL, "busy" },           { 6900, "urgent-interruptions-only", "busy" },
    { 9500, NULL, "do-not-disturb" }, { 12500, NULL, "be-right-back" },
    { 15500, NULL, "away" },          { 15500, "off-work", "off-work" },
    { 18000, NULL, "offline" },       { 18500, NULL, "offline" },
    { 0, NULL, "offline" },           { 2999, NULL, "offline" },
  };
  guint code = 0;
  const char *activity = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpstr (
        sfb_availability_from_code (cases[i].code, cases[i].activity), ==, cases[i].expected);

  g_assert_true (sfb_availability_to_code ("busy", &code, &activity));
  g_assert_cmpuint (code, ==, 6500);
  g_assert_null (activity);
  g_assert_true (sfb_availability_to_code ("off-work", &code, &activity));
  g_assert_cmpuint (code, ==, 15500);
  g_assert_cmpstr (activity, ==, "off-work");
  g_assert_true (sfb_availability_to_code ("appear-offline", &code, &activity));
  g_assert_cmpuint (code, ==, 18000);
  g_assert_false (sfb_availability_to_code ("offline", &code, &activity));
  g_assert_false (sfb_availability_to_code ("sleeping", &code, &activity));
}

static void
test_categories (void)
{
  gsize length = 0;
  g_autofree char *data = fixture ("categories.xml", &length);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbPresenceInfo) info = sfb_presence_parse_categories (data, length, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (info->uri, ==, "sip:erin@contoso.test");
  g_assert_cmpuint (info->availability, ==, 6500);
  g_assert_cmpstr (info->activity, ==, "in-a-meeting");
  g_assert_cmpstr (info->note, ==, "Back on Monday & in the office <9am>");
  g_assert_cmpstr (info->display_name, ==, "Erin Evans");
  g_assert_cmpstr (info->title, ==, "Director");
  g_assert_cmpstr (info->company, ==, "Contoso");
  g_assert_cmpstr (info->email, ==, "erin@contoso.test");
  g_assert_true (info->has_card);
  g_assert_false (info->automaton);
}

static void
test_categories_bot_and_cleared_note (void)
{
  const char *doc
      = "<categories xmlns=\"http://schemas.microsoft.com/2006/09/sip/categories\" "
        "uri=\"sip:bot@contoso.test\"><category name=\"contactCard\" instance=\"0\" "
        "container=\"200\" version=\"1\"><contactCard "
        "xmlns=\"http://schemas.microsoft.com/2006/09/sip/contactcard\"><automaton>true"
        "</automaton></contactCard></category><category name=\"note\" container=\"200\"/>"
        "</categories>";
  g_autoptr (SfbPresenceInfo) info = sfb_presence_parse_categories (doc, strlen (doc), NULL);

  g_assert_nonnull (info);
  g_assert_true (info->automaton);
  g_assert_cmpstr (info->note, ==, "");
  g_assert_cmpuint (info->availability, ==, 0);
}

static void
test_multipart (void)
{
  gsize length = 0, ctype_length = 0;
  g_autofree char *data = fixture ("notify-multipart.txt", &length);
  g_autofree char *ctype = fixture ("notify-multipart.ctype", &ctype_length);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbPresenceNotify) notify = sfb_presence_notify_parse (ctype, data, length, &error);
  const SfbPresenceInfo *erin, *carol;
  const SfbPresenceResubscribe *bob;

  g_assert_no_error (error);
  g_assert_cmpuint (notify->presences->len, ==, 2);
  erin = notify->presences->pdata[0];
  carol = notify->presences->pdata[1];
  g_assert_cmpstr (erin->uri, ==, "sip:erin@contoso.test");
  g_assert_cmpuint (erin->availability, ==, 6500);
  g_assert_cmpstr (erin->note, ==, "Back on Monday & in the office <9am>");
  g_assert_cmpstr (carol->uri, ==, "sip:carol@contoso.test");
  g_assert_cmpuint (carol->availability, ==, 3500);
  g_assert_null (carol->note);

  g_assert_cmpuint (notify->resubscribe->len, ==, 1);
  bob = notify->resubscribe->pdata[0];
  g_assert_cmpstr (bob->uri, ==, "sip:bob@contoso.test");
  g_assert_cmpstr (bob->pool, ==, "pool2.contoso.test");
}

static void
test_notify_errors (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_null (sfb_presence_notify_parse ("text/plain", "x", 1, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_null (sfb_presence_notify_parse ("multipart/related", "x", 1, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_clear_error (&error);
  /* a broken part does not hide the others */
  {
    const char *body = "--b\r\nContent-Type: application/msrtc-event-categories+xml\r\n\r\n"
                       "<categories uri=\"sip:a@x.test\"><oops></categories>\r\n"
                       "--b\r\nContent-Type: application/msrtc-event-categories+xml\r\n\r\n"
                       "<categories uri=\"sip:b@x.test\"/>\r\n--b--\r\n";
    g_autoptr (SfbPresenceNotify) n
        = sfb_presence_notify_parse ("multipart/related; boundary=b", body, strlen (body), &error);

    g_assert_no_error (error);
    g_assert_cmpuint (n->presences->len, ==, 1);
    g_assert_cmpstr (((SfbPresenceInfo *) n->presences->pdata[0])->uri, ==, "sip:b@x.test");
  }
}

/* A quoted boundary may hold ';' (RFC 2045 §5.1) */
static void
test_multipart_quoted_boundary (void)
{
  const char *body = "--b;1\r\nContent-Type: application/msrtc-event-categories+xml\r\n\r\n"
                     "<categories uri=\"sip:b@x.test\"/>\r\n--b;1--\r\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbPresenceNotify) notify = sfb_presence_notify_parse (
      "multipart/related; boundary=\"b;1\"; type=\"application/rlmi+xml\"",
      body,
      strlen (body),
      &error);

  g_assert_no_error (error);
  g_assert_cmpuint (notify->presences->len, ==, 1);
  g_assert_cmpstr (((SfbPresenceInfo *) notify->presences->pdata[0])->uri, ==, "sip:b@x.test");
}

/* A part's Content-Type is found among its other headers, in any case; its
 * header lines past the 63rd line end (the first line is the rest of the
 * delimiter's) are one line, and a NUL ends them: as when they were split
 * into a vector of strings, which this test passes on too. */
static void
test_multipart_part_headers (void)
{
  static const struct
  {
    guint before; /* header lines before Content-Type */
    const char *name;
    gboolean nul;
    gboolean read;
  } cases[] = {
    { 0, "Content-Type", FALSE, TRUE },   { 2, "content-TYPE", FALSE, TRUE },
    { 61, "Content-Type", FALSE, TRUE },  { 62, "Content-Type", FALSE, FALSE },
    { 70, "Content-Type", FALSE, FALSE }, { 1, "Content-Type", TRUE, FALSE },
    { 1, "Content-Typ", FALSE, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GString *body = g_string_new ("--b\r\n");
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbPresenceNotify) notify = NULL;

      for (guint j = 0; j < cases[i].before; j++)
        {
          g_string_append_printf (body, "X-%u: y", j);
          if (cases[i].nul)
            g_string_append_c (body, '\0');
          g_string_append (body, "\r\n");
        }
      g_string_append_printf (body,
                              "%s: application/msrtc-event-categories+xml\r\nX-after: z\r\n\r\n"
                              "<categories uri=\"sip:b@x.test\"/>\r\n--b--\r\n",
                              cases[i].name);
      notify = sfb_presence_notify_parse (
          "multipart/related; boundary=b", body->str, body->len, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (notify->presences->len, ==, cases[i].read ? 1 : 0);
      g_string_free (body, TRUE);
    }
}

static void
test_roaming_self (void)
{
  gsize length = 0;
  g_autofree char *data = fixture ("roaming-self.xml", &length);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbRoamingSelf) self = sfb_roaming_self_parse (data, length, &error);
  g_autoptr (GHashTable) versions = sfb_pub_versions_new ();
  const SfbSubscriber *sub;

  g_assert_no_error (error);
  g_assert_true (self->has_categories);
  g_assert_cmpuint (self->categories->len, ==, 7);
  /* own presence: the server's aggregate, and the note watchers see */
  g_assert_cmpuint (self->self->availability, ==, 6500);
  g_assert_cmpstr (self->self->note, ==, "Working from home");
  g_assert_cmpstr (self->self->display_name, ==, "Alice Anderson");
  /* the user's manual state, static, whichever endpoint or run set it */
  g_assert_cmpuint (self->user_state, ==, 6500);
  g_assert_null (self->user_activity);
  g_assert_cmpuint (self->user_state_container, ==, 2);
  g_assert_cmpuint (self->user_state_version, ==, 2);

  sfb_pub_versions_set (versions, "note", 0, 200, 9);
  sfb_pub_versions_set (versions, "note", 7, 200, 9);
  sfb_pub_versions_set (versions, "note", 0, 300, 9);
  sfb_pub_versions_apply (versions, self);
  g_assert_cmpuint (sfb_pub_versions_get (versions, "state", SFB_INSTANCE_USER_STATE, 2), ==, 2);
  g_assert_cmpuint (sfb_pub_versions_get (versions, "state", SFB_INSTANCE_USER_STATE, 3), ==, 2);
  g_assert_cmpuint (sfb_pub_versions_get (versions, "state", 0x30000000 | 0x1234, 2), ==, 4);
  g_assert_cmpuint (sfb_pub_versions_get (versions, "note", 0, 400), ==, 1);
  /* <category name="note" container="200"/>: every note instance there is gone */
  g_assert_cmpuint (sfb_pub_versions_get (versions, "note", 0, 200), ==, 0);
  g_assert_cmpuint (sfb_pub_versions_get (versions, "note", 7, 200), ==, 0);
  g_assert_cmpuint (sfb_pub_versions_get (versions, "note", 0, 300), ==, 9);

  g_assert_true (self->has_subscribers);
  g_assert_cmpuint (self->subscribers->len, ==, 1);
  sub = self->subscribers->pdata[0];
  g_assert_cmpstr (sub->user, ==, "bob@contoso.test");
  g_assert_cmpstr (sub->display_name, ==, "Bob Baker");
  g_assert_false (sub->acknowledged);
}

static void
test_roaming_self_partial (void)
{
  const char *doc = "<roamingData xmlns=\"http://schemas.microsoft.com/2006/09/sip/roaming-self\">"
                    "<subscribers/></roamingData>";
  g_autoptr (SfbRoamingSelf) self = sfb_roaming_self_parse (doc, strlen (doc), NULL);
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (self);
  g_assert_false (self->has_categories);
  g_assert_null (self->self);
  g_assert_true (self->has_subscribers);
  g_assert_null (sfb_roaming_self_parse ("<categories/>", 13, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
}

/* Exchange UM's count, as the server turns it into the mwi category */
static void
test_roaming_self_mwi (void)
{
  gsize length = 0;
  g_autofree char *data = fixture ("roaming-self-mwi.xml", &length);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbRoamingSelf) self = sfb_roaming_self_parse (data, length, &error);

  g_assert_no_error (error);
  g_assert_cmpint (self->mwi.state, ==, SFB_MWI_SET);
  g_assert_true (self->mwi.waiting);
  g_assert_cmpuint (self->mwi.unread, ==, 8);
  /* the user's own calendarState is an input of the aggregation, not the
   * user's presence: without an aggregateState the own state is unknown */
  g_assert_cmpuint (self->self->availability, ==, 0);
  g_assert_null (self->self->activity);
  /* no userState in it */
  g_assert_cmpuint (self->user_state, ==, 0);
}

static SfbRoamingSelf *
parse_mwi (const char *category)
{
  g_autofree char *doc
      = g_strdup_printf ("<roamingData xmlns=\"http://schemas.microsoft.com/2006/09/sip/"
                         "roaming-self\"><categories xmlns=\"http://schemas.microsoft.com/"
                         "2006/09/sip/categories\" uri=\"sip:alice@contoso.test\">%s"
                         "</categories></roamingData>",
                         category);
  g_autoptr (GError) error = NULL;
  SfbRoamingSelf *self = sfb_roaming_self_parse (doc, strlen (doc), &error);

  g_assert_no_error (error);
  return self;
}

#define MWI_CATEGORY(container, attrs)                                                             \
  "<category name=\"mwi\" instance=\"0\" container=\"" container "\" version=\"3\" "               \
  "expireType=\"static\"><mwi xmlns=\"http://schemas.microsoft.com/2006/09/sip/mwi\" " attrs       \
  "/></category>"

static void
test_roaming_self_mwi_shapes (void)
{
  static const struct
  {
    const char *category;
    SfbMwiState state;
    gboolean waiting;
    guint unread;
  } cases[] = {
    /* the counts are optional: waiting without one means at least one */
    { MWI_CATEGORY ("1", "messageWaiting=\"true\""), SFB_MWI_SET, TRUE, 1 },
    { MWI_CATEGORY ("1", "messageWaiting=\"false\" readVoiceMailCount=\"4\""),
      SFB_MWI_SET,
      FALSE,
      0 },
    { MWI_CATEGORY ("1", "messageWaiting=\"false\" unreadVoiceMailCount=\"0\""),
      SFB_MWI_SET,
      FALSE,
      0 },
    { MWI_CATEGORY ("1", "messageWaiting=\"true\" unreadVoiceMailCount=\"999999\""),
      SFB_MWI_SET,
      TRUE,
      999999 },
    /* removed by the server */
    { "<category name=\"mwi\" container=\"1\"/>", SFB_MWI_REMOVED, FALSE, 0 },
    /* hostile or broken: the count stays as it was */
    { MWI_CATEGORY ("1", "messageWaiting=\"true\" unreadVoiceMailCount=\"1000000\""),
      SFB_MWI_ABSENT,
      FALSE,
      0 },
    { MWI_CATEGORY ("1", "messageWaiting=\"true\" unreadVoiceMailCount=\"-1\""),
      SFB_MWI_ABSENT,
      FALSE,
      0 },
    { MWI_CATEGORY ("1", "messageWaiting=\"true\" unreadVoiceMailCount=\"18446744073709551617\""),
      SFB_MWI_ABSENT,
      FALSE,
      0 },
    { MWI_CATEGORY ("1", "messageWaiting=\"maybe\""), SFB_MWI_ABSENT, FALSE, 0 },
    { MWI_CATEGORY ("1", "unreadVoiceMailCount=\"3\""), SFB_MWI_ABSENT, FALSE, 0 },
    { "<category name=\"mwi\" instance=\"0\" container=\"1\" version=\"1\"/>",
      SFB_MWI_ABSENT,
      FALSE,
      0 },
    /* only the server's, in the Self container */
    { MWI_CATEGORY ("200", "messageWaiting=\"true\" unreadVoiceMailCount=\"5\""),
      SFB_MWI_ABSENT,
      FALSE,
      0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (SfbRoamingSelf) self = parse_mwi (cases[i].category);

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_cmpint (self->mwi.state, ==, cases[i].state);
      g_assert_cmpint (self->mwi.waiting, ==, cases[i].waiting);
      g_assert_cmpuint (self->mwi.unread, ==, cases[i].unread);
    }
}

#define USER_PROPERTIES(lines)                                                                     \
  "<category name=\"userProperties\" instance=\"0\" container=\"1\" version=\"1\" "                \
  "expireType=\"static\"><userProperties xmlns=\"http://schemas.microsoft.com/2006/09/sip/"        \
  "categories\"><lines>" lines "</lines><telephonyMode>Uc</telephonyMode></userProperties>"        \
  "</category>"

/* The directory's line (userProperties, Self container) and e-mail address
 * (the contact card): what Exchange uses for the user */
static void
test_roaming_self_directory (void)
{
  static const struct
  {
    const char *category;
    gboolean has;
    const char *line;
  } cases[] = {
    { USER_PROPERTIES ("<line lineType=\"Uc\">tel:+14255550100;ext=100</line>"),
      TRUE,
      "tel:+14255550100;ext=100" },
    /* lineServer names the RCC line server, not the line */
    { USER_PROPERTIES ("<line lineType=\"Rcc\" lineServer=\"sip:cs@contoso.test\">"
                       "tel:+14255550101</line>"),
      TRUE,
      "tel:+14255550101" },
    /* the first usable line */
    { USER_PROPERTIES ("<line lineType=\"Uc\">javascript:x</line>"
                       "<line lineType=\"Uc\">tel:+1 425</line>"
                       "<line lineType=\"Dual\"> sip:+14255550102@contoso.test;user=phone </line>"),
      TRUE,
      "sip:+14255550102@contoso.test;user=phone" },
    { USER_PROPERTIES ("<line lineType=\"Uc\">tel:&lt;b&gt;+1&lt;/b&gt;</line>"), TRUE, NULL },
    { USER_PROPERTIES ("<line lineType=\"Uc\">tel:+1\u00e9</line>"), TRUE, NULL },
    { USER_PROPERTIES (""), TRUE, NULL },
    /* removed by the server: no line any more */
    { "<category name=\"userProperties\" container=\"1\"/>", TRUE, NULL },
    /* not the Self container's */
    { "<category name=\"userProperties\" instance=\"0\" container=\"2\" version=\"1\" "
      "expireType=\"static\"><userProperties><lines><line>tel:+1</line></lines>"
      "</userProperties></category>",
      FALSE,
      NULL },
  };
  const char *card = "<category name=\"contactCard\" instance=\"0\" container=\"0\" "
                     "version=\"1\" expireType=\"static\"><contactCard "
                     "xmlns=\"http://schemas.microsoft.com/2006/09/sip/contactcard\"><identity>"
                     "<name><displayName>Alice</displayName></name>"
                     "<email>alice.smith@contoso.test</email></identity></contactCard></category>";

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (SfbRoamingSelf) self = parse_mwi (cases[i].category);

      g_assert_cmpint (self->has_user_properties, ==, cases[i].has);
      g_assert_cmpstr (self->line_uri, ==, cases[i].line);
      g_assert_false (self->self->has_card);
    }
  {
    g_autoptr (SfbRoamingSelf) self = parse_mwi (card);

    g_assert_true (self->self->has_card);
    g_assert_cmpstr (self->self->email, ==, "alice.smith@contoso.test");
    g_assert_false (self->has_user_properties);
  }
}

static void
test_publish (void)
{
  g_autoptr (SfbPublish) publish = sfb_publish_new ("sip:alice@contoso.test");
  g_autofree char *state = sfb_presence_state_xml ("userState", TRUE, 3500, NULL);
  g_autofree char *note = sfb_presence_note_xml ("a <b> & \"c\"");
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *text = NULL;
  xmlDoc *doc;
  guint32 instance = 0;
  guint container = 0;

  sfb_publish_add (publish, "state", SFB_INSTANCE_USER_STATE, 2, 3, "static", state);
  sfb_publish_add (publish, "note", 0, 200, 1, "static", note);
  sfb_publish_add (publish, "note", 0, 300, 1, "static", NULL);
  g_assert_cmpuint (sfb_publish_get_length (publish), ==, 3);
  g_assert_cmpstr (sfb_publish_get_key (publish, 2, &instance, &container), ==, "note");
  g_assert_cmpuint (container, ==, 200);
  g_assert_null (sfb_publish_get_key (publish, 0, &instance, &container));
  /* accepted: the server has version + 1, and no more of what was removed */
  {
    g_autoptr (GHashTable) versions = sfb_pub_versions_new ();

    sfb_pub_versions_set (versions, "note", 0, 300, 1);
    sfb_pub_versions_published (versions, publish);
    g_assert_cmpuint (sfb_pub_versions_get (versions, "state", SFB_INSTANCE_USER_STATE, 2), ==, 4);
    g_assert_cmpuint (sfb_pub_versions_get (versions, "note", 0, 200), ==, 2);
    g_assert_cmpuint (sfb_pub_versions_get (versions, "note", 0, 300), ==, 0);
  }
  g_assert_null (sfb_publish_get_key (publish, 4, &instance, &container));

  bytes = sfb_publish_to_bytes (publish);
  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_assert_nonnull (strstr (text, "<publications uri=\"sip:alice@contoso.test\">"));
  g_assert_nonnull (strstr (text,
                            "categoryName=\"state\" instance=\"536870912\" container=\"2\" "
                            "version=\"3\" expireType=\"static\""));
  g_assert_nonnull (strstr (text, "xsi:type=\"userState\""));
  g_assert_nonnull (strstr (text, "<availability>3500</availability>"));
  g_assert_nonnull (strstr (text, "a &lt;b&gt; &amp; &quot;c&quot;"));
  g_assert_nonnull (strstr (text,
                            "container=\"300\" version=\"1\" expireType=\"static\" "
                            "expires=\"0\"/>"));
  /* well-formed */
  doc = xmlReadMemory (text, (int) strlen (text), "p.xml", "UTF-8", XML_PARSE_NONET);
  g_assert_nonnull (doc);
  xmlFreeDoc (doc);
}

static void
test_instances (void)
{
  /* p = first 32 bits of the epid as hex (docs/protocol.md §11.4) */
  g_assert_cmpuint (sfb_presence_device_instance ("01010101ab"), ==, 0x01010101);
  g_assert_cmpuint (sfb_presence_machine_state_instance ("01010101ab"), ==, 0x30101010);
  g_assert_cmpuint (sfb_presence_device_instance ("ffffffff00"), ==, 0xffffffffu);
  g_assert_cmpuint (sfb_presence_machine_state_instance ("ffffffff00"), ==, 0x3fffffffu);
}

static void
test_fault (void)
{
  gsize length = 0;
  g_autofree char *data = fixture ("fault.xml", &length);
  g_autofree char *code = NULL;
  g_autoptr (GArray) ops = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (sfb_presence_parse_fault (data, length, &code, &ops, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (code, ==, "Client.BadCall.WrongDelta");
  g_assert_cmpuint (ops->len, ==, 2);
  g_assert_cmpuint (g_array_index (ops, SfbFaultOperation, 0).index, ==, 1);
  g_assert_cmpuint (g_array_index (ops, SfbFaultOperation, 0).cur_version, ==, 4);
  g_assert_cmpuint (g_array_index (ops, SfbFaultOperation, 1).index, ==, 3);
  g_assert_cmpuint (g_array_index (ops, SfbFaultOperation, 1).cur_version, ==, 7);
}

static void
test_batch_subscribe (void)
{
  const char *uris[] = { "sip:bob@contoso.test", "sip:o'neil&co@contoso.test", NULL };
  g_autoptr (GBytes) body = sfb_presence_batch_subscribe_body ("sip:alice@contoso.test", 77, uris);
  g_autofree char *text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));

  g_assert_nonnull (strstr (text,
                            "<batchSub xmlns=\"http://schemas.microsoft.com/2006/01/sip/"
                            "batch-subscribe\" uri=\"sip:alice@contoso.test\""));
  g_assert_nonnull (strstr (text, "<action name=\"subscribe\" id=\"77\"><adhocList>"));
  g_assert_nonnull (strstr (text, "<resource uri=\"sip:bob@contoso.test\"/>"));
  g_assert_nonnull (strstr (text, "o&apos;neil&amp;co"));
  g_assert_nonnull (strstr (text, "<category name=\"state\"/>"));
  g_assert_true (g_str_has_suffix (text, "</batchSub>"));
}

/* Built again for each SUBSCRIBE of a dialog (not kept): the same bytes
 * for the same contacts and action id */
static void
test_batch_subscribe_same_again (void)
{
  g_autoptr (GPtrArray) uris = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GBytes) again = NULL;
  gsize size = 0;
  const char *data;

  for (guint i = 0; i < 1000; i++)
    g_ptr_array_add (uris, g_strdup_printf ("sip:bench%04u@contoso.test", i));
  g_ptr_array_add (uris, NULL);
  body = sfb_presence_batch_subscribe_body (
      "sip:alice@contoso.test", 12345, (const char *const *) uris->pdata);
  again = sfb_presence_batch_subscribe_body (
      "sip:alice@contoso.test", 12345, (const char *const *) uris->pdata);
  data = g_bytes_get_data (body, &size);
  g_assert_cmpuint (strlen (data), ==, size);
  g_assert_nonnull (strstr (data, "<resource uri=\"sip:bench0999@contoso.test\"/></adhocList>"));
  g_assert_true (g_bytes_equal (body, again));
}

/* The endpoint takes IM (text) and nothing it cannot render or answer. */
static void
test_device_capabilities (void)
{
  g_autofree char *xml = sfb_presence_device_xml (
      "sip:alice@contoso.test", "0c8a2c4f-1b7e-5e1f-9a3d-7b1f2e3d4c5b", "host01", "01:00:00+01:00");

  g_assert_nonnull (strstr (xml, "<text capture=\"true\" render=\"true\" publish=\"false\"/>"));
  g_assert_nonnull (strstr (xml, "<gifInk capture=\"false\" render=\"false\""));
  g_assert_nonnull (strstr (xml, "<isfInk capture=\"false\" render=\"false\""));
  g_assert_null (strstr (xml, "<voice"));
  g_assert_null (strstr (xml, "<video"));
  g_assert_null (strstr (xml, "<applicationSharing"));
}

/* The a{sv} as GVariant builds it from values (what the daemon built before). */
static GVariant *
info_built (const SfbPresenceInfo *info)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (
      &b,
      "{sv}",
      "Availability",
      g_variant_new_string (sfb_availability_from_code (info->availability, info->activity)));
  g_variant_builder_add (&b, "{sv}", "AvailabilityCode", g_variant_new_uint32 (info->availability));
  g_variant_builder_add (
      &b, "{sv}", "Activity", g_variant_new_string (info->activity != NULL ? info->activity : ""));
  g_variant_builder_add (
      &b, "{sv}", "Note", g_variant_new_string (info->note != NULL ? info->note : ""));
  return g_variant_builder_end (&b);
}

/* sfb_presence_info_dup_variant() builds from shared entries: the same
 * value and bytes as GVariantBuilder, for every size of framing offset (1,
 * 2 and 4 bytes), when an entry is shared and when it is not. */
static void
test_info_variant (void)
{
  static const gsize lengths[]
      = { 0, 1, 7, 8, 9, 10, 150, 180, 200, 230, 255, 300, 65400, 65500, 70000 };
  static const guint codes[] = { 0, 3500, 6500, 15500, 18500, G_MAXUINT32 };

  for (gsize i = 0; i < G_N_ELEMENTS (lengths); i++)
    for (gsize j = 0; j < G_N_ELEMENTS (lengths); j += 3)
      {
        g_autofree char *note = g_strnfill (lengths[i], 'n');
        g_autofree char *activity = g_strnfill (lengths[j], 'a');
        SfbPresenceInfo info = { 0 };
        g_autoptr (GVariant) fast = NULL;
        g_autoptr (GVariant) built = NULL;

        info.availability = codes[(i + j) % G_N_ELEMENTS (codes)];
        info.note = i % 2 == 0 || lengths[i] > 0 ? note : NULL;
        info.activity = j % 2 == 0 || lengths[j] > 0 ? activity : NULL;
        if (lengths[i] == 10)
          memcpy (note, "caf\xc3\xa9 \xf0\x9f\x98\x80", 10);
        fast = sfb_presence_info_dup_variant (&info);
        built = g_variant_ref_sink (info_built (&info));
        g_assert_cmpstr (g_variant_get_type_string (fast), ==, "a{sv}");
        g_assert_cmpuint (g_variant_get_size (fast), ==, g_variant_get_size (built));
        g_assert_cmpmem (g_variant_get_data (fast),
                         g_variant_get_size (fast),
                         g_variant_get_data (built),
                         g_variant_get_size (built));
        g_assert_true (g_variant_equal (fast, built));
      }
}

/* More distinct values than are shared (and the same ones again): each
 * contact's value is still its own. */
static void
test_info_variant_many (void)
{
  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < 200; i++)
      {
        g_autofree char *activity = g_strdup_printf ("activity-%u", i);
        g_autofree char *note = g_strdup_printf ("note %u", i);
        SfbPresenceInfo info = { 0 };
        g_autoptr (GVariant) fast = NULL;
        g_autoptr (GVariant) built = NULL;

        info.availability = 3000 + i * 97;
        info.activity = i % 3 == 0 ? NULL : activity;
        info.note = i % 2 == 0 ? NULL : note;
        fast = sfb_presence_info_dup_variant (&info);
        built = g_variant_ref_sink (info_built (&info));
        g_assert_true (g_variant_equal (fast, built));
        g_assert_cmpmem (g_variant_get_data (fast),
                         g_variant_get_size (fast),
                         g_variant_get_data (built),
                         g_variant_get_size (built));
      }
}

/* Presences without a note are shared by code and activity: each value
 * is still the one its own code, activity and note make (an activity or
 * a note changes the value even where the code does not), and two
 * contacts that show the same share one. */
static void
test_info_variant_shared (void)
{
  static const guint codes[] = { 0, 3500, 6500, 15500, 18500 };
  static const char *const activities[] = { NULL, "", "in-a-meeting", "off-work" };
  static const char *const notes[] = { NULL, "", "back at 3" };

  for (guint round = 0; round < 2; round++)
    for (gsize i = 0; i < G_N_ELEMENTS (codes); i++)
      for (gsize j = 0; j < G_N_ELEMENTS (activities); j++)
        for (gsize k = 0; k < G_N_ELEMENTS (notes); k++)
          {
            /* copies: no sharing by pointer */
            g_autofree char *activity = g_strdup (activities[j]);
            g_autofree char *note = g_strdup (notes[k]);
            SfbPresenceInfo info = { 0 };
            g_autoptr (GVariant) value = NULL;
            g_autoptr (GVariant) again = NULL;
            g_autoptr (GVariant) built = NULL;

            info.availability = codes[i];
            info.activity = activity;
            info.note = note;
            value = sfb_presence_info_dup_variant (&info);
            again = sfb_presence_info_dup_variant (&info);
            built = g_variant_ref_sink (info_built (&info));
            g_assert_false (g_variant_is_floating (value));
            g_assert_true (g_variant_equal (value, built));
            g_assert_true (g_variant_equal (again, built));
            if (note == NULL || *note == '\0')
              g_assert_true (value == again);
          }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/presence/availability", test_availability);
  g_test_add_func ("/presence/info-variant-shared", test_info_variant_shared);
  g_test_add_func ("/presence/categories", test_categories);
  g_test_add_func ("/presence/categories-bot", test_categories_bot_and_cleared_note);
  g_test_add_func ("/presence/multipart", test_multipart);
  g_test_add_func ("/presence/multipart-quoted-boundary", test_multipart_quoted_boundary);
  g_test_add_func ("/presence/multipart-part-headers", test_multipart_part_headers);
  g_test_add_func ("/presence/notify-errors", test_notify_errors);
  g_test_add_func ("/presence/roaming-self", test_roaming_self);
  g_test_add_func ("/presence/roaming-self-partial", test_roaming_self_partial);
  g_test_add_func ("/presence/roaming-self-mwi", test_roaming_self_mwi);
  g_test_add_func ("/presence/roaming-self-mwi-shapes", test_roaming_self_mwi_shapes);
  g_test_add_func ("/presence/roaming-self-directory", test_roaming_self_directory);
  g_test_add_func ("/presence/publish", test_publish);
  g_test_add_func ("/presence/instances", test_instances);
  g_test_add_func ("/presence/device-capabilities", test_device_capabilities);
  g_test_add_func ("/presence/fault", test_fault);
  g_test_add_func ("/presence/batch-subscribe", test_batch_subscribe);
  g_test_add_func ("/presence/batch-subscribe-same-again", test_batch_subscribe_same_again);
  g_test_add_func ("/presence/info-variant", test_info_variant);
  g_test_add_func ("/presence/info-variant-many", test_info_variant_many);
  return g_test_run ();
}
