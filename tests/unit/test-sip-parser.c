/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-sip-parser.h"

#include <string.h>

static const char *const fixtures[] = {
  "register-401.sip",
  "register-200.sip",
  "redirect-301.sip",
  "benotify.sip",
};

static char *
data_path (const char *subdir, const char *name)
{
  const char *dir = g_getenv ("SFB_TEST_DATA");

  if (dir != NULL)
    return g_build_filename (dir, subdir, name, NULL);
  return g_test_build_filename (G_TEST_DIST, "..", "data", subdir, name, NULL);
}

static GBytes *
load (const char *subdir, const char *name)
{
  g_autofree char *path = data_path (subdir, name);
  g_autoptr (GError) error = NULL;
  char *contents;
  gsize len;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

/* the fixtures with keep-alives around and between them: 2 + 1 + 1 + 1 + 2 */
static GBytes *
build_stream (void)
{
  g_autoptr (GByteArray) stream = g_byte_array_new ();

  g_byte_array_append (stream, (const guint8 *) "\r\n\r\n", 4);
  for (gsize i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_autoptr (GBytes) bytes = load ("sip", fixtures[i]);

      if (i > 0)
        g_byte_array_append (stream, (const guint8 *) "\r\n", 2);
      g_byte_array_append (stream, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    }
  g_byte_array_append (stream, (const guint8 *) "\r\n\r\n", 4);
  return g_byte_array_free_to_bytes (g_steal_pointer (&stream));
}

typedef gsize (*ChunkFunc) (gpointer data, gsize left);

static GPtrArray *
feed_in_chunks (GBytes *input, ChunkFunc next_chunk, gpointer chunk_data, guint64 *keepalives)
{
  g_autoptr (SfbSipParser) parser = sfb_sip_parser_new ();
  GPtrArray *messages = g_ptr_array_new_with_free_func (g_object_unref);
  gsize len, off = 0;
  const char *data = g_bytes_get_data (input, &len);

  while (off < len)
    {
      g_autoptr (GError) error = NULL;
      gsize n = next_chunk (chunk_data, len - off);
      SfbSipMessage *msg;

      n = MIN (n, len - off);
      g_assert_true (sfb_sip_parser_feed (parser, data + off, n, &error));
      g_assert_no_error (error);
      off += n;
      while ((msg = sfb_sip_parser_pop (parser)) != NULL)
        g_ptr_array_add (messages, msg);
    }
  g_assert_false (sfb_sip_parser_has_partial (parser));
  g_assert_cmpuint (sfb_sip_parser_get_buffered (parser), ==, 0);
  *keepalives = sfb_sip_parser_get_n_keepalives (parser);
  return messages;
}

static gsize
chunk_whole (gpointer data, gsize left)
{
  return left;
}

static gsize
chunk_bytewise (gpointer data, gsize left)
{
  return 1;
}

static gsize
chunk_random (gpointer data, gsize left)
{
  return (gsize) g_rand_int_range (data, 1, 200);
}

static gsize
chunk_test_rand (gpointer data, gsize left)
{
  return (gsize) g_test_rand_int_range (1, 64);
}

static void
assert_same_messages (GPtrArray *a, GPtrArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      SfbSipMessage *x = a->pdata[i], *y = b->pdata[i];
      g_autoptr (GBytes) bx = sfb_sip_message_to_bytes (x);
      g_autoptr (GBytes) by = sfb_sip_message_to_bytes (y);

      g_assert_true (g_bytes_equal (bx, by));
      g_assert_cmpstr (sfb_sip_message_get_start_line (x), ==, sfb_sip_message_get_start_line (y));
      g_assert_cmpuint (sfb_sip_message_get_n_headers (x), ==, sfb_sip_message_get_n_headers (y));
      g_assert_true (g_bytes_equal (sfb_sip_message_get_body (x), sfb_sip_message_get_body (y)));
      g_assert_cmpstr (
          sfb_sip_message_get_header (x, "Call-ID"), ==, sfb_sip_message_get_header (y, "Call-ID"));
    }
}

static void
test_chunkings (void)
{
  g_autoptr (GBytes) stream = build_stream ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (4475);
  g_autoptr (GPtrArray) whole = NULL;
  g_autoptr (GPtrArray) bytewise = NULL;
  g_autoptr (GPtrArray) random = NULL;
  g_autoptr (GPtrArray) test_random = NULL;
  guint64 k_whole, k_bytes, k_random, k_test;

  whole = feed_in_chunks (stream, chunk_whole, NULL, &k_whole);
  bytewise = feed_in_chunks (stream, chunk_bytewise, NULL, &k_bytes);
  random = feed_in_chunks (stream, chunk_random, rand, &k_random);
  test_random = feed_in_chunks (stream, chunk_test_rand, NULL, &k_test);

  g_assert_cmpuint (whole->len, ==, G_N_ELEMENTS (fixtures));
  g_assert_cmpuint (k_whole, ==, 7);
  g_assert_cmpuint (k_bytes, ==, 7);
  g_assert_cmpuint (k_random, ==, 7);
  g_assert_cmpuint (k_test, ==, 7);
  assert_same_messages (whole, bytewise);
  assert_same_messages (whole, random);
  assert_same_messages (whole, test_random);

  /* each message is its fixture, byte for byte */
  for (gsize i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_autoptr (GBytes) expected = load ("sip", fixtures[i]);
      g_autoptr (GBytes) out = sfb_sip_message_to_bytes (whole->pdata[i]);

      g_assert_true (g_bytes_equal (expected, out));
    }
  g_assert_cmpuint (sfb_sip_message_get_status_code (whole->pdata[0]), ==, 401);
  g_assert_cmpstr (sfb_sip_message_get_method (whole->pdata[3]), ==, "BENOTIFY");
  g_assert_cmpuint (g_bytes_get_size (sfb_sip_message_get_body (whole->pdata[3])), ==, 196);
}

static void
test_keepalives (void)
{
  g_autoptr (SfbSipParser) parser = sfb_sip_parser_new ();
  g_autoptr (GError) error = NULL;

  g_assert_true (sfb_sip_parser_feed (parser, "\r\n\r\n", 4, &error)); /* ping */
  g_assert_cmpuint (sfb_sip_parser_get_n_keepalives (parser), ==, 2);
  g_assert_true (sfb_sip_parser_feed (parser, "\r", 1, &error)); /* pong, split */
  g_assert_cmpuint (sfb_sip_parser_get_n_keepalives (parser), ==, 2);
  g_assert_true (sfb_sip_parser_feed (parser, "\n", 1, &error));
  g_assert_cmpuint (sfb_sip_parser_get_n_keepalives (parser), ==, 3);
  g_assert_false (sfb_sip_parser_has_partial (parser));
  g_assert_cmpuint (sfb_sip_parser_get_n_pending (parser), ==, 0);
  g_assert_null (sfb_sip_parser_pop (parser));
  g_assert_no_error (error);
}

static void
test_partial (void)
{
  static const char text[] = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhello"
                             "OPTIONS sip:a@b SIP/2.0\r\n\r\n";
  g_autoptr (SfbSipParser) parser = sfb_sip_parser_new ();
  g_autoptr (SfbSipMessage) first = NULL;
  g_autoptr (SfbSipMessage) second = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (sfb_sip_parser_feed (parser, text, 30, &error));
  g_assert_true (sfb_sip_parser_has_partial (parser));
  g_assert_cmpuint (sfb_sip_parser_get_buffered (parser), ==, 30);
  g_assert_true (sfb_sip_parser_feed (parser, text + 30, 20, &error));
  g_assert_true (sfb_sip_parser_has_partial (parser));
  g_assert_cmpuint (sfb_sip_parser_get_n_pending (parser), ==, 0);
  g_assert_true (sfb_sip_parser_feed (parser, text + 50, sizeof text - 1 - 50, &error));
  g_assert_no_error (error);
  g_assert_false (sfb_sip_parser_has_partial (parser));
  g_assert_cmpuint (sfb_sip_parser_get_n_pending (parser), ==, 2);
  first = sfb_sip_parser_pop (parser);
  second = sfb_sip_parser_pop (parser);
  g_assert_cmpmem (g_bytes_get_data (sfb_sip_message_get_body (first), NULL),
                   g_bytes_get_size (sfb_sip_message_get_body (first)),
                   "hello",
                   5);
  /* no Content-Length and no Content-Type on a stream: an empty body */
  g_assert_cmpstr (sfb_sip_message_get_method (second), ==, "OPTIONS");
  g_assert_cmpuint (g_bytes_get_size (sfb_sip_message_get_body (second)), ==, 0);
}

static void
test_failed_state (void)
{
  static const char good[] = "OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n\r\n";
  static const char bad[]
      = "INVITE sip:a@b SIP/2.0\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n";
  g_autoptr (SfbSipParser) parser = sfb_sip_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) both = g_string_new (good);
  g_autoptr (SfbSipMessage) msg = NULL;
  g_autoptr (SfbSipMessage) again = NULL;

  g_string_append (both, bad);
  g_assert_false (sfb_sip_parser_feed (parser, both->str, both->len, &error));
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED);
  g_assert_nonnull (strstr (error->message, "Content-Type without Content-Length"));
  g_assert_true (sfb_sip_parser_is_failed (parser));
  g_assert_cmpuint (sfb_sip_parser_get_buffered (parser), ==, 0);
  /* the message before the error is still delivered */
  msg = sfb_sip_parser_pop (parser);
  g_assert_nonnull (msg);
  g_clear_error (&error);
  g_assert_false (sfb_sip_parser_feed (parser, good, sizeof good - 1, &error));
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_FAILED);
  g_clear_error (&error);

  sfb_sip_parser_reset (parser);
  g_assert_false (sfb_sip_parser_is_failed (parser));
  g_assert_true (sfb_sip_parser_feed (parser, good, sizeof good - 1, &error));
  again = sfb_sip_parser_pop (parser);
  g_assert_nonnull (again);
}

