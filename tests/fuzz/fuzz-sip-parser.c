/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the SIP stream parser, fed whole, in chunks whose size
 * comes from the input, and byte by byte; all must agree.  Every message
 * also goes through the serialiser, redaction, validation, the header value
 * parsers and the signature buffer, and the datagram parser sees the input.
 */
#include "sfb-sip-auth-header.h"
#include "sfb-sip-parser.h"
#include "sfb-sip-signature.h"
#include "sfb-sip-uri.h"

#include <string.h>
#include "sfb-sip-via.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct
{
  GPtrArray *messages;
  gboolean failed;
  gboolean partial;
  guint64 keepalives;
} Run;

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->messages, g_ptr_array_unref);
}

static void
feed (Run *run, const char *data, gsize size, gsize chunk)
{
  g_autoptr (SfbSipParser) parser = sfb_sip_parser_new ();
  SfbSipMessage *msg;

  run->messages = g_ptr_array_new_with_free_func (g_object_unref);
  for (gsize off = 0; off < size; off += chunk)
    {
      if (!sfb_sip_parser_feed (parser, data + off, MIN (chunk, size - off), NULL))
        {
          run->failed = TRUE;
          break;
        }
      if (sfb_sip_parser_get_buffered (parser) > SFB_SIP_MAX_HEADER_SECTION + SFB_SIP_MAX_BODY)
        abort ();
    }
  while ((msg = sfb_sip_parser_pop (parser)) != NULL)
    g_ptr_array_add (run->messages, msg);
  run->partial = sfb_sip_parser_has_partial (parser);
  run->keepalives = sfb_sip_parser_get_n_keepalives (parser);
}

static void
assert_same (const Run *a, const Run *b)
{
  if (a->messages->len != b->messages->len || a->failed != b->failed || a->partial != b->partial
      || a->keepalives != b->keepalives)
    abort ();
  for (guint i = 0; i < a->messages->len; i++)
    {
      g_autoptr (GBytes) x = sfb_sip_message_to_bytes (a->messages->pdata[i]);
      g_autoptr (GBytes) y = sfb_sip_message_to_bytes (b->messages->pdata[i]);

      if (!g_bytes_equal (x, y))
        abort ();
    }
}

/* serialising is stable: what comes out parses back to the same bytes */
static void
check_round_trip (SfbSipMessage *msg)
{
  g_autoptr (GBytes) out = sfb_sip_message_to_bytes (msg);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) again = NULL;
  g_autoptr (GBytes) out2 = NULL;

  again = sfb_sip_message_parse (g_bytes_get_data (out, NULL), g_bytes_get_size (out), &error);
  if (again == NULL)
    {
      /* only an added Content-Length header can push a message over a limit */
      if (!g_error_matches (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE))
        abort ();
      return;
    }
  out2 = sfb_sip_message_to_bytes (again);
  if (!g_bytes_equal (out, out2))
    abort ();
}

/* validation's and the signature's name-addr check gives the parse's
 * verdict and error, and its URI and tag */
static void
check_name_addr (const char *value, gsize len)
{
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (GError) check_error = NULL;
  g_autoptr (SfbSipNameAddr) addr = sfb_sip_name_addr_parse (value, (gssize) len, &parse_error);
  SfbSipNameAddrView view;
  gboolean ok = sfb_sip_name_addr_check (value, (gssize) len, &view, &check_error);
  const char *uri, *tag;

  if (ok != (addr != NULL))
    abort ();
  if (addr == NULL)
    {
      if (check_error->domain != parse_error->domain || check_error->code != parse_error->code
          || strcmp (check_error->message, parse_error->message) != 0)
        abort ();
      return;
    }
  uri = sfb_sip_name_addr_get_uri (addr);
  tag = sfb_sip_name_addr_get_tag (addr);
  if (view.uri_len != strlen (uri) || memcmp (view.uri, uri, view.uri_len) != 0
      || (view.tag != NULL) != (tag != NULL)
      || (tag != NULL
          && (view.tag_len != strlen (tag) || memcmp (view.tag, tag, view.tag_len) != 0)))
    abort ();
}

