/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The presence documents read without a tree (sfb_presence_parse_categories,
 * sfb_presence_notify_parse) against the parsers that read a tree
 * (tests/oracle/sfb-presence-tree.h): the same results and the same
 * errors on documents chosen for where they could part (namespaces,
 * references, nesting, limits), and the results pinned on some.  Each
 * document is read by our own reader (sfb_xml_read_fast()) alone, by
 * expat alone and by both as the daemon reads it (ours, else expat):
 * whatever ours accepts, the tree reader accepts with the same result, and
 * the callbacks saw what expat shows them; expat and libxml2 agree
 * (tests/oracle/sfb-xml-events.h).  Ours gives up on every malformed
 * document and on each construct it does not read. */
#include "sfb-presence-tree.h"
#include "sfb-xml-events.h"

#include "sfb-error.h"

#include <string.h>

#define NS "xmlns=\"http://schemas.microsoft.com/2006/09/sip/categories\" "
#define XSI "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "

static void
assert_same_info (const SfbPresenceInfo *a, const SfbPresenceInfo *b)
{
  g_assert_cmpstr (a->uri, ==, b->uri);
  g_assert_cmpuint (a->availability, ==, b->availability);
  g_assert_cmpstr (a->activity, ==, b->activity);
  g_assert_cmpstr (a->note, ==, b->note);
  g_assert_cmpstr (a->display_name, ==, b->display_name);
  g_assert_cmpstr (a->title, ==, b->title);
  g_assert_cmpstr (a->company, ==, b->company);
  g_assert_cmpstr (a->email, ==, b->email);
  g_assert_cmpint (a->automaton, ==, b->automaton);
  g_assert_cmpint (a->has_card, ==, b->has_card);
}

/* expat and libxml2 agree; whatever sfb_xml_read_fast() accepts, expat
 * accepts, and the callbacks see the same; TRUE when it accepted. */
static gboolean
fast_events_same (const char *doc, gsize length)
{
  SfbXmlEventsMatch match = sfb_xml_events_compare (doc, length, &sfb_xml_events_svc_limits);

  g_assert_cmpint (match, !=, SFB_XML_EVENTS_DIFFERENT);
  return match == SFB_XML_EVENTS_SAME;
}

static void
assert_same_result (const SfbPresenceInfo *info,
                    const GError *error,
                    const SfbPresenceInfo *tree,
                    const GError *tree_error)
{
  g_assert_true ((info == NULL) == (tree == NULL));
  if (info == NULL)
    {
      g_assert_nonnull (error);
      g_assert_nonnull (tree_error);
      g_assert_cmpstr (error->message, ==, tree_error->message);
    }
  else
    assert_same_info (info, tree);
}

/* Whether sfb_xml_read_fast() accepted the last document categories_both()
 * read. */
static gboolean fast_accepted;

/* Parses @doc every way; returns the daemon's result (NULL on error). */
static SfbPresenceInfo *
categories_both (const char *doc, gsize length)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) tree_error = NULL;
  g_autoptr (GError) fast_error = NULL;
  g_autoptr (GError) expat_error = NULL;
  SfbPresenceInfo *info = sfb_presence_parse_categories (doc, length, &error);
  g_autoptr (SfbPresenceInfo) tree = sfb_presence_parse_categories_tree (doc, length, &tree_error);
  g_autoptr (SfbPresenceInfo) fast
      = sfb_presence_parse_categories_with (SFB_PRESENCE_READ_FAST, doc, length, &fast_error);
  g_autoptr (SfbPresenceInfo) expat
      = sfb_presence_parse_categories_with (SFB_PRESENCE_READ_EXPAT, doc, length, &expat_error);

  assert_same_result (info, error, tree, tree_error);
  assert_same_result (expat, expat_error, tree, tree_error);
  /* given up: no result and no error */
  fast_accepted = fast != NULL || fast_error != NULL;
  g_assert_cmpint (fast_events_same (doc, length), ==, fast_accepted);
  if (fast_accepted)
    assert_same_result (fast, fast_error, tree, tree_error);
  return info;
}

static const char *const categories_docs[] = {
  /* whitespace, references, CDATA, comments, nested text */
  "<categories " NS XSI "uri=\" sip:Bob@contoso.test \">"
  "<category name=\"state\"><state xsi:type=\"aggregateState\">"
  "<availability> 35<!-- c --><b>0</b>0 </availability>"
  "<activity token=\"in-a-meeting &amp; &#38;&#x26; &lt;x&gt;\"/></state></category>"
  "<category name=\"note\"><note><body type=\"OOF\">away</body>"
  "<body type=\"personal\"><![CDATA[<on> a &amp; b]]> &amp;\tc&#10;d</body>"
  "<body type=\"personal\">second</body></note></category>"
  "<category name=\"contactCard\"><contactCard><identity><name>"
  "<displayName>Bob &#x1F600;</displayName></name><email> bob@contoso.test </email></identity>"
  "<identity><email>other@contoso.test</email></identity>"
  "<title>Eng</title><title>Second</title><company/><automaton> TRUE </automaton>"
  "</contactCard></category></categories>",
  /* undeclared prefixes: not namespace-well-formed, refused */
  "<categories " NS "uri=\"sip:bob@contoso.test\">"
  "<category name=\"state\"><p:state p:type=\"userState\"><availability>6500</availability>"
  "</p:state></category>"
  "<category name=\"state\"><state q:type=\"aggregateState\" type=\"machineState\">"
  "<availability>3500</availability><q:activity token=\"x\"/></state></category>"
  "</categories>",
  /* xsi:type through another prefix; an unprefixed type of another namespace */
  "<categories " NS "xmlns:s=\"http://www.w3.org/2001/XMLSchema-instance\" "
  "xmlns:o=\"urn:other\" uri=\"sip:bob@contoso.test\">"
  "<category name=\"state\"><state o:type=\"aggregateState\" s:type=\"userState\">"
  "<availability>9500</availability></state></category>"
  "<category name=\"state\"><state o:type=\"aggregateState\">"
  "<availability>12500</availability><activity/></state></category></categories>",
  /* the first child decides; the first of each name only */
  "<categories " NS "uri=\"sip:bob@contoso.test\">"
  "<category name=\"state\"><other/><state><availability>6500</availability></state></category>"
  "<category name=\"note\" instance=\"0\"/>"
  "<category name=\"note\"/>"
  "<category name=\"state\"><state type=\"userState\"><availability>x</availability>"
  "<availability>3500</availability></state></category>"
  "<category name=\"contactCard\"><contactCard><identity><name/><name>"
  "<displayName>late</displayName></name></identity></contactCard></category>"
  "<category><state><availability>3500</availability></state></category>"
  "<category name=\"note\"><state/></category>"
  "<category name=\"state\"><state><availability>100000</availability></state></category>"
  "</categories>",
  /* a cleared note after a set one, and one before */
  "<categories " NS "uri=\"sip:bob@contoso.test\">"
  "<category name=\"note\"/><category name=\"note\"><note><body>hi</body></note></category>"
  "<category name=\"note\"/></categories>",
  "<categories " NS "uri=\"sip:bob@contoso.test\"><category name=\"note\"><note/></category>"
  "</categories>",
  /* "&" in a namespace name (libxml2 kept it as "&#38;") */
  "<categories " NS "xmlns:x=\"urn:a&amp;b\" uri=\"sip:bob@contoso.test\">"
  "<category name=\"state\"><state x:type=\"userState\"/></category></categories>",
  /* errors */
  "<categories " NS "><category name=\"note\"/></categories>",
  "<list " NS "uri=\"sip:bob@contoso.test\"/>",
  "<categories " NS "uri=\"sip:bob@contoso.test\"><category>",
  "<categories uri=\"sip:bob@contoso.test\"><a:b/></categories>",
  "<categories uri=\"sip:bob@contoso.test\">&nbsp;</categories>",
  "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><categories uri=\"sip:b@c.test\"/>",
  "<categories uri=\"sip:bob@contoso.test\"/><x/>",
  "",
  "  ",
};

