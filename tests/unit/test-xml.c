/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfb_xml_read: the verdicts on server documents, and what the parsed text
 * holds, whatever encoding the bytes claim. */
#include "config.h"

#include "sfb-xml.h"

#include <string.h>

static const SfbXmlLimits limits = { 4096, 4, 8, FALSE };

static SfbXmlVerdict
read_doc (const char *data, gsize length, char **root_text)
{
  SfbXmlVerdict verdict = SFB_XML_OK;
  g_autoptr (SfbXmlDoc) doc = sfb_xml_read (data, length, &limits, &verdict);

  g_assert_true ((doc != NULL) == (verdict == SFB_XML_OK));
  if (doc != NULL && root_text != NULL)
    *root_text = sfb_xml_node_text (sfb_xml_doc_root (doc));
  return verdict;
}

static void
assert_text (const char *data, gsize length, const char *expected)
{
  g_autofree char *text = NULL;

  g_assert_cmpint (read_doc (data, length, &text), ==, SFB_XML_OK);
  g_assert_cmpstr (text, ==, expected);
}

static void
test_utf8 (void)
{
  static const char plain[] = "<a>caf\xc3\xa9</a>";
  static const char declared[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?><a>caf\xc3\xa9</a>";
  static const char bom[] = "\xef\xbb\xbf<a>x</a>";

  assert_text (plain, strlen (plain), "caf\xc3\xa9");
  assert_text (declared, strlen (declared), "caf\xc3\xa9");
  assert_text (bom, strlen (bom), "x");
  /* a length short of the NUL: never read past it */
  assert_text ("<a>xy</a>trailing", 9, "xy");
}

static void
test_not_utf8 (void)
{
  /* "<a>x</a>" in UTF-16LE with its byte order mark: not detected, malformed */
  static const char utf16[] = "\xff\xfe<\0a\0>\0x\0<\0/\0a\0>\0";
  static const char invalid[] = "<a>\xff\xfe</a>";

  g_assert_cmpint (read_doc (utf16, sizeof utf16 - 1, NULL), ==, SFB_XML_MALFORMED);
  g_assert_cmpint (read_doc (invalid, strlen (invalid), NULL), ==, SFB_XML_MALFORMED);
}

static void
test_declared_other (void)
{
  /* the encoding is UTF-8 whatever the declaration says */
  static const char latin1[] = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>";
  static const char latin1_ascii[] = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>x</a>";
  static const char utf16[] = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>caf\xc3\xa9</a>";

  g_assert_cmpint (read_doc (latin1, strlen (latin1), NULL), ==, SFB_XML_MALFORMED);
  assert_text (latin1_ascii, strlen (latin1_ascii), "x");
  assert_text (utf16, strlen (utf16), "caf\xc3\xa9");
}

static void
test_refused (void)
{
  static const char dtd[] = "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>";
  static const char entity[] = "<!-- c --><a><!-- <! --><!entity</a>";
  static const char comment[] = "<a><!-- <!x -->x</a>";
  static const char deep[] = "<a><b><c><d><e/></d></c></b></a>";
  static const char many[] = "<a><b/><b/><b/><b/><b/><b/><b/><b/></a>";
  static const char v20[] = "<?xml version=\"2.0\"?><a/>";
  static const char v1[] = "<?xml version=\"1.\"?><a/>";
  static const char v1x[] = "<?xml version=\"1.0a\"?><a/>";
  static const char v11[] = "<?xml version=\"1.1\"?><a>x</a>";
  g_autofree char *large = g_strnfill (limits.max_document + 1, ' ');

  g_assert_cmpint (read_doc ("", 0, NULL), ==, SFB_XML_EMPTY);
  g_assert_cmpint (read_doc (large, strlen (large), NULL), ==, SFB_XML_TOO_LARGE);
  g_assert_cmpint (read_doc (dtd, strlen (dtd), NULL), ==, SFB_XML_DTD);
  /* found after other "<!" too; a comment alone is fine */
  g_assert_cmpint (read_doc (entity, strlen (entity), NULL), ==, SFB_XML_DTD);
  assert_text (comment, strlen (comment), "x");
  g_assert_cmpint (read_doc ("<a><b></a>", 10, NULL), ==, SFB_XML_MALFORMED);
  g_assert_cmpint (read_doc ("   ", 3, NULL), ==, SFB_XML_MALFORMED);
  /* XML 1.0's VersionNum is "1." and digits: no other version is read */
  g_assert_cmpint (read_doc (v20, strlen (v20), NULL), ==, SFB_XML_MALFORMED);
  g_assert_cmpint (read_doc (v1, strlen (v1), NULL), ==, SFB_XML_MALFORMED);
  g_assert_cmpint (read_doc (v1x, strlen (v1x), NULL), ==, SFB_XML_MALFORMED);
  assert_text (v11, strlen (v11), "x");
  /* nothing after the root, not even a NUL */
  g_assert_cmpint (read_doc ("<a/>\0", 5, NULL), ==, SFB_XML_MALFORMED);
  g_assert_cmpint (read_doc (deep, strlen (deep), NULL), ==, SFB_XML_TOO_DEEP);
  g_assert_cmpint (read_doc (many, strlen (many), NULL), ==, SFB_XML_TOO_MANY_ELEMENTS);
}

/* a refused document leaves nothing behind for the next */
static void
test_reuse (void)
{
  for (guint i = 0; i < 50; i++)
    {
      g_assert_cmpint (read_doc ("<a><b></a>", 10, NULL), ==, SFB_XML_MALFORMED);
      assert_text ("<a>ok</a>", 9, "ok");
    }
}

static SfbXmlDoc *
read_ok (const char *data, const SfbXmlLimits *with)
{
  SfbXmlVerdict verdict = SFB_XML_MALFORMED;
  SfbXmlDoc *doc = sfb_xml_read (data, strlen (data), with, &verdict);

  g_assert_cmpint (verdict, ==, SFB_XML_OK);
  g_assert_nonnull (doc);
  return doc;
}

/* what the tree holds: names, prefixes, namespaces, attributes, text
 * (references and CDATA resolved, joined across comments), PIs */
static void
test_tree (void)
{
  static const char xml[] = "<?xml version='1.0'?><!-- before -->"
                            "<p:a xmlns:p='urn:p' xmlns='urn:d' x='1' p:y='&amp;2' xml:lang='en'>"
                            "t&lt;1<!-- c -->t2<![CDATA[<c>]]><b/><?pi some data?>"
                            "<p:c xmlns:p='urn:q' xmlns=''><d>deep</d></p:c></p:a>";
  g_autoptr (SfbXmlDoc) doc = read_ok (xml, &limits);
  SfbXmlNode *a = sfb_xml_doc_root (doc);
  SfbXmlNode *n;
  g_autofree char *text = sfb_xml_node_text (a);
  g_autoptr (SfbXmlDoc) inner = NULL;

  g_assert_cmpint (a->type, ==, SFB_XML_NODE_ELEMENT);
  g_assert_cmpstr (a->name, ==, "a");
  g_assert_cmpstr (a->prefix, ==, "p");
  g_assert_cmpstr (a->ns_uri, ==, "urn:p");
  g_assert_null (a->parent);
  /* namespace declarations are not attributes */
  g_assert_cmpuint (a->n_attrs, ==, 3);
  g_assert_cmpstr (sfb_xml_node_attr (a, "x", NULL), ==, "1");
  g_assert_null (sfb_xml_node_attr (a, "x", "urn:p"));
  g_assert_null (sfb_xml_node_attr (a, "y", NULL));
  g_assert_cmpstr (sfb_xml_node_attr (a, "y", "urn:p"), ==, "&2");
  g_assert_cmpstr (sfb_xml_node_attr_any_ns (a, "y"), ==, "&2");
  g_assert_cmpuint (sfb_xml_attr_find (a->attrs, a->n_attrs, "y", "urn:p")->value_length, ==, 2);
  g_assert_cmpstr (a->attrs[1].prefix, ==, "p");
  g_assert_null (a->attrs[0].prefix);
  g_assert_cmpstr (sfb_xml_node_attr (a, "lang", "http://www.w3.org/XML/1998/namespace"), ==, "en");

  n = a->children;
  g_assert_cmpint (n->type, ==, SFB_XML_NODE_TEXT);
  g_assert_cmpstr (n->content, ==, "t<1t2<c>");
  g_assert_cmpuint (n->content_length, ==, 8);
  g_assert_true (n->parent == a);
  n = n->next;
  g_assert_cmpstr (n->name, ==, "b");
  g_assert_cmpstr (n->ns_uri, ==, "urn:d");
  g_assert_null (n->prefix);
  g_assert_null (n->children);
  n = n->next;
  g_assert_cmpint (n->type, ==, SFB_XML_NODE_PI);
  g_assert_cmpstr (n->name, ==, "pi");
  g_assert_cmpstr (n->content, ==, "some data");
  n = n->next;
  g_assert_cmpstr (n->prefix, ==, "p");
  g_assert_cmpstr (n->ns_uri, ==, "urn:q");
  g_assert_null (n->next);
  /* xmlns='' : in no namespace */
  g_assert_cmpstr (n->children->name, ==, "d");
  g_assert_null (n->children->ns_uri);
  g_assert_cmpstr (text, ==, "t<1t2<c>deep");
  /* an inner element's text: its own, not its siblings' */
  inner = read_ok ("<a><b><c>x</c></b>y</a>", &limits);
  g_free (text);
  text = sfb_xml_node_text (sfb_xml_doc_root (inner)->children);
  g_assert_cmpstr (text, ==, "x");
}

/* drop_blanks leaves out the layout between elements, not text */
static void
test_blanks (void)
{
  static const char xml[] = "<a>\n  <b> </b>\n  <c>x <d/> </c>\n</a>";
  SfbXmlLimits drop = limits;
  g_autoptr (SfbXmlDoc) kept = read_ok (xml, &limits);
  g_autoptr (SfbXmlDoc) dropped = NULL;
  SfbXmlNode *a;

  g_assert_cmpint (sfb_xml_doc_root (kept)->children->type, ==, SFB_XML_NODE_TEXT);
  drop.drop_blanks = TRUE;
  dropped = read_ok (xml, &drop);
  a = sfb_xml_doc_root (dropped);
  g_assert_cmpstr (a->children->name, ==, "b");
  g_assert_cmpstr (a->children->next->name, ==, "c");
  g_assert_null (a->children->next->next);
  /* whitespace alone in an element, or beside other text, is content */
  g_assert_cmpstr (a->children->children->content, ==, " ");
  g_assert_cmpstr (a->children->next->children->content, ==, "x ");
  g_assert_nonnull (a->children->next->children->next->next);
  g_assert_cmpstr (a->children->next->children->next->next->content, ==, " ");
}

/* namespace-well-formed only: an undeclared prefix is malformed */
static void
test_namespaces (void)
{
  g_assert_cmpint (read_doc ("<p:a/>", 6, NULL), ==, SFB_XML_MALFORMED);
  g_assert_cmpint (read_doc ("<a p:x='1'/>", 12, NULL), ==, SFB_XML_MALFORMED);
  g_assert_cmpint (read_doc ("<a x='1' x='2'/>", 16, NULL), ==, SFB_XML_MALFORMED);
  g_assert_cmpint (read_doc ("<a xmlns:p='urn:p' xmlns:q='urn:p' p:x='1' q:x='2'/>", 52, NULL),
                   ==,
                   SFB_XML_MALFORMED);
  g_assert_cmpint (read_doc ("<a>&undefined;</a>", 18, NULL), ==, SFB_XML_MALFORMED);
}

static void
on_start (gpointer user_data, const char *name, const SfbXmlAttr *attrs, guint n)
{
  g_string_append_printf (user_data, "<%s", name);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (user_data,
                            " %s|%s|%s|%.*s",
                            attrs[i].name,
                            attrs[i].prefix ? attrs[i].prefix : "-",
                            attrs[i].ns_uri ? attrs[i].ns_uri : "-",
                            (int) attrs[i].value_length,
                            attrs[i].value);
  g_string_append_c (user_data, '>');
}

static void
on_end (gpointer user_data, const char *name)
{
  g_string_append_printf (user_data, "</%s>", name);
}

static void
on_text (gpointer user_data, const char *text, gsize length)
{
  g_string_append_len (user_data, text, length);
}

static const SfbXmlSax recorder = { on_start, on_end, on_text };

static SfbXmlVerdict
read_events (const char *data, const SfbXmlLimits *with, char **events)
{
  g_autoptr (GString) out = g_string_new (NULL);
  SfbXmlVerdict verdict = SFB_XML_OK;

  sfb_xml_read_sax (data, strlen (data), with, &recorder, out, &verdict);
  *events = g_strdup (out->str);
  return verdict;
}

/* the callbacks: local names, attributes by namespace, text resolved */
static void
test_sax (void)
{
  g_autofree char *events = NULL;
  g_autofree char *deep = NULL;
  g_autofree char *many = NULL;

  /* a tab is normalised to a space in an attribute value, a reference to
   * one is not */
  g_assert_cmpint (
      read_events (
          "<p:a xmlns:p='urn:p' p:x='&#38;' y='a\tb&#9;c'><b>t&amp;<![CDATA[&]]></b></p:a>",
          &limits,
          &events),
      ==,
      SFB_XML_OK);
  g_assert_cmpstr (events, ==, "<a x|p|urn:p|& y|-|-|a b\tc><b>t&&</b></a>");
  g_clear_pointer (&events, g_free);
  g_assert_cmpint (
      read_events ("<?xml version='2.0'?><a/>", &limits, &events), ==, SFB_XML_MALFORMED);
  /* the reading stops at the first limit: an empty element beyond it is
   * neither started nor ended */
  g_assert_cmpint (
      read_events ("<a><b><c><d><e/></d></c></b></a>", &limits, &deep), ==, SFB_XML_TOO_DEEP);
  g_assert_cmpstr (deep, ==, "<a><b><c><d>");
  g_assert_cmpint (read_events ("<a><b/><b/><b/><b/><b/><b/><b/><b/></a>", &limits, &many),
                   ==,
                   SFB_XML_TOO_MANY_ELEMENTS);
  g_assert_cmpstr (many, ==, "<a><b></b><b></b><b></b><b></b><b></b><b></b><b></b>");
}

/* names, prefixes and namespace names as the document says them, shared
 * with a sibling's or the parent's where they are the same */
static void
test_names (void)
{
  static const char xml[] = "<r xmlns='urn:a' xmlns:p='urn:p'><a x='1' p:y='2'/><a x='3' p:y='4'/>"
                            "<b p:y='5' x='6'/><p:c/><d xmlns='urn:b'/><a/></r>";
  g_autoptr (SfbXmlDoc) doc = read_ok (xml, &limits);
  SfbXmlNode *r = sfb_xml_doc_root (doc);
  SfbXmlNode *a1 = r->children, *a2 = a1->next, *b = a2->next, *c = b->next, *d = c->next;

  g_assert_cmpstr (r->ns_uri, ==, "urn:a");
  g_assert_true (a1->ns_uri == r->ns_uri && a2->name == a1->name);
  g_assert_true (a2->attrs[1].name == a1->attrs[1].name);
  g_assert_true (a2->attrs[1].ns_uri == a1->attrs[1].ns_uri);
  g_assert_cmpstr (a2->attrs[1].value, ==, "4");
  /* the same attributes in another order, another name, prefix, namespace */
  g_assert_cmpstr (b->name, ==, "b");
  g_assert_cmpstr (b->attrs[0].name, ==, "y");
  g_assert_cmpstr (b->attrs[0].ns_uri, ==, "urn:p");
  g_assert_cmpstr (b->attrs[1].name, ==, "x");
  g_assert_null (b->attrs[1].ns_uri);
  g_assert_cmpstr (c->name, ==, "c");
  g_assert_cmpstr (c->prefix, ==, "p");
  g_assert_cmpstr (c->ns_uri, ==, "urn:p");
  g_assert_cmpstr (d->ns_uri, ==, "urn:b");
  g_assert_null (d->prefix);
  g_assert_cmpstr (d->next->name, ==, "a");
  g_assert_cmpstr (d->next->ns_uri, ==, "urn:a");
}

/* Element names the document picks to be equal under g_str_hash() (each
 * of "Ez" and "FY" hashes the same, so do their strings of 17): read in
 * time linear in their number (a table of names keyed by that hash took
 * 165 s on this document, beyond the test's timeout) */
static void
test_colliding_names (void)
{
  const guint pairs = 17;
  SfbXmlLimits services = { 4 * 1024 * 1024, 32, 200000, FALSE };
  g_autoptr (GString) xml = g_string_new ("<r>");
  g_autoptr (SfbXmlDoc) doc = NULL;
  guint n = 0;

  for (guint i = 0; xml->len + 40 < services.max_document; i++, n++)
    {
      g_string_append_c (xml, '<');
      for (guint bit = 0; bit < pairs; bit++)
        g_string_append (xml, (i >> bit) & 1 ? "FY" : "Ez");
      g_string_append (xml, "/>");
    }
  g_string_append (xml, "</r>");
  g_assert_cmpuint (g_str_hash ("EzFY"), ==, g_str_hash ("FYEz"));
  doc = read_ok (xml->str, &services);
  g_assert_cmpstr (
      sfb_xml_doc_root (doc)->children->name, ==, "EzEzEzEzEzEzEzEzEzEzEzEzEzEzEzEzEz");
  g_assert_cmpstr (
      sfb_xml_doc_root (doc)->children->next->name, ==, "FYEzEzEzEzEzEzEzEzEzEzEzEzEzEzEzEz");
  g_assert_cmpuint (n, >, 100000);
}

/* a tree deeper than any stack would take, walked and freed without
 * recursion */
static void
test_deep (void)
{
  const guint levels = 200000;
  SfbXmlLimits loose = { 64 * 1024 * 1024, G_MAXUINT, 0, FALSE };
  g_autoptr (GString) xml = g_string_new (NULL);
  g_autoptr (SfbXmlDoc) doc = NULL;
  g_autofree char *text = NULL;
  g_autofree char *canonical = NULL;

  for (guint i = 0; i < levels; i++)
    g_string_append (xml, "<a>");
  g_string_append (xml, "x");
  for (guint i = 0; i < levels; i++)
    g_string_append (xml, "</a>");
  doc = read_ok (xml->str, &loose);
  text = sfb_xml_node_text (sfb_xml_doc_root (doc));
  g_assert_cmpstr (text, ==, "x");
  canonical = sfb_xml_canonicalize (sfb_xml_doc_root (doc));
  g_assert_cmpstr (canonical, ==, xml->str);
}

/* the tree walked into the canonicaliser: an inner element as a document
 * of its own, with the namespaces it uses declared on it */
static void
test_canonicalize (void)
{
  static const char xml[]
      = "<s:E xmlns:s='urn:s' xmlns:u='urn:u'><s:B><u:T u:Id='1' b='&lt;&quot;'>a&gt;<x/>"
        "<?p d?></u:T></s:B></s:E>";
  g_autoptr (SfbXmlDoc) doc = read_ok (xml, &limits);
  SfbXmlNode *t = sfb_xml_doc_root (doc)->children->children;
  g_autofree char *inner = sfb_xml_canonicalize (t);
  g_autofree char *whole = sfb_xml_canonicalize (sfb_xml_doc_root (doc));

  g_assert_cmpstr (
      inner, ==, "<u:T xmlns:u=\"urn:u\" b=\"&lt;&quot;\" u:Id=\"1\">a&gt;<x></x><?p d?></u:T>");
  g_assert_cmpstr (whole,
                   ==,
                   "<s:E xmlns:s=\"urn:s\"><s:B><u:T xmlns:u=\"urn:u\" b=\"&lt;&quot;\" "
                   "u:Id=\"1\">a&gt;<x></x><?p d?></u:T></s:B></s:E>");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/xml/utf8", test_utf8);
  g_test_add_func ("/xml/not-utf8", test_not_utf8);
  g_test_add_func ("/xml/declared-other", test_declared_other);
  g_test_add_func ("/xml/refused", test_refused);
  g_test_add_func ("/xml/reuse", test_reuse);
  g_test_add_func ("/xml/tree", test_tree);
  g_test_add_func ("/xml/blanks", test_blanks);
  g_test_add_func ("/xml/namespaces", test_namespaces);
  g_test_add_func ("/xml/sax", test_sax);
  g_test_add_func ("/xml/names", test_names);
  g_test_add_func ("/xml/colliding-names", test_colliding_names);
  g_test_add_func ("/xml/deep", test_deep);
  g_test_add_func ("/xml/canonicalize", test_canonicalize);
  return g_test_run ();
}