static void
exercise_values (SfbSipMessage *msg)
{
  for (guint i = 0; i < sfb_sip_message_get_n_headers (msg); i++)
    {
      gsize len;
      const char *value = sfb_sip_message_get_header_value (msg, i, &len);
      g_autoptr (GPtrArray) addrs = sfb_sip_name_addr_parse_list (value, (gssize) len, NULL);
      g_autoptr (GError) via_error = NULL;
      g_autoptr (GError) via_check_error = NULL;
      g_autoptr (GPtrArray) vias = sfb_sip_via_parse_list (value, (gssize) len, &via_error);
      gboolean via_ok = sfb_sip_via_check_list (value, (gssize) len, &via_check_error);
      g_autoptr (GPtrArray) auths = sfb_sip_auth_parse (value, (gssize) len, NULL);
      g_auto (GStrv) list = sfb_sip_split_list (value, (gssize) len);

      check_name_addr (value, len);
      /* validation's Via check gives the parse's verdict and error */
      if (via_ok != (vias != NULL)
          || (vias == NULL
              && (via_check_error == NULL || via_check_error->code != via_error->code
                  || strcmp (via_check_error->message, via_error->message) != 0)))
        abort ();
      /* a parse that succeeds yields at least one element */
      if (list == NULL || (addrs != NULL && addrs->len == 0) || (vias != NULL && vias->len == 0)
          || (auths != NULL && auths->len == 0))
        abort ();
      for (guint j = 0; addrs != NULL && j < addrs->len; j++)
        {
          g_autoptr (SfbSipUri) uri = sfb_sip_name_addr_parse_uri (addrs->pdata[j], NULL);

          if (uri != NULL && sfb_sip_uri_to_string (uri) == NULL)
            abort ();
          (void) sfb_sip_name_addr_get_tag (addrs->pdata[j]);
        }
    }
}

/* the signature check's view of a message's Authentication-Info finds
 * the challenge the built lists give */
static void
check_auth_view (SfbSipMessage *msg, GPtrArray *infos, const char *scheme)
{
  static SfbSipAuthView view;
  const SfbSipAuth *auth = sfb_sip_auth_find (infos, scheme);

  if (sfb_sip_auth_view_find_message (&view, msg, "Authentication-Info", scheme) != (auth != NULL)
      || view.found != (auth != NULL))
    abort ();
  if (auth == NULL)
    return;
  if (strcmp (sfb_sip_auth_view_get_scheme (&view), sfb_sip_auth_get_scheme (auth)) != 0
      || view.n_params != sfb_sip_auth_get_n_params (auth))
    abort ();
  for (guint i = 0; i < view.n_params; i++)
    {
      const char *name = sfb_sip_auth_get_param_name (auth, i);

      if (view.params[i].name_len != strlen (name)
          || memcmp (view.params[i].name, name, view.params[i].name_len) != 0
          || strcmp (sfb_sip_auth_view_get_param_value (&view, i),
                     sfb_sip_auth_get_param_value (auth, i))
                 != 0)
        abort ();
    }
}

static void
exercise (SfbSipMessage *msg)
{
  g_autofree char *redacted = sfb_sip_message_to_string_redacted (msg);
  g_autofree char *text = sfb_sip_message_to_string (msg);
  g_autofree char *buffer = NULL;
  g_autoptr (GPtrArray) infos = sfb_sip_auth_parse_message (msg, "Authentication-Info");
  SfbSipSignatureParams params = { "NTLM", "1", "1", "realm", "target", 4 };
  const char *ruri = sfb_sip_message_get_request_uri (msg);

  if (redacted == NULL || text == NULL)
    abort ();
  (void) sfb_sip_message_validate (msg, NULL);
  if (ruri != NULL)
    {
      g_autoptr (GError) parse_error = NULL;
      g_autoptr (GError) check_error = NULL;
      g_autoptr (SfbSipUri) uri = sfb_sip_uri_parse (ruri, -1, &parse_error);
      guint n_headers = G_MAXUINT;
      gboolean checked = sfb_sip_uri_check (ruri, -1, &n_headers, &check_error);

      if (uri != NULL && sfb_sip_uri_to_string (uri) == NULL)
        abort ();
      /* validation's check gives the parse's verdict, error and headers */
      if (checked != (uri != NULL) || (uri != NULL && n_headers != sfb_sip_uri_get_n_headers (uri))
          || (uri == NULL
              && (check_error == NULL || check_error->domain != parse_error->domain
                  || check_error->code != parse_error->code
                  || strcmp (check_error->message, parse_error->message) != 0)))
        abort ();
    }
  check_auth_view (msg, infos, "NTLM");
  if (infos->len > 0)
    check_auth_view (msg, infos, sfb_sip_auth_get_scheme (infos->pdata[0]));
  if (infos->len > 0)
    (void) sfb_sip_signature_params_init_from_auth (&params, infos->pdata[0], NULL);
  buffer = sfb_sip_signature_buffer (msg, &params, NULL);
  exercise_values (msg);
  check_round_trip (msg);
}