static void
test_framing_errors (void)
{
  static const struct
  {
    const char *text;
    int code;
  } cases[] = {
    { "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5\r\nl: 5\r\n\r\nhello",
      SFB_SIP_ERROR_MALFORMED },
    { "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -999\r\n\r\n", SFB_SIP_ERROR_MALFORMED },
    { "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0x10\r\n\r\n", SFB_SIP_ERROR_MALFORMED },
    { "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 4194305\r\n\r\n", SFB_SIP_ERROR_TOO_LARGE },
    { "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
      SFB_SIP_ERROR_TOO_LARGE },
    { "OPTIONS sip:a@b SIP/9.0\r\n\r\n", SFB_SIP_ERROR_UNSUPPORTED_VERSION },
    { "garbage\r\n\r\n", SFB_SIP_ERROR_MALFORMED },
    { "\x16\x03\x01\x02\x05\x01\x07\x01\xfc\x03\x03\r\n\r\n", SFB_SIP_ERROR_MALFORMED },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (SfbSipParser) parser = sfb_sip_parser_new ();
      g_autoptr (GError) error = NULL;

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_false (sfb_sip_parser_feed (parser, cases[i].text, strlen (cases[i].text), &error));
      g_assert_error (error, SFB_SIP_ERROR, cases[i].code);
      g_assert_cmpuint (sfb_sip_parser_get_n_pending (parser), ==, 0);
    }
}

