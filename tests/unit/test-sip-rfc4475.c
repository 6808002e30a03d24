/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every message of RFC 4475 ("SIP Torture Test Messages") through the
 * stream parser, the datagram parser and sfb_sip_message_validate(), with
 * the outcome the RFC asks for.  Valid messages are checked field by field.
 */
#include "sfb-sip-auth-header.h"
#include "sfb-sip-parser.h"
#include "sfb-sip-uri.h"
#include "sfb-sip-via.h"

#include <string.h>

typedef enum
{
  PARSES,     /* one or more messages, nothing left over */
  REJECTED,   /* a parse error (code) */
  INCOMPLETE, /* a stream parser keeps waiting for more bytes */
} Outcome;

typedef void (*CheckFunc) (SfbSipMessage *msg);

typedef struct
{
  const char *file;
  const char *section;
  Outcome stream;
  Outcome datagram;
  int code;       /* for REJECTED */
  gboolean valid; /* sfb_sip_message_validate() on the parsed message */
  CheckFunc check;
  const char *why;
} Case;

/* helpers */

static char *
data_path (const char *name)
{
  const char *dir = g_getenv ("SFB_TEST_DATA");

  if (dir != NULL)
    return g_build_filename (dir, "rfc4475", name, NULL);
  return g_test_build_filename (G_TEST_DIST, "..", "data", "rfc4475", name, NULL);
}

static GBytes *
load (const char *file)
{
  g_autofree char *path = data_path (file);
  g_autoptr (GError) error = NULL;
  char *contents;
  gsize len;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

static SfbSipNameAddr *
name_addr (SfbSipMessage *msg, const char *header, guint nth)
{
  int i = -1;
  const char *value;
  gsize len;
  g_autoptr (GError) error = NULL;
  SfbSipNameAddr *addr;

  for (guint n = 0; n <= nth; n++)
    {
      i = sfb_sip_message_find_header (msg, header, (guint) (i + 1));
      g_assert_cmpint (i, >=, 0);
    }
  value = sfb_sip_message_get_header_value (msg, (guint) i, &len);
  addr = sfb_sip_name_addr_parse (value, (gssize) len, &error);
  g_assert_no_error (error);
  return addr;
}

static SfbSipUri *
uri_of (SfbSipNameAddr *addr)
{
  g_autoptr (GError) error = NULL;
  SfbSipUri *uri = sfb_sip_name_addr_parse_uri (addr, &error);

  g_assert_no_error (error);
  return uri;
}

static GPtrArray *
all_vias (SfbSipMessage *msg)
{
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_sip_via_free);

  for (int i = sfb_sip_message_find_header (msg, "Via", 0); i >= 0;
       i = sfb_sip_message_find_header (msg, "Via", (guint) i + 1))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) vias = NULL;
      gsize len;
      const char *value = sfb_sip_message_get_header_value (msg, (guint) i, &len);

      vias = sfb_sip_via_parse_list (value, (gssize) len, &error);
      g_assert_no_error (error);
      g_ptr_array_extend_and_steal (all, g_steal_pointer (&vias));
    }
  return all;
}

static gsize
body_size (SfbSipMessage *msg)
{
  return g_bytes_get_size (sfb_sip_message_get_body (msg));
}

static void
assert_cseq (SfbSipMessage *msg, guint32 number, const char *method)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *m = NULL;
  guint32 n;

  g_assert_true (sfb_sip_message_get_cseq (msg, &n, &m, &error));
  g_assert_cmpuint (n, ==, number);
  g_assert_cmpstr (m, ==, method);
}

/* §3.1.1 valid messages */