static void
test_categories_same (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (categories_docs); i++)
    {
      g_autoptr (SfbPresenceInfo) info = NULL;

      g_test_message ("document %" G_GSIZE_FORMAT, i);
      info = categories_both (categories_docs[i], strlen (categories_docs[i]));
    }
}

/* What the first two documents give, pinned (the old parser gives it too). */
static void
test_categories_pinned (void)
{
  g_autoptr (SfbPresenceInfo) a = categories_both (categories_docs[0], strlen (categories_docs[0]));
  g_autoptr (SfbPresenceInfo) b = categories_both (categories_docs[1], strlen (categories_docs[1]));
  g_autoptr (SfbPresenceInfo) d = categories_both (categories_docs[3], strlen (categories_docs[3]));

  g_assert_cmpstr (a->uri, ==, "sip:bob@contoso.test");
  g_assert_cmpuint (a->availability, ==, 3500);
  g_assert_cmpstr (a->activity, ==, "in-a-meeting & && <x>");
  g_assert_cmpstr (a->note, ==, "<on> a &amp; b & c d");
  g_assert_cmpstr (a->display_name, ==, "Bob \xF0\x9F\x98\x80");
  g_assert_cmpstr (a->email, ==, "bob@contoso.test");
  g_assert_cmpstr (a->title, ==, "Eng");
  g_assert_null (a->company);
  g_assert_true (a->automaton);
  /* undeclared prefixes (libxml2 accepted the document, naming the
   * element "p:state") */
  g_assert_null (b);
  g_assert_cmpuint (d->availability, ==, 0);
  g_assert_cmpstr (d->note, ==, "");
  g_assert_null (d->display_name);
  g_assert_true (d->has_card);
}

/* Values and text beyond SFB_SVC_XML_MAX_VALUE are absent, both ways. */
static void
test_categories_long_values (void)
{
  g_autofree char *fill = g_strnfill (SFB_SVC_XML_MAX_VALUE - 2, 'n');
  const char *pads[] = { "", " ", "  ", "   " };

  for (gsize i = 0; i < G_N_ELEMENTS (pads); i++)
    {
      g_autofree char *doc = g_strdup_printf (
          "<categories " NS "uri=\"sip:bob@contoso.test\">"
          "<category name=\"note\"><note><body>%s%s<x>%s</x></body></note></category>"
          "<category name=\"state\"><state type=\"%s%s\"><availability>3500</availability>"
          "<activity token=\"%s%s\"/></state></category>"
          "<category name=\"contactCard\"><contactCard><title>%s%s</title></contactCard>"
          "</category></categories>",
          fill,
          pads[i],
          "",
          fill,
          pads[i],
          fill,
          pads[i],
          fill,
          pads[i]);
      g_autoptr (SfbPresenceInfo) info = categories_both (doc, strlen (doc));

      g_assert_nonnull (info);
      g_assert_cmpint (info->note != NULL && *info->note != '\0', ==, i <= 2);
      g_assert_cmpint (info->title != NULL, ==, i <= 2);
    }
}

static char *
nested (guint depth, const char *innermost)
{
  GString *doc = g_string_new ("<categories uri=\"sip:bob@contoso.test\">");

  for (guint i = 1; i < depth; i++)
    g_string_append (doc, "<category name=\"note\">");
  g_string_append (doc, innermost);
  for (guint i = 1; i < depth; i++)
    g_string_append (doc, "</category>");
  g_string_append (doc, "</categories>");
  return g_string_free (doc, FALSE);
}

/* Limits: depth, elements, DTD, with the same errors. */
static void
test_categories_limits (void)
{
  g_autofree char *deepest = nested (SFB_SVC_XML_MAX_DEPTH, "");
  g_autofree char *too_deep = nested (SFB_SVC_XML_MAX_DEPTH + 1, "");
  g_autofree char *too_deep_bad = nested (SFB_SVC_XML_MAX_DEPTH + 1, "&bad;");
  g_autofree char *way_too_deep = nested (300, "");
  g_autofree char *dtd
      = g_strdup ("<!DOCTYPE categories><categories uri=\"sip:bob@contoso.test\"/>");
  GString *many = g_string_new ("<categories uri=\"sip:bob@contoso.test\">");
  g_autoptr (SfbPresenceInfo) info = categories_both (deepest, strlen (deepest));

  g_assert_nonnull (info);
  g_assert_null (info->note); /* the outer category holds one: not empty */
  g_assert_null (categories_both (too_deep, strlen (too_deep)));
  g_assert_null (categories_both (too_deep_bad, strlen (too_deep_bad)));
  g_assert_null (categories_both (way_too_deep, strlen (way_too_deep)));
  g_assert_null (categories_both (dtd, strlen (dtd)));
  for (guint i = 1; i < SFB_SVC_XML_MAX_ELEMENTS; i++)
    g_string_append (many, "<a/>");
  g_string_append (many, "</categories>");
  g_clear_pointer (&info, sfb_presence_info_free);
  info = categories_both (many->str, many->len);
  g_assert_nonnull (info);
  g_string_insert (many, strlen ("<categories uri=\"sip:bob@contoso.test\">"), "<a/>");
  g_assert_null (categories_both (many->str, many->len));
  g_string_free (many, TRUE);
}

