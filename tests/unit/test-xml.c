/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfb_xml_read: the verdicts on server documents, and what the parsed text
 * holds, whatever encoding the bytes claim. */
#include "config.h"

#include "sfb-xml.h"

#include <string.h>

static const SfbXmlLimits limits = { 4096, 4, 8, 0 };

static SfbXmlVerdict
read_doc (const char *data, gsize length, char **root_text)
{
  SfbXmlVerdict verdict = SFB_XML_OK;
  g_autoptr (xmlDoc) doc = sfb_xml_read (data, length, &limits, &verdict);

  g_assert_true ((doc != NULL) == (verdict == SFB_XML_OK));
  if (doc != NULL && root_text != NULL)
    {
      xmlChar *text = xmlNodeGetContent (xmlDocGetRootElement (doc));

      *root_text = g_strdup ((const char *) text);
      xmlFree (text);
    }
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
  g_autofree char *large = g_strnfill (limits.max_document + 1, ' ');

  g_assert_cmpint (read_doc ("", 0, NULL), ==, SFB_XML_EMPTY);
  g_assert_cmpint (read_doc (large, strlen (large), NULL), ==, SFB_XML_TOO_LARGE);
  g_assert_cmpint (read_doc (dtd, strlen (dtd), NULL), ==, SFB_XML_DTD);
  /* found after other "<!" too; a comment alone is fine */
  g_assert_cmpint (read_doc (entity, strlen (entity), NULL), ==, SFB_XML_DTD);
  assert_text (comment, strlen (comment), "x");
  g_assert_cmpint (read_doc ("<a><b></a>", 10, NULL), ==, SFB_XML_MALFORMED);
  g_assert_cmpint (read_doc ("   ", 3, NULL), ==, SFB_XML_MALFORMED);
  g_assert_cmpint (read_doc (deep, strlen (deep), NULL), ==, SFB_XML_TOO_DEEP);
  g_assert_cmpint (read_doc (many, strlen (many), NULL), ==, SFB_XML_TOO_MANY_ELEMENTS);
}

/* the parser context is reused: a refused document leaves nothing behind */
static void
test_reuse (void)
{
  for (guint i = 0; i < 50; i++)
    {
      g_assert_cmpint (read_doc ("<a><b></a>", 10, NULL), ==, SFB_XML_MALFORMED);
      assert_text ("<a>ok</a>", 9, "ok");
    }
}

/* the reused context freed at an idle moment (sfb-memory.h): the next
 * read makes another, and a release with none is harmless */
static void
test_release (void)
{
  sfb_xml_release_parser ();
  assert_text ("<a>one</a>", 10, "one");
  sfb_xml_release_parser ();
  sfb_xml_release_parser ();
  g_assert_cmpint (read_doc ("<a><b></a>", 10, NULL), ==, SFB_XML_MALFORMED);
  sfb_xml_release_parser ();
  assert_text ("<a>two</a>", 10, "two");
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
  g_test_add_func ("/xml/release", test_release);
  return g_test_run ();
}