static void
check_wsinv (SfbSipMessage *msg)
{
  g_autoptr (SfbSipNameAddr) to = name_addr (msg, "To", 0);
  g_autoptr (SfbSipNameAddr) from = name_addr (msg, "From", 0);
  g_autoptr (SfbSipNameAddr) contact = name_addr (msg, "Contact", 0);
  g_autoptr (SfbSipNameAddr) route = name_addr (msg, "Route", 0);
  g_autoptr (SfbSipUri) ruri = sfb_sip_uri_parse (sfb_sip_message_get_request_uri (msg), -1, NULL);
  g_autoptr (GPtrArray) vias = all_vias (msg);

  g_assert_cmpstr (sfb_sip_message_get_method (msg), ==, "INVITE");
  g_assert_true (sfb_sip_uri_has_param (ruri, "unknownparam"));
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (to), ==, "sip:vivekg@chair-dnrc.example.com");
  g_assert_cmpstr (sfb_sip_name_addr_get_tag (to), ==, "1918181833n");
  g_assert_cmpstr (sfb_sip_name_addr_get_display_name (from, NULL), ==, "J Rosenberg \\\"");
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (from), ==, "sip:jdrosen@example.com");
  g_assert_cmpstr (sfb_sip_name_addr_get_tag (from), ==, "98asjd8");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Max-Forwards"), ==, "0068");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Call-ID"), ==, "wsinv.ndaksdj@192.0.2.1");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Content-Length"), ==, "150");
  g_assert_cmpuint (body_size (msg), ==, 150);
  assert_cseq (msg, 9, "INVITE");
  g_assert_cmpuint (vias->len, ==, 3);
  g_assert_cmpstr (sfb_sip_via_get_transport (vias->pdata[0]), ==, "UDP");
  g_assert_cmpstr (sfb_sip_via_get_host (vias->pdata[0]), ==, "192.0.2.2");
  g_assert_cmpstr (sfb_sip_via_get_branch (vias->pdata[0]), ==, "390skdjuw");
  g_assert_cmpstr (sfb_sip_via_get_transport (vias->pdata[1]), ==, "TCP");
  g_assert_cmpstr (sfb_sip_via_get_host (vias->pdata[1]), ==, "spindle.example.com");
  g_assert_cmpstr (sfb_sip_via_get_branch (vias->pdata[1]), ==, "z9hG4bK9ikj8");
  g_assert_cmpstr (sfb_sip_via_get_host (vias->pdata[2]), ==, "192.168.255.111");
  g_assert_cmpstr (sfb_sip_via_get_branch (vias->pdata[2]), ==, "z9hG4bK30239");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Subject"), ==, "");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "newfangledheader"),
                   ==,
                   "newfangled value continued newfangled value");
  g_assert_cmpstr (
      sfb_sip_message_get_header (msg, "UnknownHeaderWithUnusualValue"), ==, ";;,,;;,;");
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (route),
                   ==,
                   "sip:services.example.com;lr;unknownwith=value;unknown-no-value");
  g_assert_cmpstr (sfb_sip_name_addr_get_display_name (contact, NULL), ==, "Quoted string \"\"");
  g_assert_cmpstr (sfb_sip_name_addr_get_param (contact, "newparam"), ==, "newvalue");
  g_assert_true (sfb_sip_name_addr_has_param (contact, "secondparam"));
  g_assert_cmpstr (sfb_sip_name_addr_get_param (contact, "q"), ==, "0.33");
}

static void
check_intmeth (SfbSipMessage *msg)
{
  static const char display[] = "BEL:\x07 NUL:\0 DEL:\x7f";
  g_autoptr (SfbSipUri) ruri = NULL;
  g_autoptr (SfbSipNameAddr) to = name_addr (msg, "To", 0);
  g_autoptr (SfbSipNameAddr) from = name_addr (msg, "From", 0);
  g_autoptr (GPtrArray) vias = all_vias (msg);
  g_autoptr (GError) error = NULL;
  const char *name;
  gsize len;

  g_assert_cmpstr (
      sfb_sip_message_get_method (msg), ==, "!interesting-Method0123456789_*+`.%indeed'~");
  ruri = sfb_sip_uri_parse (sfb_sip_message_get_request_uri (msg), -1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (
      sfb_sip_uri_get_user (ruri, NULL), ==, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  g_assert_cmpstr (
      sfb_sip_uri_get_password (ruri), ==, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  g_assert_cmpstr (sfb_sip_uri_get_host (ruri), ==, "example.com");
  g_assert_cmpstr (sfb_sip_via_get_branch (vias->pdata[0]), ==, "z9hG4bK-.!%66*_+`'~");
  name = sfb_sip_name_addr_get_display_name (to, &len);
  g_assert_cmpmem (name, len, display, sizeof display - 1);
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (to),
                   ==,
                   "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com");
  g_assert_cmpstr (
      sfb_sip_name_addr_get_display_name (from, NULL), ==, "token1~` token2'+_ token3*%!.-");
  g_assert_cmpstr (
      sfb_sip_name_addr_get_param (from, "fromParam''~+*_!.-%"),
      ==,
      "\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e\xd1\x89\xd0\xb8\xd0\xb9");
  g_assert_cmpstr (sfb_sip_name_addr_get_tag (from), ==, "_token~1'+`*%!-.");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Call-ID"),
                   ==,
                   "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
  assert_cseq (msg, 139122385, "!interesting-Method0123456789_*+`.%indeed'~");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "extensionHeader-!.%*+_`'~"),
                   ==,
                   "\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb");
}