static void
assert_same_notify (const SfbPresenceNotify *a, const SfbPresenceNotify *b)
{
  g_assert_cmpuint (a->presences->len, ==, b->presences->len);
  for (guint i = 0; i < a->presences->len; i++)
    assert_same_info (a->presences->pdata[i], b->presences->pdata[i]);
  g_assert_cmpuint (a->resubscribe->len, ==, b->resubscribe->len);
  for (guint i = 0; i < a->resubscribe->len; i++)
    {
      const SfbPresenceResubscribe *x = a->resubscribe->pdata[i];
      const SfbPresenceResubscribe *y = b->resubscribe->pdata[i];

      g_assert_cmpstr (x->uri, ==, y->uri);
      g_assert_cmpstr (x->pool, ==, y->pool);
    }
  g_assert_cmpuint (a->terminated->len, ==, b->terminated->len);
  for (guint i = 0; i < a->terminated->len; i++)
    g_assert_cmpstr (a->terminated->pdata[i], ==, b->terminated->pdata[i]);
}

static SfbPresenceNotify *
notify_both (const char *type, const char *doc)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) tree_error = NULL;
  g_autoptr (GError) expat_error = NULL;
  SfbPresenceNotify *n = sfb_presence_notify_parse (type, doc, strlen (doc), &error);
  g_autoptr (SfbPresenceNotify) tree
      = sfb_presence_notify_parse_tree (type, doc, strlen (doc), &tree_error);
  g_autoptr (SfbPresenceNotify) expat
      = sfb_presence_notify_parse_expat (type, doc, strlen (doc), &expat_error);

  g_assert_true ((n == NULL) == (tree == NULL));
  g_assert_true ((expat == NULL) == (tree == NULL));
  if (n == NULL)
    {
      g_assert_cmpstr (error->message, ==, tree_error->message);
      g_assert_cmpstr (expat_error->message, ==, tree_error->message);
      return NULL;
    }
  assert_same_notify (n, tree);
  assert_same_notify (expat, tree);
  return n;
}

/* An rlmi document alone, every way; TRUE when ours accepted it. */
static gboolean
rlmi_both (const char *doc)
{
  g_autoptr (SfbPresenceNotify) fast = sfb_presence_notify_new ();
  g_autoptr (SfbPresenceNotify) tree = NULL;
  g_autoptr (GError) fast_error = NULL;
  g_autoptr (GError) tree_error = NULL;
  gboolean ok;

  ok = sfb_presence_parse_rlmi_with (SFB_PRESENCE_READ_FAST, fast, doc, strlen (doc), &fast_error);
  tree = sfb_presence_notify_parse_tree ("application/rlmi+xml", doc, strlen (doc), &tree_error);
  sfb_presence_notify_free (notify_both ("application/rlmi+xml", doc));
  if (!ok && fast_error == NULL)
    {
      g_assert_false (fast_events_same (doc, strlen (doc)));
      return FALSE;
    }
  g_assert_true (fast_events_same (doc, strlen (doc)));
  g_assert_cmpint (ok, ==, tree != NULL);
  if (ok)
    assert_same_notify (fast, tree);
  else
    g_assert_cmpstr (fast_error->message, ==, tree_error->message);
  return TRUE;
}

#define RLMI "<list xmlns=\"urn:ietf:params:xml:ns:rlmi\" uri=\"sip:alice@contoso.test\">"

/* The attributes the readers only compare (a category's name and
 * instance, a state's type, a body's type, an rlmi instance's state) are
 * read in place unless they hold "&#38;" or a NUL: as attr_value() keeps
 * them, stripped, NULL beyond SFB_SVC_XML_MAX_VALUE. */
static void
test_attributes_in_place (void)
{
  g_autofree char *fill = g_strnfill (SFB_SVC_XML_MAX_VALUE, 'i');
  /* "state" with blanks, then by a reference: read; "&#38;" in a name or
   * a type: another value */
  static const char states[]
      = "<categories " NS XSI "uri=\"sip:bob@contoso.test\">"
        "<category name=\" state \"><state xsi:type=\" userState \">"
        "<availability>6500</availability></state></category>"
        "<category name=\"&#115;tate\"><state xsi:type=\"aggregateState&#38;\" type=\"userState\">"
        "<availability>9500</availability></state></category>"
        "<category name=\"state&#38;\"><state type=\"aggregateState\">"
        "<availability>15500</availability></state></category></categories>";
  /* an xsi:type one byte too long is absent: the plain type counts */
  g_autofree char *long_type = g_strdup_printf (
      "<categories " NS XSI "uri=\"sip:bob@contoso.test\">"
      "<category name=\"state\"><state xsi:type=\"%s \" type=\" machineState\">"
      "<availability>3500</availability></state></category>"
      "<category name=\"state\"><state type=\"x\"><availability>6500</availability></state>"
      "</category></categories>",
      fill);
  /* an instance one byte too long is absent: every note is gone */
  g_autofree char *long_instance
      = g_strdup_printf ("<categories " NS "uri=\"sip:bob@contoso.test\">"
                         "<category name=\"note \" instance=\"%si\"/></categories>",
                         fill);
  static const char blank_instance[] = "<categories " NS "uri=\"sip:bob@contoso.test\">"
                                       "<category name=\"note\" instance=\" \"/></categories>";
  static const char bodies[]
      = "<categories " NS "uri=\"sip:bob@contoso.test\"><category name=\"note\"><note>"
        "<body type=\"x\">first</body><body type=\" OOF\">later</body>"
        "<body type=\"OOF&#38;\">other</body></note></category></categories>";
  g_autoptr (SfbPresenceInfo) info = categories_both (states, strlen (states));
  g_autoptr (SfbPresenceNotify) n = NULL;

  g_assert_true (fast_accepted);
  g_assert_cmpuint (info->availability, ==, 6500);
  g_clear_pointer (&info, sfb_presence_info_free);
  info = categories_both (long_type, strlen (long_type));
  g_assert_true (fast_accepted);
  g_assert_cmpuint (info->availability, ==, 3500);
  g_clear_pointer (&info, sfb_presence_info_free);
  info = categories_both (long_instance, strlen (long_instance));
  g_assert_true (fast_accepted);
  g_assert_cmpstr (info->note, ==, "");
  g_clear_pointer (&info, sfb_presence_info_free);
  info = categories_both (blank_instance, strlen (blank_instance));
  g_assert_true (fast_accepted);
  g_assert_null (info->note);
  g_clear_pointer (&info, sfb_presence_info_free);
  info = categories_both (bodies, strlen (bodies));
  g_assert_true (fast_accepted);
  g_assert_cmpstr (info->note, ==, "later");

  n = notify_both (
      "application/rlmi+xml",
      RLMI "<resource uri=\"sip:a@contoso.test\"><instance state=\" resubscribe \" "
           "poolFqdn=\"pool.contoso.test\"/></resource>"
           "<resource uri=\"sip:b@contoso.test\"><instance state=\"&#116;erminated\" "
           "poolFqdn=\"pool.contoso.test\"/></resource>"
           "<resource uri=\"sip:c@contoso.test\"><instance state=\"terminated&#38;\"/></resource>"
           "<resource uri=\"sip:d@contoso.test\"><instance state=\"active\"/></resource>"
           "<resource uri=\"sip:e@contoso.test\"><instance state=\"resubscribe\"/></resource>"
           "</list>");
  g_assert_true (rlmi_both (RLMI "<resource uri=\"sip:a@contoso.test\"><instance "
                                 "state=\"resubscribe \" poolFqdn=\"p.test\"/></resource></list>"));
  g_assert_cmpuint (n->resubscribe->len, ==, 2);
  g_assert_cmpstr (
      ((SfbPresenceResubscribe *) n->resubscribe->pdata[0])->uri, ==, "sip:a@contoso.test");
  g_assert_cmpstr (
      ((SfbPresenceResubscribe *) n->resubscribe->pdata[0])->pool, ==, "pool.contoso.test");
  g_assert_null (((SfbPresenceResubscribe *) n->resubscribe->pdata[1])->pool);
  g_assert_cmpuint (n->terminated->len, ==, 1);
  g_assert_cmpstr (n->terminated->pdata[0], ==, "sip:b@contoso.test");
}

