/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hex helpers and the docs/protocol.md §15.2 capture shared by the NTLM tests. */
#pragma once

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

static inline GBytes *
test_hex (const char *hex)
{
  gsize len = strlen (hex);
  guint8 *out = g_malloc (len / 2 + 1);

  g_assert_cmpuint (len % 2, ==, 0);
  for (gsize i = 0; i < len / 2; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      g_assert_cmpint (hi, >=, 0);
      g_assert_cmpint (lo, >=, 0);
      out[i] = (guint8) (hi << 4 | lo);
    }
  return g_bytes_new_take (out, len / 2);
}

static inline char *
test_to_hex (const guint8 *data, gsize len)
{
  GString *out = g_string_new (NULL);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, "%02x", data[i]);
  return g_string_free (out, FALSE);
}

#define assert_hex(data, len, expected)                                                            \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *_hex = test_to_hex ((const guint8 *) (data), (len));                          \
    g_autofree char *_want = g_ascii_strdown ((expected), -1);                                     \
    g_assert_cmpstr (_hex, ==, _want);                                                             \
  }                                                                                                \
  G_STMT_END

#define assert_bytes_hex(bytes, expected)                                                          \
  assert_hex (g_bytes_get_data ((bytes), NULL), g_bytes_get_size ((bytes)), (expected))

/* docs/protocol.md §15.2: OC 2007 R2 and Communicator 2007 R2 */
#define CAPTURE_TYPE2                                                                              \
  "4E544C4D53535000020000000000000038000000F38298E2DD1BAAF4E7E218D1000000000000000096009600380000" \
  "000502CE0E0000000F02000A0043004F0053004D004F000100180043004F0053004D004F002D004F00430053002D00" \
  "520032000400160063006F0073006D006F002E006C006F00630061006C000300300063006F0073006D006F002D006F" \
  "00630073002D00720032002E0063006F0073006D006F002E006C006F00630061006C000500160063006F0073006D00" \
  "6F002E006C006F00630061006C0000000000"
/* the captured AUTHENTICATE, with our VERSION (5.1.2600 rev 15) in place of
 * the capture's 5.2.3790: bytes 64..71 */
#define CAPTURE_TYPE3_HEAD                                                                         \
  "4E544C4D53535000030000001800180072000000C600C6008A0000000A000A00480000000800080052000000180018" \
  "005A000000100010005001000055829862"
#define CAPTURE_TYPE3_CAPTURED_VERSION "0502CE0E0000000F"
#define CAPTURE_TYPE3_OUR_VERSION "0501280A0000000F"
#define CAPTURE_TYPE3_TAIL                                                                         \
  "43004F0053004D004F00550073006500720043004F0053004D004F002D004F00430053002D0052003200A1E92EFE4E" \
  "078BF7C5C0049ACC6166C2D6AE875CB0FDAA418DC0C800AE76ECA606D2B9FBEBD04731010100000000000059519A17" \
  "27B9CA01D6AE875CB0FDAA410000000002000A0043004F0053004D004F000100180043004F0053004D004F002D004F" \
  "00430053002D00520032000400160063006F0073006D006F002E006C006F00630061006C000300300063006F007300" \
  "6D006F002D006F00630073002D00720032002E0063006F0073006D006F002E006C006F00630061006C000500160063" \
  "006F0073006D006F002E006C006F00630061006C00000000000000000031CB739E1CA80A498591E8AE797115E4"
#define CAPTURE_CLIENT_CHALLENGE "D6AE875CB0FDAA41"
#define CAPTURE_TIME "59519A1727B9CA01"
#define CAPTURE_ENCRYPTED_KEY "31CB739E1CA80A498591E8AE797115E4"
#define CAPTURE_REQUEST_BUFFER                                                                     \
  "<NTLM><13317733><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local>"                      \
  "<4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52>"              \
  "<sip:user@cosmo.local><><><><>"
#define CAPTURE_RESPONSE_BUFFER                                                                    \
  "<NTLM><9616454F><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local>"                      \
  "<4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52>"              \
  "<sip:user@cosmo.local><5E61CCD925D17E043D9A74835A88F664><><><7200><200>"
#define CAPTURE_REQUEST_SIGNATURE "0100000029618e9651b65a7764000000"
#define CAPTURE_RESPONSE_SIGNATURE "01000000E615438A917661BE64000000"

static inline guint64
test_le64 (GBytes *bytes)
{
  const guint8 *p = g_bytes_get_data (bytes, NULL);
  guint64 v = 0;

  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 8);
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

G_END_DECLS