static void
check_esc01 (SfbSipMessage *msg)
{
  g_autoptr (SfbSipUri) ruri = sfb_sip_uri_parse (sfb_sip_message_get_request_uri (msg), -1, NULL);
  g_autoptr (SfbSipNameAddr) to = name_addr (msg, "To", 0);
  g_autoptr (SfbSipNameAddr) from = name_addr (msg, "From", 0);
  g_autoptr (SfbSipNameAddr) contact = name_addr (msg, "Contact", 0);
  g_autoptr (SfbSipUri) to_uri = uri_of (to);
  g_autoptr (SfbSipUri) from_uri = uri_of (from);
  g_autoptr (SfbSipUri) contact_uri = uri_of (contact);

  g_assert_cmpstr (sfb_sip_uri_get_user (ruri, NULL), ==, "sips:user@example.com");
  g_assert_cmpstr (sfb_sip_uri_get_host (ruri), ==, "example.net");
  g_assert_cmpstr (sfb_sip_uri_get_user (to_uri, NULL), ==, "user");
  g_assert_cmpstr (sfb_sip_uri_get_user (from_uri, NULL), ==, "I have spaces");
  g_assert_cmpstr (sfb_sip_uri_get_user (contact_uri, NULL), ==, "caller");
  g_assert_cmpstr (sfb_sip_uri_get_param (contact_uri, "lr"), ==, "");
  g_assert_cmpstr (sfb_sip_uri_get_param (contact_uri, "name"), ==, "value%41");
  g_assert_cmpstr (
      sfb_sip_message_get_header (msg, "Call-ID"), ==, "esc01.239409asdfakjkn23onasd0-3234");
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Content-Type"), ==, "application/sdp");
  g_assert_cmpuint (body_size (msg), ==, 150);
}

static void
check_escnull (SfbSipMessage *msg)
{
  g_autoptr (SfbSipNameAddr) to = name_addr (msg, "To", 0);
  g_autoptr (SfbSipNameAddr) c1 = name_addr (msg, "Contact", 0);
  g_autoptr (SfbSipNameAddr) c2 = name_addr (msg, "Contact", 1);
  g_autoptr (SfbSipUri) to_uri = uri_of (to);
  g_autoptr (SfbSipUri) u1 = uri_of (c1);
  g_autoptr (SfbSipUri) u2 = uri_of (c2);
  const char *user;
  gsize len;

  g_assert_cmpstr (sfb_sip_message_get_method (msg), ==, "REGISTER");
  user = sfb_sip_uri_get_user (to_uri, &len);
  g_assert_cmpmem (user, len, "null-\0-null", 11);
  /* two different contacts, not two empty strings */
  user = sfb_sip_uri_get_user (u1, &len);
  g_assert_cmpmem (user, len, "\0", 1);
  user = sfb_sip_uri_get_user (u2, &len);
  g_assert_cmpmem (user, len, "\0\0", 2);
}

static void
check_esc02 (SfbSipMessage *msg)
{
  g_autoptr (SfbSipNameAddr) to = name_addr (msg, "To", 0);
  g_autoptr (GPtrArray) vias = all_vias (msg);

  /* % is a token character: the method is not REGISTER */
  g_assert_cmpstr (sfb_sip_message_get_method (msg), ==, "RE%47IST%45R");
  assert_cseq (msg, 29344, "RE%47IST%45R");
  g_assert_cmpstr (sfb_sip_name_addr_get_display_name (to, NULL), ==, "%Z%45");
  g_assert_cmpstr (sfb_sip_via_get_branch (vias->pdata[0]), ==, "z9hG4bK209%fzsnel234");
  /* C%6Fntact is an unknown header, not a third Contact */
  g_assert_cmpuint (sfb_sip_message_count_headers (msg, "Contact"), ==, 2);
  g_assert_cmpstr (
      sfb_sip_message_get_header (msg, "C%6Fntact"), ==, "<sip:alias2@host2.example.com>");
}

static void
check_lwsdisp (SfbSipMessage *msg)
{
  g_autoptr (SfbSipNameAddr) from = name_addr (msg, "From", 0);

  g_assert_cmpstr (sfb_sip_name_addr_get_display_name (from, NULL), ==, "caller");
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (from), ==, "sip:caller@example.com");
  g_assert_cmpstr (sfb_sip_name_addr_get_tag (from), ==, "323");
}

static void
check_longreq (SfbSipMessage *msg)
{
  g_autoptr (SfbSipNameAddr) to = name_addr (msg, "To", 0);
  g_autoptr (SfbSipNameAddr) from = name_addr (msg, "From", 0);
  g_autoptr (SfbSipNameAddr) contact = name_addr (msg, "Contact", 0);
  g_autoptr (SfbSipUri) to_uri = uri_of (to);
  g_autoptr (SfbSipUri) contact_uri = uri_of (contact);
  g_autoptr (GPtrArray) vias = all_vias (msg);
  const char *tag = sfb_sip_name_addr_get_tag (from);
  const char *name = "Unknown-LongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLong"
                     "LongLongLong-Name";

  g_assert_true (g_str_has_prefix (sfb_sip_name_addr_get_display_name (to, NULL),
                                   "I have a user name of extremeextreme"));
  g_assert_true (
      g_str_has_suffix (sfb_sip_name_addr_get_display_name (to, NULL), "extreme proportion"));
  g_assert_cmpuint (sfb_sip_uri_get_port (to_uri), ==, 6000);
  g_assert_cmpuint (sfb_sip_uri_get_n_params (to_uri), ==, 3);
  g_assert_true (g_str_has_prefix (sfb_sip_uri_get_param_name (to_uri, 1), "longparamnamename"));
  g_assert_cmpstr (sfb_sip_uri_get_param_value (to_uri, 1), ==, "shortvalue");
  g_assert_null (sfb_sip_uri_get_param_value (to_uri, 2));
  g_assert_cmpuint (strlen (tag), ==, 155);
  g_assert_true (g_str_has_prefix (tag, "12982982982982"));
  g_assert_cmpuint (sfb_sip_name_addr_get_n_params (from), ==, 3);
  g_assert_true (g_str_has_prefix (sfb_sip_message_get_header (msg, "Call-ID"),
                                   "longreq.onereallyreallyreally"));
  g_assert_true (g_str_has_prefix (sfb_sip_message_get_header (msg, name), "unknown-longlonglong"));
  g_assert_cmpuint (sfb_sip_message_count_headers (msg, "Via"), ==, 34);
  g_assert_cmpuint (vias->len, ==, 34);
  g_assert_cmpstr (sfb_sip_via_get_host (vias->pdata[0]), ==, "sip33.example.com");
  g_assert_cmpstr (sfb_sip_via_get_host (vias->pdata[32]), ==, "sip1.example.com");
  g_assert_cmpuint (strlen (sfb_sip_via_get_branch (vias->pdata[33])), ==, 215);
  g_assert_true (
      g_str_has_prefix (sfb_sip_uri_get_user (contact_uri, NULL), "amazinglylongcaller"));
  g_assert_cmpuint (body_size (msg), ==, 150);
}