/* A card's text fields are stripped, cleaned and copied once: controls
 * (by reference, so the reader keeps them) become spaces, blank is absent. */
static void
test_card_text (void)
{
  static const char doc[]
      = "<categories " NS "uri=\"sip:bob@contoso.test\"><category name=\"contactCard\">"
        "<contactCard><identity><name><displayName> &#9; a&#9;b&#13;c&#127;d&#x1F600; "
        "</displayName></name><email> &#10; </email></identity><title>&#32;t&#32;</title>"
        "<company/><automaton>&#9;true</automaton></contactCard></category></categories>";
  g_autoptr (SfbPresenceInfo) info = categories_both (doc, strlen (doc));

  g_assert_true (fast_accepted);
  g_assert_cmpstr (info->display_name, ==, "a b c d\xF0\x9F\x98\x80");
  g_assert_null (info->email);
  g_assert_cmpstr (info->title, ==, "t");
  g_assert_null (info->company);
  g_assert_true (info->automaton);
}

/* Attribute values are scanned 16 bytes at a time: each byte to look at
 * (a reference, a quote of the other kind, UTF-8, a tab, "<"), at each
 * place of a value of up to 48 bytes, is seen. */
static void
test_value_scan (void)
{
  static const struct
  {
    const char *in;       /* in the value */
    const char *out;      /* in the activity */
    gboolean fast_reads;  /* FALSE: ours gives up */
    gboolean well_formed; /* FALSE: refused */
  } specials[] = {
    { "&amp;", "&", TRUE, TRUE },
    { "&#38;", "&", TRUE, TRUE },
    { "'", "'", TRUE, TRUE },
    { "\xc3\xa9", "\xc3\xa9", TRUE, TRUE },
    { "\xe2\x82\xac", "\xe2\x82\xac", TRUE, TRUE },
    { "\t", " ", FALSE, TRUE },
    { "\x7f", " ", TRUE, TRUE },
    { "<", NULL, FALSE, FALSE },
    { "\xff", NULL, FALSE, FALSE },
    { "\x1f", NULL, FALSE, FALSE },
    { "\x01", NULL, FALSE, FALSE },
    { "\n", " ", FALSE, TRUE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (specials); i++)
    for (guint before = 0; before <= 40; before++)
      {
        g_autofree char *a = g_strnfill (before, 'a');
        g_autofree char *b = g_strnfill (40 - before, 'b');
        g_autofree char *doc = g_strdup_printf (
            "<categories " NS "uri=\"sip:bob@contoso.test\"><category name=\"state\"><state>"
            "<availability>3500</availability><activity token=\"%s%s%s\"/></state></category>"
            "</categories>",
            a,
            specials[i].in,
            b);
        g_autofree char *want = g_strconcat (a, specials[i].out, b, NULL);
        g_autoptr (SfbPresenceInfo) info = categories_both (doc, strlen (doc));

        g_assert_cmpint (fast_accepted, ==, specials[i].fast_reads);
        if (!specials[i].well_formed)
          {
            g_assert_null (info);
            continue;
          }
        g_assert_nonnull (info);
        /* libxml2 reads a tab or line end as a space, then the value is stripped */
        g_assert_cmpstr (info->activity,
                         ==,
                         *specials[i].out == ' ' && !specials[i].fast_reads ? g_strstrip (want)
                                                                            : want);
      }
}

static void
test_notify_same (void)
{
  const char *multipart = "multipart/related; type=\"application/rlmi+xml\"; boundary=\"b\"";
  g_autoptr (SfbPresenceNotify) n = notify_both (
      multipart,
      "--b\r\nContent-Type: application/rlmi+xml\r\n\r\n" RLMI
      "<resource uri=\"sip:a@contoso.test\"><instance state=\"resubscribe\" "
      "poolFqdn=\" Pool1.Contoso.test \"/></resource>"
      "<resource uri=\"sip:b@contoso.test\"><x/><instance state=\"terminated\"/>"
      "<instance state=\"resubscribe\"/></resource>"
      "<resource uri=\"sip:c@contoso.test\"><instance state=\"resubscribe\" poolFqdn=\"a b\"/>"
      "</resource>"
      "<resource uri=\"sip:d@contoso.test\"/><resource><instance state=\"terminated\"/></resource>"
      "<other><resource uri=\"sip:e@contoso.test\"><instance state=\"terminated\"/></resource>"
      "</other>"
      "<resource uri=\"sip:f&amp;@contoso.test\"><instance state=\"terminated\"><instance/>"
      "</instance></resource></list>\r\n"
      "--b\r\nContent-Type: application/rlmi+xml\r\n\r\n" RLMI
      "<resource uri=\"sip:g@contoso.test\"><instance state=\"terminated\"/></resource>"
      "<resource uri=\"sip:h@contoso.test\"><instance state=\"terminated\"/></resource><bad>"
      "\r\n--b\r\nContent-Type: application/msrtc-event-categories+xml\r\n\r\n"
      "<categories uri=\"sip:b@contoso.test\"><category name=\"state\"><state>"
      "<availability>6500</availability></state></category></categories>\r\n"
      "--b\r\nContent-Type: application/msrtc-event-categories+xml\r\n\r\n"
      "<categories uri=\"sip:c@contoso.test\"><category name=\"state\">\r\n"
      "--b--\r\n");

  g_assert_nonnull (n);
  g_assert_cmpuint (n->resubscribe->len, ==, 2);
  g_assert_cmpstr (
      ((SfbPresenceResubscribe *) n->resubscribe->pdata[0])->pool, ==, "pool1.contoso.test");
  g_assert_null (((SfbPresenceResubscribe *) n->resubscribe->pdata[1])->pool);
  /* b, f; not g and h, whose list is malformed */
  g_assert_cmpuint (n->terminated->len, ==, 2);
  g_assert_cmpuint (n->presences->len, ==, 1);
  g_assert_null (notify_both ("application/rlmi+xml", "<list><resource>"));
  g_assert_null (notify_both ("application/rlmi+xml", "<categories/>"));
  g_clear_pointer (&n, sfb_presence_notify_free);
  n = notify_both ("application/rlmi+xml",
                   RLMI "<resource uri=\"sip:a@contoso.test\"><instance state=\"terminated\"/>"
                        "</resource></list>");
  g_assert_cmpuint (n->terminated->len, ==, 1);
}

/* As sfbsim and servers write them (tests/sfbsim/sim/documents.py): ours
 * reads them, with what the tree reader makes of them. */
static const char *const storm_docs[] = {
  "<categories xmlns=\"http://schemas.microsoft.com/2006/09/sip/categories\" "
  "uri=\"sip:bob@contoso.test\"><category name=\"state\" instance=\"536870912\" "
  "publishTime=\"2026-12-07T06:41:29.870Z\" container=\"2\" version=\"3\" expireType=\"static\">"
  "<state xmlns=\"http://schemas.microsoft.com/2006/09/sip/state\" "
  "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"aggregateState\">"
  "<availability>6500</availability><activity token=\"in-a-call\" /></state></category>"
  "<category name=\"note\" instance=\"0\" publishTime=\"2026-12-07T06:41:29.870Z\" "
  "container=\"200\" version=\"2\" expireType=\"static\">"
  "<note xmlns=\"http://schemas.microsoft.com/2006/09/sip/note\"><body type=\"personal\" "
  "uri=\"\">Hello &amp; bye</body></note></category><category name=\"contactCard\" "
  "instance=\"0\" publishTime=\"2026-12-07T06:41:29.870Z\" container=\"200\" version=\"1\" "
  "expireType=\"static\"><contactCard "
  "xmlns=\"http://schemas.microsoft.com/2006/09/sip/contactcard\"><identity><name>"
  "<displayName>Bob Smith</displayName></name><email>bob@contoso.test</email></identity>"
  "<company>C</company><title>Eng</title></contactCard></category></categories>\r\n",
  /* a declaration, comments, line ends, references, single quotes, blanks in tags */
  "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<!-- sent by - a server -->"
  "<categories " NS " uri = 'sip:bob@contoso.test' >\r\n"
  "<category\tname=\"note\"><note><body type='personal'>a\r\nb\rc &lt;&gt;&quot;&apos;&#65;"
  "&#x42;&#x1F600;&#38; \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 ]] > <!-- in -->d</body></note>"
  "</category ><category name=\"state\"><state "
  "xmlns:x=\"http://www.w3.org/2001/XMLSchema-instance\" "
  "x:type=\"userState\"><availability>3500</availability>"
  "<activity token=\"a&amp;b&#38;c&lt;d&#x26;&#233;\xc3\xa9\"/></state></category>"
  "<category name=\"contactCard\"><contactCard xmlns=\"\"><identity><name><displayName>"
  "Caf\xc3\xa9 &#x10FFFF;</displayName></name></identity></contactCard></category>"
  "</categories><!-- after -->\n",
  "<?xml version='1.0' standalone='yes' ?><categories uri=\"sip:b@contoso.test\"/>",
};

static void
test_fast_reads (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (storm_docs); i++)
    {
      g_autoptr (SfbPresenceInfo) info = categories_both (storm_docs[i], strlen (storm_docs[i]));

      g_test_message ("document %" G_GSIZE_FORMAT, i);
      g_assert_nonnull (info);
      g_assert_true (fast_accepted);
    }
  g_assert_true (
      rlmi_both ("<list xmlns=\"urn:ietf:params:xml:ns:rlmi\" uri=\"sip:alice@contoso.test\" "
                 "version=\"3\" fullState=\"false\"><resource uri=\"sip:bob@contoso.test\">"
                 "<instance id=\"ab12\" state=\"terminated\" cid=\"cid1\" /></resource>"
                 "<resource uri=\"sip:c@contoso.test\"><instance id=\"0\" state=\"resubscribe\" "
                 "poolFqdn=\"pool.contoso.test\"/></resource></list>"));
  /* ours accepts it, the document then says it is no list */
  g_assert_true (rlmi_both ("<categories/>"));
}