/* feeds in 997-byte pieces until an error, checking the buffer bound */
static GError *
feed_until_error (GBytes *input, gsize *max_buffered)
{
  g_autoptr (SfbSipParser) parser = sfb_sip_parser_new ();
  GError *error = NULL;
  gsize len, off = 0;
  const char *data = g_bytes_get_data (input, &len);

  *max_buffered = 0;
  while (off < len)
    {
      gsize n = MIN (997, len - off);

      if (!sfb_sip_parser_feed (parser, data + off, n, &error))
        return error;
      *max_buffered = MAX (*max_buffered, sfb_sip_parser_get_buffered (parser));
      off += n;
    }
  return NULL;
}

static GBytes *
message_with_headers (guint n_headers, gsize value_len, gsize content_length)
{
  GString *text = g_string_new ("MESSAGE sip:a@b SIP/2.0\r\n");
  g_autofree char *value = g_strnfill (value_len, 'x');

  for (guint i = 0; i < n_headers; i++)
    g_string_append_printf (text, "X-Filler-%u: %s\r\n", i, value);
  g_string_append_printf (text, "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n", content_length);
  return g_string_free_to_bytes (text);
}

static void
test_limit_header_section (void)
{
  g_autoptr (GBytes) input = message_with_headers (100, 1000, 0);
  g_autoptr (GError) error = NULL;
  gsize max_buffered;

  error = feed_until_error (input, &max_buffered);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "header section"));
  g_assert_cmpuint (max_buffered, <=, SFB_SIP_MAX_HEADER_SECTION);
}