static void
check_dblreq (SfbSipMessage *msg)
{
  g_assert_cmpstr (sfb_sip_message_get_method (msg), ==, "REGISTER");
  g_assert_cmpstr (
      sfb_sip_message_get_header (msg, "Call-ID"), ==, "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
  g_assert_cmpuint (body_size (msg), ==, 0);
}

static void
check_semiuri (SfbSipMessage *msg)
{
  g_autoptr (SfbSipUri) ruri = sfb_sip_uri_parse (sfb_sip_message_get_request_uri (msg), -1, NULL);
  g_auto (GStrv) accept = sfb_sip_message_get_header_values (msg, "Accept");

  g_assert_cmpstr (sfb_sip_uri_get_user (ruri, NULL), ==, "user;par=u@example.net");
  g_assert_cmpstr (sfb_sip_uri_get_user_raw (ruri), ==, "user;par=u%40example.net");
  g_assert_cmpstr (sfb_sip_uri_get_host (ruri), ==, "example.com");
  g_assert_cmpuint (sfb_sip_uri_get_n_params (ruri), ==, 0);
  g_assert_cmpuint (g_strv_length (accept), ==, 6);
  g_assert_cmpstr (accept[2], ==, "multipart/mixed");
  g_assert_cmpstr (accept[5], ==, "message/sipfrag");
}

static void
check_transports (SfbSipMessage *msg)
{
  static const char *const transports[] = { "UDP", "SCTP", "TLS", "UNKNOWN", "TCP" };
  g_autoptr (GPtrArray) vias = all_vias (msg);

  g_assert_cmpuint (vias->len, ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *host = g_strdup_printf ("t%u.example.com", i + 1);

      g_assert_cmpstr (sfb_sip_via_get_transport (vias->pdata[i]), ==, transports[i]);
      g_assert_cmpstr (sfb_sip_via_get_host (vias->pdata[i]), ==, host);
    }
  g_assert_cmpstr (
      sfb_sip_message_get_header (msg, "Call-ID"), ==, "transports.kijh4akdnaqjkwendsasfdj");
}

static void
check_mpart01 (SfbSipMessage *msg)
{
  GBytes *body = sfb_sip_message_get_body (msg);
  const char *data = g_bytes_get_data (body, NULL);
  g_autofree char *redacted = sfb_sip_message_to_string_redacted (msg);

  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Content-Type"),
                   ==,
                   "multipart/mixed;boundary=7a9cbec02ceef655");
  g_assert_cmpuint (body_size (msg), ==, 553);
  g_assert_true (strncmp (data, "--7a9cbec02ceef655\r\n", 20) == 0);
  g_assert_true (memcmp (data + 553 - 24, "\r\n--7a9cbec02ceef655--\r\n", 24) == 0);
  g_assert_true (g_str_has_suffix (redacted, "[553 bytes of binary body]"));
}

static void
check_unreason (SfbSipMessage *msg)
{
  g_assert_cmpuint (sfb_sip_message_get_status_code (msg), ==, 200);
  g_assert_cmpstr (
      sfb_sip_message_get_reason (msg),
      ==,
      "= 2**3 * 5**2 \xd0\xbd\xd0\xbe \xd1\x81\xd1\x82\xd0\xbe \xd0\xb4\xd0\xb5\xd0\xb2"
      "\xd1\x8f\xd0\xbd\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe \xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f"
      "\xd1\x82\xd1\x8c - \xd0\xbf\xd1\x80\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe\xd0\xb5");
  g_assert_cmpuint (body_size (msg), ==, 154);
}

static void
check_noreason (SfbSipMessage *msg)
{
  g_assert_cmpuint (sfb_sip_message_get_status_code (msg), ==, 100);
  g_assert_cmpstr (sfb_sip_message_get_reason (msg), ==, "");
}