/* Constructs expat reads (or refuses) and ours does not: ours gives up,
 * the daemon gets expat's reading (categories_both() compares it with the
 * tree). */
static const char *const given_up[] = {
  "\xef\xbb\xbf<categories uri=\"sip:b@contoso.test\"/>",
  "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><categories uri=\"sip:b@contoso.test\"/>",
  "<?xml version=\"1.0\" encoding=\"UTF-16\"?><categories uri=\"sip:b@contoso.test\"/>",
  "<?xml version=\"1.1\"?><categories uri=\"sip:b@contoso.test\"/>",
  "<?pi x?><categories uri=\"sip:b@contoso.test\"/>",
  "<categories uri=\"sip:b@contoso.test\"><?pi x?></categories>",
  "<!DOCTYPE categories><categories uri=\"sip:b@contoso.test\"/>",
  "<categories uri=\"sip:b@contoso.test\"><category name=\"note\"><note><body>"
  "<![CDATA[x]]></body></note></category></categories>",
  "<categories uri=\"sip:b@contoso.test\"><!-- <!DOCTYPE x> --></categories>",
  "<categories uri=\"sip:b@contoso.test\"><!-- caf\xc3\xa9 --></categories>",
  "<cat\xc3\xa9gories uri=\"sip:b@contoso.test\"/>",
  "<categories uri=\"sip:b@contoso.test\" \xc3\xa9=\"1\"/>",
  "<categories uri=\"sip:b@contoso.test\"><p:category name=\"note\"/></categories>",
  "<categories uri=\"sip:b@contoso.test\"><category p:name=\"note\"/></categories>",
  "<categories uri=\"sip:b@contoso.test\" xml:lang=\"en\"><xml:category/></categories>",
  "<categories uri=\"sip:b@contoso.test\"><category name=\"a\tb\"/></categories>",
  "<categories uri=\"sip:b@contoso.test\"><category name=\"a\r\nb\"/></categories>",
  "<categories uri=\"sip:b@contoso.test\" xmlns:a=\"urn:x\" xmlns:b=\"urn:x\" a:t=\"1\" "
  "b:t=\"2\"/>",
  "<categories uri=\"sip:b@contoso.test\" xmlns:a=\"u&amp;v\"/>",
  "<categories uri=\"sip:b@contoso.test\" xmlns:a:b=\"urn:x\"/>",
  "<a:b:c xmlns:a=\"urn:x\"/>",
  /* namespace errors, which expat refuses (libxml2 reported but accepted
   * them) */
  "<categories xmlns:a=\"\"/>",
  "<categories xmlns:xmlns=\"urn:x\"/>",
  "<categories xmlns:xml=\"urn:x\"/>",
  "<categories a:=\"1\"/>",
};