/* The datagram's head read again, the plain way, against what the parser
 * keeps (names, values and the start line are strings in the message's
 * block): the start line up to its line end; each header line's name before
 * ':' without trailing SP or HTAB, its value the parts of its lines (a line
 * starting with SP or HTAB continues it) trimmed of SP and HTAB at either
 * end, the non-empty ones joined by one SP. */
static void
check_header (SfbSipMessage *msg, guint index, const char *name, const GString *value)
{
  gsize len;
  const char *have;

  if (index >= sfb_sip_message_get_n_headers (msg)
      || strcmp (sfb_sip_message_get_header_name (msg, index), name) != 0)
    abort ();
  have = sfb_sip_message_get_header_value (msg, index, &len);
  if (len != value->len || memcmp (have, value->str, len) != 0 || have[len] != '\0')
    abort ();
}

static void
append_part (GString *value, const char *part, gsize len)
{
  while (len > 0 && (part[0] == ' ' || part[0] == '\t'))
    part++, len--;
  while (len > 0 && (part[len - 1] == ' ' || part[len - 1] == '\t'))
    len--;
  if (len == 0)
    return;
  if (value->len > 0)
    g_string_append_c (value, ' ');
  g_string_append_len (value, part, (gssize) len);
}

static void
check_head (SfbSipMessage *msg, const char *text, gsize size)
{
  const char *p = text, *end = text + size;
  g_autoptr (GString) value = g_string_new (NULL);
  g_autofree char *name = NULL;
  gboolean start = TRUE;
  guint n = 0;

  while (p < end && (*p == '\r' || *p == '\n'))
    p++;
  for (;;)
    {
      const char *line = p, *nl = memchr (p, '\n', end - p);
      gsize len;

      if (nl == NULL)
        abort (); /* a parsed message has its blank line */
      len = nl - line - (nl > line && nl[-1] == '\r' ? 1 : 0);
      p = nl + 1;
      if (start)
        {
          if (strlen (sfb_sip_message_get_start_line (msg)) != len
              || memcmp (sfb_sip_message_get_start_line (msg), line, len) != 0)
            abort ();
          start = FALSE;
          continue;
        }
      if (len == 0)
        break;
      if (line[0] == ' ' || line[0] == '\t')
        {
          append_part (value, line, len);
          continue;
        }
      if (name != NULL)
        check_header (msg, n++, name, value);
      {
        const char *colon = memchr (line, ':', len);
        gsize name_len;

        if (colon == NULL)
          abort ();
        name_len = colon - line;
        while (name_len > 0 && (line[name_len - 1] == ' ' || line[name_len - 1] == '\t'))
          name_len--;
        g_free (name);
        name = g_strndup (line, name_len);
        g_string_truncate (value, 0);
        append_part (value, colon + 1, len - (colon + 1 - line));
      }
    }
  if (name != NULL)
    check_header (msg, n++, name, value);
  if (n != sfb_sip_message_get_n_headers (msg))
    abort ();
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* a critical is a bug here, as under G_DEBUG=fatal-criticals */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  Run whole = { 0 }, chunked = { 0 };
  g_autoptr (SfbSipMessage) datagram = NULL;

  feed (&whole, text, size, size > 0 ? size : 1);
  feed (&chunked, text, size, size > 0 ? (gsize) data[0] % 61 + 1 : 1);
  assert_same (&whole, &chunked);
  if (size <= 2048)
    {
      Run bytewise = { 0 };

      feed (&bytewise, text, size, 1);
      assert_same (&whole, &bytewise);
      run_clear (&bytewise);
    }
  for (guint i = 0; i < whole.messages->len; i++)
    exercise (whole.messages->pdata[i]);
  run_clear (&whole);
  run_clear (&chunked);

  datagram = sfb_sip_message_parse (text, size, NULL);
  if (datagram != NULL)
    {
      check_head (datagram, text, size);
      exercise (datagram);
    }
  return 0;
}