/* §3.1.2 and later: what makes them wrong is checked where it is visible */

static void
check_contact_unparseable (SfbSipMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipNameAddr) addr = NULL;

  addr = sfb_sip_name_addr_parse (sfb_sip_message_get_header (msg, "Contact"), -1, &error);
  g_assert_null (addr);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED);
}

static void
check_badbranch (SfbSipMessage *msg)
{
  g_autoptr (GPtrArray) vias = all_vias (msg);

  g_assert_cmpstr (sfb_sip_via_get_branch (vias->pdata[0]), ==, "z9hG4bK");
}

static void
check_ruri_unsupported (SfbSipMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipUri) uri = sfb_sip_uri_parse (sfb_sip_message_get_request_uri (msg), -1, &error);

  g_assert_null (uri);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_UNSUPPORTED_SCHEME);
}

static void
check_unksm2 (SfbSipMessage *msg)
{
  g_autoptr (SfbSipNameAddr) to = name_addr (msg, "To", 0);
  g_autoptr (SfbSipNameAddr) from = name_addr (msg, "From", 0);
  g_autoptr (SfbSipNameAddr) contact = name_addr (msg, "Contact", 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipUri) uri = NULL;

  g_assert_cmpstr (sfb_sip_name_addr_get_uri (to), ==, "isbn:2983792873");
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (from), ==, "http://www.example.com");
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (contact), ==, "name:John_Smith");
  uri = sfb_sip_name_addr_parse_uri (to, &error);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_UNSUPPORTED_SCHEME);
}

static void
check_bext01 (SfbSipMessage *msg)
{
  g_auto (GStrv) require = sfb_sip_message_get_header_values (msg, "Require");
  g_auto (GStrv) proxy_require = sfb_sip_message_get_header_values (msg, "Proxy-Require");

  g_assert_cmpuint (g_strv_length (require), ==, 2);
  g_assert_cmpstr (require[1], ==, "nothingSupportsThisEither");
  g_assert_cmpuint (g_strv_length (proxy_require), ==, 2);
}

static void
check_invut (SfbSipMessage *msg)
{
  g_assert_cmpstr (
      sfb_sip_message_get_header (msg, "Content-Type"), ==, "application/unknownformat");
  g_assert_cmpuint (body_size (msg), ==, 40);
}

static void
check_regaut01 (SfbSipMessage *msg)
{
  g_autoptr (GPtrArray) auths = sfb_sip_auth_parse_message (msg, "Authorization");

  g_assert_cmpuint (auths->len, ==, 1);
  g_assert_cmpstr (sfb_sip_auth_get_scheme (auths->pdata[0]), ==, "NoOneKnowsThisScheme");
  g_assert_cmpstr (sfb_sip_auth_get_param (auths->pdata[0], "opaque-data"), ==, "here");
}

static void
check_bcast (SfbSipMessage *msg)
{
  g_autoptr (GPtrArray) vias = all_vias (msg);

  g_assert_cmpuint (vias->len, ==, 2);
  g_assert_cmpstr (sfb_sip_via_get_host (vias->pdata[1]), ==, "255.255.255.255");
}

static void
check_zeromf (SfbSipMessage *msg)
{
  g_assert_cmpstr (sfb_sip_message_get_header (msg, "Max-Forwards"), ==, "0");
}

static void
check_cparam01 (SfbSipMessage *msg)
{
  g_autoptr (SfbSipNameAddr) contact = name_addr (msg, "Contact", 0);
  g_autoptr (SfbSipUri) uri = uri_of (contact);

  /* without <>, the parameter belongs to the Contact header */
  g_assert_cmpstr (sfb_sip_name_addr_get_uri (contact), ==, "sip:+19725552222@gw1.example.net");
  g_assert_true (sfb_sip_name_addr_has_param (contact, "unknownparam"));
  g_assert_cmpuint (sfb_sip_uri_get_n_params (uri), ==, 0);
}

static void
check_cparam02 (SfbSipMessage *msg)
{
  g_autoptr (SfbSipNameAddr) contact = name_addr (msg, "Contact", 0);
  g_autoptr (SfbSipUri) uri = uri_of (contact);

  /* inside <>, it belongs to the URI */
  g_assert_cmpuint (sfb_sip_name_addr_get_n_params (contact), ==, 0);
  g_assert_true (sfb_sip_uri_has_param (uri, "unknownparam"));
}

static void
check_regescrt (SfbSipMessage *msg)
{
  g_autoptr (SfbSipNameAddr) contact = name_addr (msg, "Contact", 0);
  g_autoptr (SfbSipUri) uri = uri_of (contact);

  g_assert_cmpstr (sfb_sip_message_get_header_name (
                       msg, (guint) sfb_sip_message_find_header (msg, "Contact", 0)),
                   ==,
                   "M");
  g_assert_cmpstr (sfb_sip_uri_get_header (uri, "Route"), ==, "<sip:sip.example.com>");
}