/* Malformed: expat and libxml2 refuse them, and ours never accepts them. */
static const char *const malformed[] = {
  "<categories uri=\"sip:b@contoso.test\">",
  "<categories uri=\"sip:b@contoso.test\"><category></categories>",
  "<categories uri=\"sip:b@contoso.test\"></category></categories>",
  "<categories uri=\"sip:b@contoso.test\"></categoriesx>",
  "<categories uri=\"sip:b@contoso.test\"><category></categorx></categories>",
  "<categories uri=\"sip:b@contoso.test\"></Categories>",
  "<categories uri=\"sip:b@contoso.test\"></categories",
  "<categories uri=\"sip:b@contoso.test\" uri=\"sip:c@contoso.test\"/>",
  "<categories xmlns:a=\"urn:x\" a:uri=\"1\" a:uri=\"2\"/>",
  "<categories xmlns:a=\"urn:x\" xmlns:a=\"urn:y\"/>",
  "<categories xmlns=\"urn:x\" xmlns=\"urn:y\"/>",
  "<categories uri=\"sip:b@contoso.test\"a=\"1\"/>",
  "<categories uri=sip:b@contoso.test/>",
  "<categories uri=\"sip:b@contoso.test/>",
  "<categories uri=\"a<b\"/>",
  "<categories uri=\"a&b\"/>",
  "<categories uri=\"&nbsp;\"/>",
  "<categories uri=\"&#0;\"/>",
  "<categories>&#0;</categories>",
  "<categories>&#xD800;</categories>",
  "<categories>&#x110000;</categories>",
  "<categories>&#1114112;</categories>",
  "<categories>&#X41;</categories>",
  "<categories>&#;</categories>",
  "<categories>&#x41</categories>",
  "<categories>&amp</categories>",
  "<categories>&bad;</categories>",
  "<categories>& amp;</categories>",
  "<categories>]]></categories>",
  "<categories>\xff</categories>",
  "<categories>\xc3</categories>",
  "<categories>\xc0\xaf</categories>",
  "<categories>\xe0\x80\xaf</categories>",
  "<categories>\xed\xa0\x80</categories>",
  "<categories>\xef\xbf\xbe</categories>",
  "<categories>\xf4\x90\x80\x80</categories>",
  "<categories uri=\"\xc3\x28\"/>",
  "<categories>\x01</categories>",
  "<categories uri=\"\x01\"/>",
  "<categories/><categories/>",
  "<categories/>x",
  "x<categories/>",
  "<categories><!-- a -- b --></categories>",
  "<categories><!-- a ---></categories>",
  "<categories><!-- a </categories>",
  "<?xml version=\"1.0\"?><?xml version=\"1.0\"?><categories/>",
  " <?xml version=\"1.0\"?><categories/>",
  "<?xml encoding=\"UTF-8\"?><categories/>",
  "<?xml version=\"1.0\"encoding=\"UTF-8\"?><categories/>",
  "<?xml version=\"2.0\"?><categories/>",
  "< categories/>",
  "<categories / >",
  "<1categories/>",
  "",
  "   ",
};

static void
test_fast_gives_up (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (given_up); i++)
    {
      g_autoptr (SfbPresenceInfo) info = NULL;

      g_test_message ("given up %" G_GSIZE_FORMAT, i);
      info = categories_both (given_up[i], strlen (given_up[i]));
      g_assert_false (fast_accepted);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_autoptr (SfbPresenceInfo) info = NULL;
      SfbXmlVerdict verdict = SFB_XML_OK, libxml_verdict = SFB_XML_OK;
      gboolean namespace_error;
      g_autofree char *events = NULL;
      g_autofree char *libxml_events = NULL;

      g_test_message ("malformed %" G_GSIZE_FORMAT, i);
      info = categories_both (malformed[i], strlen (malformed[i]));
      g_assert_false (fast_accepted);
      g_assert_null (info);
      events = sfb_xml_events_expat (
          malformed[i], strlen (malformed[i]), &sfb_xml_events_svc_limits, &verdict);
      g_assert_cmpint (verdict, !=, SFB_XML_OK);
      libxml_events = sfb_xml_events_libxml (malformed[i],
                                             strlen (malformed[i]),
                                             &sfb_xml_events_svc_limits,
                                             &libxml_verdict,
                                             &namespace_error);
      g_assert_cmpint (libxml_verdict, !=, SFB_XML_OK);
    }
  /* a NUL after the root: libxml2 took it for the end of the document,
   * expat refuses it, ours gives up */
  {
    static const char nul_after[] = "<categories uri=\"sip:b@contoso.test\"/>\0<x>";
    g_autoptr (SfbPresenceInfo) info = categories_both (nul_after, sizeof nul_after - 1);

    g_assert_false (fast_accepted);
    g_assert_null (info);
  }
  /* a length short of the NUL: never read past it */
  g_assert_false (fast_events_same ("<a>x</a>", 7));
  g_assert_false (fast_events_same ("<a b=\"x\"/>", 9));
  g_assert_false (fast_events_same ("<a>&amp;</a>", 7));
}