static void
test_limit_header_count (void)
{
  g_autoptr (GBytes) ok = message_with_headers (SFB_SIP_MAX_HEADERS - 1, 1, 0);
  g_autoptr (GBytes) input = message_with_headers (SFB_SIP_MAX_HEADERS, 1, 0);
  g_autoptr (GError) error = NULL;
  gsize max_buffered;

  /* Content-Length is the 256th header */
  g_assert_null (feed_until_error (ok, &max_buffered));
  error = feed_until_error (input, &max_buffered);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "header count"));
}

static void
test_limit_line (void)
{
  g_autoptr (GBytes) ok = message_with_headers (1, SFB_SIP_MAX_LINE - strlen ("X-Filler-0: "), 0);
  g_autoptr (GBytes) long_line = message_with_headers (1, SFB_SIP_MAX_LINE, 0);
  g_autoptr (SfbSipParser) parser = sfb_sip_parser_new ();
  g_autofree char *endless = g_strnfill (SFB_SIP_MAX_LINE + 10, 'A');
  g_autoptr (GError) error = NULL;
  gsize max_buffered;

  g_assert_null (feed_until_error (ok, &max_buffered));
  error = feed_until_error (long_line, &max_buffered);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "line length"));
  g_clear_error (&error);

  /* no line end at all: the error comes without waiting for one */
  g_assert_false (sfb_sip_parser_feed (parser, endless, SFB_SIP_MAX_LINE + 10, &error));
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE);
}

static void
test_limit_body (void)
{
  g_autoptr (GBytes) huge = message_with_headers (1, 10, SFB_SIP_MAX_BODY + 1);
  g_autoptr (GBytes) max_head = message_with_headers (1, 10, SFB_SIP_MAX_BODY);
  g_autoptr (SfbSipParser) parser = sfb_sip_parser_new ();
  g_autofree char *body = g_malloc0 (SFB_SIP_MAX_BODY);
  g_autoptr (SfbSipMessage) msg = NULL;
  g_autoptr (GError) error = NULL;
  gsize max_buffered;

  /* refused on the header alone, before any body byte is buffered */
  error = feed_until_error (huge, &max_buffered);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "Content-Length"));

  g_assert_true (sfb_sip_parser_feed (
      parser, g_bytes_get_data (max_head, NULL), g_bytes_get_size (max_head), NULL));
  g_assert_true (sfb_sip_parser_feed (parser, body, SFB_SIP_MAX_BODY, NULL));
  msg = sfb_sip_parser_pop (parser);
  g_assert_nonnull (msg);
  g_assert_cmpuint (g_bytes_get_size (sfb_sip_message_get_body (msg)), ==, SFB_SIP_MAX_BODY);
}

/* a TLS-DSK server flight in one gssapi-data parameter fits the line limit */
static void
test_big_challenge (void)
{
  g_autofree char *blob = g_strnfill (20000, 'Q');
  g_autofree char *text = g_strdup_printf (
      "SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: TLS-DSK opaque=\"1\", gssapi-data=\"%s\"\r\n"
      "Content-Length: 0\r\n\r\n",
      blob);
  g_autoptr (SfbSipParser) parser = sfb_sip_parser_new ();
  g_autoptr (SfbSipMessage) msg = NULL;

  g_assert_true (sfb_sip_parser_feed (parser, text, strlen (text), NULL));
  msg = sfb_sip_parser_pop (parser);
  g_assert_nonnull (msg);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sip/parser/chunkings", test_chunkings);
  g_test_add_func ("/sip/parser/keepalives", test_keepalives);
  g_test_add_func ("/sip/parser/partial", test_partial);
  g_test_add_func ("/sip/parser/failed-state", test_failed_state);
  g_test_add_func ("/sip/parser/framing-errors", test_framing_errors);
  g_test_add_func ("/sip/parser/limit-header-section", test_limit_header_section);
  g_test_add_func ("/sip/parser/limit-header-count", test_limit_header_count);
  g_test_add_func ("/sip/parser/limit-line", test_limit_line);
  g_test_add_func ("/sip/parser/limit-body", test_limit_body);
  g_test_add_func ("/sip/parser/big-challenge", test_big_challenge);

  return g_test_run ();
}