static void
check_inv2543 (SfbSipMessage *msg)
{
  g_autoptr (SfbSipNameAddr) from = name_addr (msg, "From", 0);

  /* datagram: no Content-Length, the body runs to the end (RFC 3261 §18.3) */
  g_assert_cmpuint (body_size (msg), ==, 105);
  g_assert_null (sfb_sip_name_addr_get_tag (from));
}

/* The table: file, RFC section, outcome on a stream (TLS/TCP) and as one
 * datagram, the error code when rejected, whether validate() accepts the
 * parsed message, the field checks, and why. */
static const Case cases[] = {
  { "wsinv.dat",
    "3.1.1.1",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_wsinv,
    "valid: LWS, folding, compact and odd-case names, unknown headers" },
  { "intmeth.dat",
    "3.1.1.2",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_intmeth,
    "valid: every legal token character; NUL in a quoted-pair" },
  { "esc01.dat", "3.1.1.3", PARSES, PARSES, 0, TRUE, check_esc01, "valid: % escapes in URIs" },
  { "escnull.dat",
    "3.1.1.4",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_escnull,
    "valid: escaped NULs are data, not terminators" },
  { "esc02.dat",
    "3.1.1.5",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_esc02,
    "valid: % where it is no escape (method, header name, display name)" },
  { "lwsdisp.dat",
    "3.1.1.6",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_lwsdisp,
    "valid: no LWS between display name and <" },
  { "longreq.dat",
    "3.1.1.7",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_longreq,
    "valid: long values, 34 Via in many spellings" },
  { "dblreq.dat",
    "3.1.1.8",
    REJECTED,
    PARSES,
    SFB_SIP_ERROR_MALFORMED,
    TRUE,
    check_dblreq,
    "datagram: the octets after the REGISTER are noise and ignored.  Stream: they are the next "
    "messages; the INVITE's Content-Length ends 5 bytes early, so 'C' starts a bad message after "
    "REGISTER and INVITE were delivered" },
  { "semiuri.dat",
    "3.1.1.9",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_semiuri,
    "valid: ';' in the user part of the Request-URI; folded Accept list" },
  { "transports.dat",
    "3.1.1.10",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_transports,
    "valid: unknown transports in Via" },
  { "mpart01.dat",
    "3.1.1.11",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_mpart01,
    "valid: binary multipart body, bare LFs inside it" },
  { "unreason.dat",
    "3.1.1.12",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_unreason,
    "valid: UTF-8 reason phrase, kept byte for byte" },
  { "noreason.dat",
    "3.1.1.13",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_noreason,
    "valid: empty reason phrase" },
  { "badinv01.dat",
    "3.1.2.1",
    PARSES,
    PARSES,
    0,
    FALSE,
    check_contact_unparseable,
    "extra ';' ',' in Via and Contact: framing is fine, validate() and the Contact parser refuse "
    "(a UAS answers 400)" },
  { "clerr.dat",
    "3.1.2.2",
    INCOMPLETE,
    REJECTED,
    SFB_SIP_ERROR_MALFORMED,
    FALSE,
    NULL,
    "Content-Length 9999 > body: a stream waits for the rest (the transport times out); a "
    "datagram is rejected" },
  { "ncl.dat",
    "3.1.2.3",
    REJECTED,
    REJECTED,
    SFB_SIP_ERROR_MALFORMED,
    FALSE,
    NULL,
    "negative Content-Length" },
  { "scalar02.dat",
    "3.1.2.4",
    PARSES,
    PARSES,
    0,
    FALSE,
    NULL,
    "CSeq >= 2**31 and Max-Forwards 300: framing is fine (Content-Length 0), validate() refuses; "
    "overlarge Expires values are left to their users" },
  { "scalarlg.dat",
    "3.1.2.5",
    PARSES,
    PARSES,
    0,
    FALSE,
    NULL,
    "response with CSeq >= 2**31: validate() refuses, the response is dropped" },
  { "quotbal.dat",
    "3.1.2.6",
    PARSES,
    PARSES,
    0,
    FALSE,
    NULL,
    "unterminated quote in To: validate() refuses" },
  { "ltgtruri.dat",
    "3.1.2.7",
    REJECTED,
    REJECTED,
    SFB_SIP_ERROR_MALFORMED,
    FALSE,
    NULL,
    "Request-URI in <>" },
  { "lwsruri.dat",
    "3.1.2.8",
    REJECTED,
    REJECTED,
    SFB_SIP_ERROR_MALFORMED,
    FALSE,
    NULL,
    "LWS inside the Request-URI: four elements in the Request-Line" },
  { "lwsstart.dat",
    "3.1.2.9",
    REJECTED,
    REJECTED,
    SFB_SIP_ERROR_MALFORMED,
    FALSE,
    NULL,
    "several SP between Request-Line elements" },
  { "trws.dat",
    "3.1.2.10",
    REJECTED,
    REJECTED,
    SFB_SIP_ERROR_MALFORMED,
    FALSE,
    NULL,
    "SP after SIP/2.0: rejected (the RFC allows either trimming or 400; sfbd is strict)" },
  { "escruri.dat",
    "3.1.2.11",
    PARSES,
    PARSES,
    0,
    FALSE,
    NULL,
    "escaped headers in a SIP Request-URI: validate() refuses" },
  { "baddate.dat",
    "3.1.2.12",
    PARSES,
    PARSES,
    0,
    TRUE,
    NULL,
    "semantic only: Date with a non-GMT zone; sfbd does not interpret Date here" },
  { "regbadct.dat",
    "3.1.2.13",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_contact_unparseable,
    "Contact URI with '?' outside <>: the Contact parser refuses (a registrar's check; "
    "validate() does not look at Contact)" },
  { "badaspec.dat",
    "3.1.2.14",
    PARSES,
    PARSES,
    0,
    FALSE,
    NULL,
    "SP inside <> of To: validate() refuses" },
  { "baddn.dat",
    "3.1.2.15",
    PARSES,
    PARSES,
    0,
    FALSE,
    NULL,
    "',' in an unquoted display name: validate() refuses" },
  { "badvers.dat",
    "3.1.2.16",
    REJECTED,
    REJECTED,
    SFB_SIP_ERROR_UNSUPPORTED_VERSION,
    FALSE,
    NULL,
    "SIP/7.0 (a UAS answers 505)" },
  { "mismatch01.dat",
    "3.1.2.17",
    PARSES,
    PARSES,
    0,
    FALSE,
    NULL,
    "CSeq method differs from the request method" },
  { "mismatch02.dat",
    "3.1.2.18",
    PARSES,
    PARSES,
    0,
    FALSE,
    NULL,
    "unknown method with a mismatching CSeq method" },
  { "bigcode.dat",
    "3.1.2.19",
    REJECTED,
    REJECTED,
    SFB_SIP_ERROR_MALFORMED,
    FALSE,
    NULL,
    "status code 4294967301 is not three digits" },
  { "badbranch.dat",
    "3.2.1",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_badbranch,
    "semantic only: a bare magic cookie as branch is the transaction layer's concern" },
  { "insuf.dat",
    "3.3.1",
    PARSES,
    PARSES,
    0,
    FALSE,
    NULL,
    "no Call-ID, From, To: validate() refuses" },
  { "unkscm.dat",
    "3.3.2",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_ruri_unsupported,
    "unknown Request-URI scheme: a valid message; the UAS answers 416" },
  { "novelsc.dat",
    "3.3.3",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_ruri_unsupported,
    "known but atypical scheme: same as unkscm" },
  { "unksm2.dat",
    "3.3.4",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_unksm2,
    "unknown schemes in To, From, Contact: the addresses parse, their URIs are unsupported" },
  { "bext01.dat",
    "3.3.5",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_bext01,
    "semantic only: unsupported Require (the UAS answers 420)" },
  { "invut.dat",
    "3.3.6",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_invut,
    "semantic only: unknown Content-Type (415)" },
  { "regaut01.dat",
    "3.3.7",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_regaut01,
    "semantic only: unknown Authorization scheme, which parses" },
  { "multi01.dat",
    "3.3.8",
    PARSES,
    PARSES,
    0,
    FALSE,
    NULL,
    "several To, From, Call-ID, CSeq: validate() refuses" },
  { "mcl01.dat",
    "3.3.9",
    REJECTED,
    REJECTED,
    SFB_SIP_ERROR_MALFORMED,
    FALSE,
    NULL,
    "two Content-Length values: a stream cannot be framed" },
  { "bcast.dat",
    "3.3.10",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_bcast,
    "semantic only: broadcast address in Via" },
  { "zeromf.dat",
    "3.3.11",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_zeromf,
    "semantic only: Max-Forwards 0 (483 at a proxy)" },
  { "cparam01.dat",
    "3.3.12",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_cparam01,
    "valid: a Contact header parameter" },
  { "cparam02.dat",
    "3.3.13",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_cparam02,
    "valid: a Contact URI parameter" },
  { "regescrt.dat",
    "3.3.14",
    PARSES,
    PARSES,
    0,
    TRUE,
    check_regescrt,
    "valid: an escaped header in a Contact URI inside <>" },
  { "sdp01.dat", "3.3.15", PARSES, PARSES, 0, TRUE, NULL, "semantic only: unacceptable Accept" },
  { "inv2543.dat",
    "3.4.1",
    REJECTED,
    PARSES,
    SFB_SIP_ERROR_MALFORMED,
    TRUE,
    check_inv2543,
    "RFC 2543 syntax: fine as a datagram; on a stream, Content-Type without Content-Length cannot "
    "be framed (docs/protocol.md §3)" },
};

