/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfb-pw-parse: the node name of PipeWire's default-device metadata values,
 * against json-glib's reading of them (tests/oracle/sfb-pw-json-oracle.h),
 * which sfbd used before it had a reader of its own. */
#include "sfb-pw-json-oracle.h"
#include "sfb-pw-parse.h"

#include <string.h>

typedef enum
{
  AS_JSON_GLIB, /* json-glib reads the same name, or refuses too */
  STRICTER,     /* refused; json-glib, laxer, takes a name out of it */
} Reference;

typedef struct
{
  const char *label;
  const char *json;
  const char *expected; /* NULL: refused */
  Reference reference;
} Sample;

static const Sample samples[] = {
  /* what WirePlumber writes */
  { "sink",
    "{\"name\":\"alsa_output.pci-0000_00_1f.3.analog-stereo\"}",
    "alsa_output.pci-0000_00_1f.3.analog-stereo",
    AS_JSON_GLIB },
  { "spaced", " \t\r\n{ \"name\" : \"test-cam\" }\n", "test-cam", AS_JSON_GLIB },
  /* escapes */
  { "quote-backslash-solidus", "{\"name\":\"a\\\"b\\\\c\\/d\"}", "a\"b\\c/d", AS_JSON_GLIB },
  { "u-escape", "{\"name\":\"caf\\u00e9\"}", "caf\xc3\xa9", AS_JSON_GLIB },
  { "u-escape-upper", "{\"name\":\"caf\\u00E9\"}", "caf\xc3\xa9", AS_JSON_GLIB },
  { "u-escape-3-bytes", "{\"name\":\"\\u20ac\"}", "\xe2\x82\xac", AS_JSON_GLIB },
  { "surrogate-pair", "{\"name\":\"\\ud83d\\ude00!\"}", "\xf0\x9f\x98\x80!", AS_JSON_GLIB },
  { "raw-utf8", "{\"name\":\"caf\xc3\xa9\"}", "caf\xc3\xa9", AS_JSON_GLIB },
  { "escaped-key", "{\"na\\u006de\":\"x\"}", "x", AS_JSON_GLIB },
  { "newline-escape-in-name", "{\"name\":\"a\\nb\"}", NULL, AS_JSON_GLIB },
  { "empty-name", "{\"name\":\"\"}", NULL, AS_JSON_GLIB },
  /* other members, before and after, of every kind */
  { "members-around",
    "{\"a\":1,\"\":\"\",\"name\":\"x\",\"b\":[true,false,null,-0,0,1.5,-2e10,3E+2,4e-2,"
    "{\"c\":\"d\",\"e\":[]},[],{}]}",
    "x",
    AS_JSON_GLIB },
  { "nested-name-first", "{\"x\":{\"name\":\"inner\"},\"name\":\"outer\"}", "outer", AS_JSON_GLIB },
  { "nested-name-only", "{\"x\":{\"name\":\"inner\"}}", NULL, AS_JSON_GLIB },
  { "name-in-array", "{\"x\":[{\"name\":\"inner\"}]}", NULL, AS_JSON_GLIB },
  { "no-name", "{}", NULL, AS_JSON_GLIB },
  { "other-keys", "{\"names\":\"x\",\"nam\":\"y\",\"Name\":\"z\"}", NULL, AS_JSON_GLIB },
  /* duplicates: the last one counts, as in json-glib */
  { "duplicate", "{\"name\":\"first\",\"name\":\"second\"}", "second", AS_JSON_GLIB },
  { "duplicate-number-first", "{\"name\":1,\"name\":\"s\"}", "s", AS_JSON_GLIB },
  { "duplicate-number-last", "{\"name\":\"s\",\"name\":1}", NULL, AS_JSON_GLIB },
  /* "name" not a string */
  { "name-number", "{\"name\":1}", NULL, AS_JSON_GLIB },
  { "name-null", "{\"name\":null}", NULL, AS_JSON_GLIB },
  { "name-true", "{\"name\":true}", NULL, AS_JSON_GLIB },
  { "name-object", "{\"name\":{\"name\":\"a\"}}", NULL, AS_JSON_GLIB },
  { "name-array", "{\"name\":[\"a\"]}", NULL, AS_JSON_GLIB },
  /* not an object */
  { "empty", "", NULL, AS_JSON_GLIB },
  { "blank", "  \n", NULL, AS_JSON_GLIB },
  { "array", "[\"name\"]", NULL, AS_JSON_GLIB },
  { "string", "\"name\"", NULL, AS_JSON_GLIB },
  { "bare-name", "alsa_output.x", NULL, AS_JSON_GLIB },
  /* truncated, unbalanced */
  { "truncated-object", "{\"name\":\"a\"", NULL, AS_JSON_GLIB },
  { "truncated-string", "{\"name\":\"a", NULL, AS_JSON_GLIB },
  { "truncated-escape", "{\"name\":\"a\\", NULL, AS_JSON_GLIB },
  { "truncated-u-escape", "{\"name\":\"a\\u00", NULL, AS_JSON_GLIB },
  { "truncated-value", "{\"name\":", NULL, AS_JSON_GLIB },
  { "truncated-key", "{\"na", NULL, AS_JSON_GLIB },
  { "open-brace", "{", NULL, AS_JSON_GLIB },
  { "nul-inside", "{\"name\":\"a\0\"}", NULL, AS_JSON_GLIB },
  { "extra-brace", "{\"name\":\"a\"}}", NULL, AS_JSON_GLIB },
  { "mismatched", "{\"x\":[},\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  { "unclosed-inner", "{\"x\":{\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  { "trailing-word", "{\"name\":\"a\"} x", NULL, AS_JSON_GLIB },
  { "trailing-comma", "{\"name\":\"a\",}", NULL, AS_JSON_GLIB },
  { "trailing-comma-array", "{\"x\":[1,],\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  { "missing-colon", "{\"name\" \"a\"}", NULL, AS_JSON_GLIB },
  { "equals", "{\"name\"=\"a\"}", NULL, AS_JSON_GLIB },
  { "missing-comma", "{\"x\":1 \"name\":\"a\"}", NULL, AS_JSON_GLIB },
  { "bare-key", "{name:\"a\"}", NULL, AS_JSON_GLIB },
  { "plus-number", "{\"x\":+1,\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  { "bad-exponent", "{\"x\":1e,\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  { "capital-true", "{\"x\":True,\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  { "odd-case-true", "{\"x\":tRUE,\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  { "misspelt-true", "{\"x\":trux,\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  { "cut-null", "{\"x\":nul,\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  { "form-feed", "\f{\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  /* not UTF-8 */
  { "cut-sequence", "{\"name\":\"\xc3\"}", NULL, AS_JSON_GLIB },
  { "encoded-surrogate", "{\"name\":\"\xed\xa0\x80\"}", NULL, AS_JSON_GLIB },
  { "overlong", "{\"name\":\"\xc0\xaf\"}", NULL, AS_JSON_GLIB },
  { "bad-byte-elsewhere", "{\"x\":\"\xff\",\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  { "bad-byte-after", "{\"name\":\"a\"}\xfe", NULL, AS_JSON_GLIB },
  { "lone-high-surrogate", "{\"name\":\"a\\ud800\"}", NULL, AS_JSON_GLIB },
  { "lone-low-surrogate", "{\"name\":\"a\\udc00b\"}", NULL, AS_JSON_GLIB },
  { "reversed-pair", "{\"name\":\"\\ude00\\ud83d\"}", NULL, AS_JSON_GLIB },
  { "lone-surrogate-elsewhere", "{\"x\":\"\\ud800\",\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  { "lone-low-surrogate-elsewhere", "{\"x\":\"\\udc00\",\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  { "high-surrogate-then-escape", "{\"x\":\"\\ud800\\u0041\",\"name\":\"a\"}", NULL, AS_JSON_GLIB },
  /* json-glib takes more than JSON: sfbd does not */
  { "trailing-object", "{\"name\":\"a\"} {}", NULL, STRICTER },
  { "single-quotes", "{'name':'a'}", NULL, STRICTER },
  { "comment", "{\"name\":\"a\" /* c */}", NULL, STRICTER },
  { "leading-zero", "{\"x\":01,\"name\":\"a\"}", NULL, STRICTER },
  { "bare-fraction", "{\"x\":.5,\"name\":\"a\"}", NULL, STRICTER },
  { "no-fraction-digit", "{\"x\":1.,\"name\":\"a\"}", NULL, STRICTER },
  { "hex-number", "{\"x\":0x10,\"name\":\"a\"}", NULL, STRICTER },
  { "raw-tab-elsewhere", "{\"x\":\"a\tb\",\"name\":\"a\"}", NULL, STRICTER },
  { "unknown-escape-elsewhere", "{\"x\":\"\\q\",\"name\":\"a\"}", NULL, STRICTER },
  { "bad-hex-elsewhere", "{\"x\":\"\\u12G4\",\"name\":\"a\"}", NULL, STRICTER },
  { "lone-surrogate-in-text-elsewhere", "{\"x\":\"\\ud800x\",\"name\":\"a\"}", NULL, STRICTER },
  /* a C string ends at U+0000: json-glib cut the name there, and keys */
  { "u0000-in-name", "{\"name\":\"a\\u0000b\"}", NULL, STRICTER },
  { "u0000-in-key", "{\"name\\u0000x\":\"a\"}", NULL, STRICTER },
  { "u0000-key-after-name", "{\"name\":\"a\",\"name\\u0000\":\"b\"}", NULL, STRICTER },
};

static void
assert_sample (const Sample *sample)
{
  g_autofree char *name = sfb_pw_parse_default_name (sample->json);
  g_autofree char *reference = sfb_pw_json_oracle_default_name (sample->json);

  g_test_message ("%s", sample->label);
  g_assert_cmpstr (name, ==, sample->expected);
  if (sample->reference == AS_JSON_GLIB)
    g_assert_cmpstr (reference, ==, name);
  else
    g_assert_nonnull (reference);
}

static void
test_samples (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (samples); i++)
    assert_sample (&samples[i]);
}

/* {"name":"<name>"} with @padding spaces before it */
static char *
object_with_name (gsize name_length, gsize padding)
{
  g_autofree char *name = g_strnfill (name_length, 'n');
  g_autofree char *spaces = g_strnfill (padding, ' ');

  return g_strdup_printf ("%s{\"name\":\"%s\"}", spaces, name);
}

static void
test_limits (void)
{
  g_autofree char *longest_name = object_with_name (SFB_PW_MAX_NAME, 0);
  g_autofree char *too_long_name = object_with_name (SFB_PW_MAX_NAME + 1, 0);
  g_autofree char *longest_value = object_with_name (8, SFB_PW_MAX_JSON - 19);
  g_autofree char *too_long_value = object_with_name (8, SFB_PW_MAX_JSON - 18);
  g_autofree char *name = NULL;

  g_assert_cmpuint (strlen (longest_value), ==, SFB_PW_MAX_JSON);
  name = sfb_pw_parse_default_name (longest_name);
  g_assert_cmpuint (name != NULL ? strlen (name) : 0, ==, SFB_PW_MAX_NAME);
  g_assert_null (sfb_pw_parse_default_name (too_long_name));
  g_clear_pointer (&name, g_free);
  name = sfb_pw_parse_default_name (longest_value);
  g_assert_cmpstr (name, ==, "nnnnnnnn");
  g_assert_null (sfb_pw_parse_default_name (too_long_value));
  g_assert_null (sfb_pw_parse_default_name (NULL));
}

/* {"x":[{"k":[…0…]}],"name":"deep"}: @depth objects and arrays, the outer one counted */
static char *
nested (guint depth)
{
  GString *json = g_string_new ("{\"x\":");

  for (guint i = 1; i < depth; i++)
    g_string_append (json, i % 2 ? "[" : "{\"k\":");
  g_string_append_c (json, '0');
  for (guint i = depth - 1; i > 0; i--)
    g_string_append_c (json, i % 2 ? ']' : '}');
  g_string_append (json, ",\"name\":\"deep\"}");
  return g_string_free (json, FALSE);
}

static void
test_depth (void)
{
  g_autofree char *deepest = nested (SFB_PW_MAX_JSON_DEPTH);
  g_autofree char *too_deep = nested (SFB_PW_MAX_JSON_DEPTH + 1);
  g_autofree char *name = sfb_pw_parse_default_name (deepest);
  g_autofree char *reference = sfb_pw_json_oracle_default_name (too_deep);

  g_assert_cmpstr (name, ==, "deep");
  g_assert_null (sfb_pw_parse_default_name (too_deep));
  /* json-glib has no such limit: only sfbd refuses it */
  g_assert_cmpstr (reference, ==, "deep");
}

/* Every input of the fuzz target: a name sfbd reads is the one json-glib read */
static void
test_fuzz_corpus (void)
{
  const char *dirs[] = { "seeds-pw", "corpus-pw-parse" };
  guint accepted = 0;
  guint read = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "fuzz", dirs[i], NULL);
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *file;

      g_assert_nonnull (dir);
      while ((file = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *file_path = g_build_filename (path, file, NULL);
          g_autofree char *data = NULL;
          gsize length;
          g_autofree char *name = NULL;
          g_autofree char *reference = NULL;

          g_assert_true (g_file_get_contents (file_path, &data, &length, NULL));
          name = sfb_pw_parse_default_name (data);
          reference = sfb_pw_json_oracle_default_name (data);
          if (name != NULL)
            {
              g_assert_cmpstr (name, ==, reference);
              accepted++;
            }
          read++;
        }
    }
  g_test_message ("%u inputs, %u names", read, accepted);
  g_assert_cmpuint (accepted, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pw-parse/default-name/samples", test_samples);
  g_test_add_func ("/pw-parse/default-name/limits", test_limits);
  g_test_add_func ("/pw-parse/default-name/depth", test_depth);
  g_test_add_func ("/pw-parse/default-name/fuzz-corpus", test_fuzz_corpus);
  return g_test_run ();
}