/* Names are scanned 16 bytes at a time: each byte, at each place of a
 * name of 34 bytes (two blocks and a byte loop), in an element's name,
 * an attribute's and a prefixed attribute's local name.  Ours reads the
 * name bytes (and blanks where a name may end or begin) and gives up on
 * the others; libxml2 decides. */
static void
test_name_scan (void)
{
  static const char *const forms[][2] = {
    { "<categories " NS "uri=\"sip:bob@contoso.test\"><", "/></categories>" },
    { "<categories " NS "uri=\"sip:bob@contoso.test\"><category ", "=\"v\"/></categories>" },
    { "<categories " NS XSI "uri=\"sip:bob@contoso.test\"><category xsi:", "='v'/></categories>" },
  };
  enum
  {
    NAME_LEN = 34
  };

  for (gsize form = 0; form < G_N_ELEMENTS (forms); form++)
    for (guint byte = 1; byte < 256; byte++)
      for (guint place = 0; place < NAME_LEN; place++)
        {
          char name[NAME_LEN + 1];
          gboolean name_char = g_ascii_isalnum (byte) || byte == '_' || byte == '-' || byte == '.';
          gboolean name_start = g_ascii_isalpha (byte) || byte == '_';
          /* a blank after the name, or before an attribute's */
          gboolean blank_ok = strchr (" \t\r\n", byte) != NULL
                              && (place == NAME_LEN - 1 || (place == 0 && form == 1));
          g_autofree char *doc = NULL;
          g_autoptr (SfbPresenceInfo) info = NULL;

          memset (name, 'n', NAME_LEN);
          name[place] = (char) byte;
          name[NAME_LEN] = '\0';
          doc = g_strconcat (forms[form][0], name, forms[form][1], NULL);
          info = categories_both (doc, strlen (doc));
          g_assert_cmpint (fast_accepted, ==, (place == 0 ? name_start : name_char) || blank_ok);
          g_assert_true (info != NULL || !fast_accepted);
        }
}

/* Qualified names up to FAST_MAX_NAME (128 bytes with the NUL) are read
 * by ours, longer ones left to libxml2: elements and attributes, with a
 * prefix and without. */
static void
test_name_limit (void)
{
  for (guint len = 120; len <= 132; len++)
    {
      g_autofree char *plain = g_strnfill (len, 'e');
      g_autofree char *local = g_strnfill (len - 4, 'a');
      char *docs[] = {
        g_strdup_printf ("<categories " NS "uri=\"sip:b@contoso.test\"><%s/></categories>", plain),
        g_strdup_printf (
            "<categories " NS "uri=\"sip:b@contoso.test\"><%s></%s></categories>", plain, plain),
        g_strdup_printf ("<categories " NS "uri=\"sip:b@contoso.test\" %s=\"v\"/>", plain),
        g_strdup_printf ("<categories " NS XSI "uri=\"sip:b@contoso.test\" xsi:%s=\"v\"/>", local),
        g_strdup_printf ("<xyz:categories xmlns:xyz=\"urn:x\"><xyz:%s/></xyz:categories>", local),
      };

      for (gsize i = 0; i < G_N_ELEMENTS (docs); i++)
        {
          g_autoptr (SfbPresenceInfo) info = categories_both (docs[i], strlen (docs[i]));

          g_assert_cmpint (fast_accepted, ==, len < 128);
          /* libxml2 reads long names: the verdict is the document's */
          g_assert_true (info != NULL || i == G_N_ELEMENTS (docs) - 1);
          g_free (docs[i]);
        }
    }
}

/* "=" and the opening quote, which ours takes in one step when nothing
 * lies between them, every other way to the blanks' loop. */