/* runs the stream parser; returns the messages, sets *error and *partial */
static GPtrArray *
parse_stream (GBytes *bytes, gsize chunk, GError **error, gboolean *partial)
{
  g_autoptr (SfbSipParser) parser = sfb_sip_parser_new ();
  GPtrArray *messages = g_ptr_array_new_with_free_func (g_object_unref);
  gsize len, off = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  SfbSipMessage *msg;

  while (off < len)
    {
      gsize n = MIN (chunk, len - off);

      if (!sfb_sip_parser_feed (parser, data + off, n, error))
        break;
      off += n;
    }
  while ((msg = sfb_sip_parser_pop (parser)) != NULL)
    g_ptr_array_add (messages, msg);
  *partial = sfb_sip_parser_has_partial (parser);
  return messages;
}

static void
check_stream (const Case *c, GBytes *bytes)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) bytewise_error = NULL;
  gboolean partial, bytewise_partial;
  g_autoptr (GPtrArray) messages = parse_stream (bytes, G_MAXSIZE, &error, &partial);
  g_autoptr (GPtrArray) bytewise = parse_stream (bytes, 1, &bytewise_error, &bytewise_partial);

  /* byte by byte gives the same messages and the same outcome */
  g_assert_cmpuint (messages->len, ==, bytewise->len);
  for (guint i = 0; i < messages->len; i++)
    {
      g_autoptr (GBytes) a = sfb_sip_message_to_bytes (messages->pdata[i]);
      g_autoptr (GBytes) b = sfb_sip_message_to_bytes (bytewise->pdata[i]);

      g_assert_true (g_bytes_equal (a, b));
    }
  g_assert_cmpint (partial, ==, bytewise_partial);
  g_assert_true ((error == NULL) == (bytewise_error == NULL));

  switch (c->stream)
    {
    case PARSES:
      {
        g_autoptr (GBytes) out = sfb_sip_message_to_bytes (messages->pdata[0]);

        g_assert_no_error (error);
        g_assert_false (partial);
        g_assert_cmpuint (messages->len, ==, 1);
        /* a received message serialises to the bytes it came from */
        g_assert_true (g_bytes_equal (out, bytes));
        break;
      }
    case REJECTED:
      g_assert_error (error, SFB_SIP_ERROR, c->code);
      g_assert_error (bytewise_error, SFB_SIP_ERROR, c->code);
      break;
    case INCOMPLETE:
    default:
      g_assert_no_error (error);
      g_assert_true (partial);
      g_assert_cmpuint (messages->len, ==, 0);
      break;
    }
}