static void
test_eq_quote (void)
{
  static const struct
  {
    const char *attribute;
    gboolean well_formed; /* ours reads it, and the activity is "x" */
  } forms[] = {
    { "token=\"x\"", TRUE },     { "token='x'", TRUE },     { "token = \"x\"", TRUE },
    { "token\t=\r\n'x'", TRUE }, { "token= 'x'", TRUE },    { "token =\"x\"", TRUE },
    { "token=x", FALSE },        { "token==\"x\"", FALSE }, { "token=\"x'", FALSE },
    { "token='x\"", FALSE },     { "token", FALSE },        { "token=<\"x\"", FALSE },
    { "token=>\"x\"", FALSE },   { "token=&\"x\"", FALSE }, { "token=yxy", FALSE },
    { "token=/x/", FALSE },      { "token=\tx\t", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (forms); i++)
    {
      g_autofree char *doc = g_strconcat (
          "<categories " NS "uri=\"sip:bob@contoso.test\"><category name=\"state\"><state>"
          "<availability>3500</availability><activity ",
          forms[i].attribute,
          "/></state></category></categories>",
          NULL);
      g_autoptr (SfbPresenceInfo) info = categories_both (doc, strlen (doc));

      g_assert_cmpint (fast_accepted, ==, forms[i].well_formed);
      g_assert_cmpint (info != NULL, ==, forms[i].well_formed);
      if (info != NULL)
        g_assert_cmpstr (info->activity, ==, "x");
    }
}

/* A storm document cut at every length, each cut in a buffer of its own
 * length (the sanitizer build sees a read past it): refused until the
 * root's end tag is whole, and ours reads no further than it is given. */
static void
test_truncated (void)
{
  const char *doc = storm_docs[0];
  gsize root_end = strstr (doc, "</categories>") + strlen ("</categories>") - doc;

  for (gsize len = 1; len < strlen (doc); len++)
    {
      g_autofree char *cut = g_memdup2 (doc, len);
      g_autoptr (SfbPresenceInfo) info = categories_both (cut, len);

      g_assert_cmpint (info != NULL, ==, len >= root_end);
      g_assert_cmpint (fast_accepted, ==, len >= root_end);
    }
}

/* Names are copied 16 bytes at a time when shorter and 16 bytes are
 * there to read: every length around 16, each kind of name, and names
 * near the end of a document (a buffer of its own length), as libxml2
 * shows them. */
static void
test_name_copies (void)
{
  for (guint len = 1; len <= 40; len++)
    {
      g_autofree char *name = g_strnfill (len, 'm');
      char *docs[] = {
        g_strdup_printf ("<%s:r xmlns:%s=\"urn:x\" %s:%s=\"v\" %s=\"w\"><%s:%s/></%s:r>",
                         name,
                         name,
                         name,
                         name,
                         name,
                         name,
                         name,
                         name),
        g_strdup_printf ("<%s/>", name),
        g_strdup_printf ("<r><%s/></r>", name),
        g_strdup_printf ("<r %s='v'/>", name),
        g_strdup_printf ("<p:r xmlns:p='urn:x' p:%s='v'/>", name),
        g_strdup_printf ("<%s:r xmlns:%s='urn:x' %s:a='v'/>", name, name, name),
      };

      for (gsize i = 0; i < G_N_ELEMENTS (docs); i++)
        {
          gsize doc_len = strlen (docs[i]);
          g_autofree char *doc = g_memdup2 (docs[i], doc_len);

          g_assert_true (fast_events_same (doc, doc_len));
          g_free (docs[i]);
        }
    }
}

/* Duplicate attributes, by name or by local name and namespace, among
 * names that share a local name, a length, first or last bytes (so their
 * bits in the duplicate check meet or not), in every order of three: the
 * same verdicts as libxml2's and the tree reader's, and ours reads each
 * start tag without one. */
static void
test_duplicate_attributes (void)
{
  static const char *const attributes[] = {
    "a=\"1\"",  "a='2'",     "p:a=\"3\"", "q:a=\"4\"", "r:a=\"5\"",  "ab=\"6\"",
    "ba=\"7\"", "p:b=\"8\"", "p:ab='9'",  "q:ba='10'", "xml:a='11'", "b=\"12\"",
  };
  guint n = G_N_ELEMENTS (attributes);

  for (guint i = 0; i < n * n * n; i++)
    {
      const char *one = attributes[i % n], *two = attributes[i / n % n],
                 *three = attributes[i / n / n];
      /* p and q name one namespace, r another */
      g_autofree char *doc = g_strconcat ("<categories " NS "uri=\"sip:bob@contoso.test\" "
                                          "xmlns:p=\"urn:p\" xmlns:q=\"urn:p\" xmlns:r=\"urn:r\">"
                                          "<category ",
                                          one,
                                          " ",
                                          two,
                                          " ",
                                          three,
                                          "/></categories>",
                                          NULL);
      g_autoptr (SfbPresenceInfo) info = categories_both (doc, strlen (doc));
      g_autoptr (GHashTable) qnames = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_autoptr (GHashTable) expanded
          = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      gboolean same_qname = FALSE, same_expanded = FALSE, two_prefixes = FALSE;

      for (const char *const *a = (const char *const[]){ one, two, three, NULL }; *a; a++)
        {
          char *name = g_strndup (*a, strcspn (*a, "="));
          gboolean seen = g_hash_table_contains (qnames, name);

          same_qname = same_qname || seen;
          g_hash_table_add (qnames, name);
          /* a local name in a namespace: q's is p's */
          name = g_strdup (name);
          if (name[0] == 'q' && name[1] == ':')
            name[0] = 'p';
          if (g_hash_table_contains (expanded, name))
            {
              same_expanded = TRUE;
              two_prefixes = two_prefixes || !seen;
            }
          g_hash_table_add (expanded, name);
        }
      /* ours gives up on both kinds; libxml2 refuses a name twice, but
       * takes one local name in a namespace under two prefixes as a
       * namespace error only, and then no longer sees a name twice */
      g_assert_cmpint (fast_accepted, ==, !same_expanded);
      if (!two_prefixes)
        g_assert_cmpint (info == NULL, ==, same_qname);
    }
}

/* Nothing over the limits: ours gives up and libxml2 names the limit. */
static void
test_fast_limits (void)
{
  g_autofree char *deepest = nested (SFB_SVC_XML_MAX_DEPTH, "");
  g_autofree char *too_deep = nested (SFB_SVC_XML_MAX_DEPTH + 1, "");
  GString *many = g_string_new ("<categories uri=\"sip:bob@contoso.test\">");
  GString *attributes = g_string_new ("<categories uri=\"sip:bob@contoso.test\"");
  g_autofree char *long_name = g_strnfill (200, 'n');
  g_autofree char *long_doc = g_strdup_printf ("<categories uri=\"sip:bob@contoso.test\">"
                                               "<%s/></categories>",
                                               long_name);
  g_autoptr (SfbPresenceInfo) info = NULL;

  info = categories_both (deepest, strlen (deepest));
  g_assert_true (fast_accepted);
  g_clear_pointer (&info, sfb_presence_info_free);
  g_assert_null (categories_both (too_deep, strlen (too_deep)));
  g_assert_false (fast_accepted);
  for (guint i = 1; i < SFB_SVC_XML_MAX_ELEMENTS; i++)
    g_string_append (many, "<a/>");
  g_string_append (many, "</categories>");
  info = categories_both (many->str, many->len);
  g_assert_true (fast_accepted);
  g_clear_pointer (&info, sfb_presence_info_free);
  g_string_insert (many, strlen ("<categories uri=\"sip:bob@contoso.test\">"), "<a/>");
  g_assert_null (categories_both (many->str, many->len));
  g_assert_false (fast_accepted);
  for (guint i = 0; i < 40; i++)
    g_string_append_printf (attributes, " a%u=\"%u\"", i, i);
  g_string_append (attributes, "/>");
  info = categories_both (attributes->str, attributes->len);
  g_assert_nonnull (info);
  g_assert_false (fast_accepted);
  g_clear_pointer (&info, sfb_presence_info_free);
  info = categories_both (long_doc, strlen (long_doc));
  g_assert_nonnull (info);
  g_assert_false (fast_accepted);
  g_string_free (many, TRUE);
  g_string_free (attributes, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/presence-sax/categories", test_categories_same);
  g_test_add_func ("/presence-sax/categories-pinned", test_categories_pinned);
  g_test_add_func ("/presence-sax/categories-long-values", test_categories_long_values);
  g_test_add_func ("/presence-sax/categories-limits", test_categories_limits);
  g_test_add_func ("/presence-sax/notify", test_notify_same);
  g_test_add_func ("/presence-sax/attributes-in-place", test_attributes_in_place);
  g_test_add_func ("/presence-sax/card-text", test_card_text);
  g_test_add_func ("/presence-sax/value-scan", test_value_scan);
  g_test_add_func ("/presence-sax/fast-reads", test_fast_reads);
  g_test_add_func ("/presence-sax/fast-gives-up", test_fast_gives_up);
  g_test_add_func ("/presence-sax/fast-limits", test_fast_limits);
  g_test_add_func ("/presence-sax/name-scan", test_name_scan);
  g_test_add_func ("/presence-sax/name-limit", test_name_limit);
  g_test_add_func ("/presence-sax/eq-quote", test_eq_quote);
  g_test_add_func ("/presence-sax/truncated", test_truncated);
  g_test_add_func ("/presence-sax/name-copies", test_name_copies);
  g_test_add_func ("/presence-sax/duplicate-attributes", test_duplicate_attributes);
  return g_test_run ();
}