static void
test_file (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (GBytes) bytes = load (c->file);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) msg = NULL;
  g_autofree char *redacted = NULL;
  gboolean valid;

  g_test_message ("RFC 4475 section %s, %s: %s", c->section, c->file, c->why);
  check_stream (c, bytes);

  msg = sfb_sip_message_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  if (c->datagram == REJECTED)
    {
      g_assert_null (msg);
      g_assert_error (error, SFB_SIP_ERROR, c->code);
      return;
    }
  g_assert_no_error (error);
  valid = sfb_sip_message_validate (msg, &error);
  g_test_message ("validate: %s", error != NULL ? error->message : "ok");
  g_assert_cmpint (valid, ==, c->valid);
  if (c->check != NULL)
    c->check (msg);
  redacted = sfb_sip_message_to_string_redacted (msg);
  g_assert_nonnull (redacted);
}

/* RFC 4475 §3.1.1.8 on a stream: REGISTER, a CRLF, the INVITE, then junk */
static void
test_dblreq_stream (void)
{
  g_autoptr (GBytes) bytes = load ("dblreq.dat");
  g_autoptr (SfbSipParser) parser = sfb_sip_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) reg = NULL;
  g_autoptr (SfbSipMessage) invite = NULL;

  g_assert_false (sfb_sip_parser_feed (
      parser, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error));
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED);
  g_assert_cmpuint (sfb_sip_parser_get_n_keepalives (parser), ==, 1);
  reg = sfb_sip_parser_pop (parser);
  invite = sfb_sip_parser_pop (parser);
  g_assert_cmpstr (sfb_sip_message_get_method (reg), ==, "REGISTER");
  g_assert_cmpstr (sfb_sip_message_get_method (invite), ==, "INVITE");
  g_assert_cmpuint (body_size (invite), ==, 150);
  g_assert_null (sfb_sip_parser_pop (parser));
}

/* every file is covered by the table, and every table row has its file */
static void
test_table_complete (void)
{
  g_autofree char *dir_path = data_path ("");
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      gboolean found = FALSE;

      if (!g_str_has_suffix (name, ".dat"))
        continue;
      for (gsize i = 0; i < G_N_ELEMENTS (cases) && !found; i++)
        found = g_str_equal (cases[i].file, name);
      g_assert_true (found);
      n++;
    }
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (cases));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *base = g_strndup (cases[i].file, strlen (cases[i].file) - 4);
      g_autofree char *path = g_strdup_printf ("/sip/rfc4475/%s", base);

      g_test_add_data_func (path, &cases[i], test_file);
    }
  g_test_add_func ("/sip/rfc4475/dblreq-stream", test_dblreq_stream);
  g_test_add_func ("/sip/rfc4475/table-complete", test_table_complete);

  return g_test_run ();
}
