/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-sip-auth-header.h"
#include "sfb-sip-uri.h"

#include <string.h>

#define REALM "SIP Communications Service"

static void
test_lync_challenges (void)
{
  static const char text[]
      = "SIP/2.0 401 Unauthorized\r\n"
        "WWW-Authenticate: NTLM realm=\"" REALM "\", targetname=\"LYNC2013-SERVER.lync.loc\", "
        "version=4\r\n"
        "WWW-Authenticate: Kerberos realm=\"" REALM
        "\", targetname=\"sip/LYNC2013-SERVER.lync.loc\", "
        "version=4\r\n"
        "WWW-Authenticate: TLS-DSK realm=\"" REALM "\", targetname=\"LYNC2013-SERVER.lync.loc\", "
        "version=4, sts-uri=\"https://LYNC2013-SERVER.lync.loc:443/CertProv/"
        "CertProvisioningService.svc\"\r\n"
        "WWW-Authenticate: Broken realm=\"open\r\n"
        "Content-Length: 0\r\n\r\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (text, sizeof text - 1, &error);
  g_autoptr (GPtrArray) auths = NULL;
  SfbSipAuth *kerberos, *tls_dsk;

  g_assert_no_error (error);
  /* the broken header is skipped, the others are kept in order */
  auths = sfb_sip_auth_parse_message (msg, "www-authenticate");
  g_assert_cmpuint (auths->len, ==, 3);
  g_assert_cmpstr (sfb_sip_auth_get_scheme (auths->pdata[0]), ==, "NTLM");
  g_assert_cmpstr (sfb_sip_auth_get_param (auths->pdata[0], "realm"), ==, REALM);
  kerberos = sfb_sip_auth_find (auths, "kerberos");
  g_assert_nonnull (kerberos);
  g_assert_cmpstr (
      sfb_sip_auth_get_param (kerberos, "TargetName"), ==, "sip/LYNC2013-SERVER.lync.loc");
  g_assert_cmpstr (sfb_sip_auth_get_param (kerberos, "version"), ==, "4");
  tls_dsk = sfb_sip_auth_find (auths, "TLS-DSK");
  g_assert_cmpstr (sfb_sip_auth_get_param (tls_dsk, "sts-uri"),
                   ==,
                   "https://LYNC2013-SERVER.lync.loc:443/CertProv/CertProvisioningService.svc");
  g_assert_null (sfb_sip_auth_find (auths, "Digest"));
  g_assert_null (sfb_sip_auth_get_param (tls_dsk, "opaque"));
}

/* every scheme of every header of the name, in order, whichever header
 * comes first, a broken one skipped; none gives an empty list */
static void
test_parse_message_lists (void)
{
  static const struct
  {
    const char *headers;
    const char *schemes;
  } cases[] = {
    { "", "" },
    { "X-Other: NTLM a=1\r\n", "" },
    { "Authentication-Info: NTLM a=1\r\n", "NTLM" },
    { "Authentication-Info: NTLM a=1, Kerberos b=2\r\n", "NTLM Kerberos" },
    { "Authentication-Info: Broken a=\"open\r\nAuthentication-Info: TLS-DSK c=3\r\n", "TLS-DSK" },
    { "Authentication-Info: NTLM a=1\r\nAuthentication-Info: Broken a=\"open\r\n", "NTLM" },
    { "Authentication-Info: NTLM a=1\r\nX-Other: Digest\r\n"
      "authentication-info: Kerberos b=2, TLS-DSK c=3\r\n",
      "NTLM Kerberos TLS-DSK" },
    { "Authentication-Info: Broken a=\"open\r\nAuthentication-Info: ,\r\n", "" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text
          = g_strdup_printf ("SIP/2.0 200 OK\r\n%sContent-Length: 0\r\n\r\n", cases[i].headers);
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (text, strlen (text), &error);
      g_autoptr (GPtrArray) auths = NULL;
      g_autoptr (GString) schemes = g_string_new (NULL);

      g_assert_no_error (error);
      auths = sfb_sip_auth_parse_message (msg, "Authentication-Info");
      g_assert_nonnull (auths);
      for (guint j = 0; j < auths->len; j++)
        g_string_append_printf (
            schemes, "%s%s", j > 0 ? " " : "", sfb_sip_auth_get_scheme (auths->pdata[j]));
      g_assert_cmpstr (schemes->str, ==, cases[i].schemes);
    }
}

static void
test_authentication_info (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) auths = NULL;
  SfbSipAuth *ntlm;

  auths = sfb_sip_auth_parse (
      "NTLM qop=\"auth\", opaque=\"0999F355\", srand=\"AE4D44F8\", snum=\"1\", "
      "rspauth=\"010000006f006900a5960bc32d0f5e40\", "
      "targetname=\"sarco04.skype2015.loc\", realm=\"" REALM "\", version=4",
      -1,
      &error);
  g_assert_no_error (error);
  g_assert_cmpuint (auths->len, ==, 1);
  ntlm = auths->pdata[0];
  g_assert_cmpuint (sfb_sip_auth_get_n_params (ntlm), ==, 8);
  g_assert_cmpstr (sfb_sip_auth_get_param_name (ntlm, 2), ==, "srand");
  g_assert_cmpstr (sfb_sip_auth_get_param_value (ntlm, 2), ==, "AE4D44F8");
  g_assert_cmpstr (sfb_sip_auth_get_param (ntlm, "snum"), ==, "1");
  g_assert_cmpstr (
      sfb_sip_auth_get_param (ntlm, "rspauth"), ==, "010000006f006900a5960bc32d0f5e40");
  g_assert_cmpstr (sfb_sip_auth_get_param (ntlm, "version"), ==, "4");
}

static void
test_several_in_one_header (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) auths = NULL;

  auths = sfb_sip_auth_parse ("Newauth realm=\"apps, \\\"x\\\"\", type=1,,"
                              "title=\"Login\" ,  Basic realm=\"simple\", Negotiate,"
                              "Bearer dG9rZW4/+abc==, NTLM gssapi-data=TlRM+/v=, version=3",
                              -1,
                              &error);
  g_assert_no_error (error);
  g_assert_cmpuint (auths->len, ==, 5);
  g_assert_cmpstr (sfb_sip_auth_get_scheme (auths->pdata[0]), ==, "Newauth");
  g_assert_cmpstr (sfb_sip_auth_get_param (auths->pdata[0], "realm"), ==, "apps, \"x\"");
  g_assert_cmpstr (sfb_sip_auth_get_param (auths->pdata[0], "type"), ==, "1");
  g_assert_cmpstr (sfb_sip_auth_get_param (auths->pdata[0], "title"), ==, "Login");
  g_assert_cmpstr (sfb_sip_auth_get_param (auths->pdata[1], "realm"), ==, "simple");
  g_assert_cmpstr (sfb_sip_auth_get_scheme (auths->pdata[2]), ==, "Negotiate");
  g_assert_cmpuint (sfb_sip_auth_get_n_params (auths->pdata[2]), ==, 0);
  g_assert_null (sfb_sip_auth_get_token68 (auths->pdata[2]));
  g_assert_cmpstr (sfb_sip_auth_get_token68 (auths->pdata[3]), ==, "dG9rZW4/+abc==");
  /* unquoted base64, as some servers send it */
  g_assert_cmpstr (sfb_sip_auth_get_param (auths->pdata[4], "gssapi-data"), ==, "TlRM+/v=");
  g_assert_cmpstr (sfb_sip_auth_get_param (auths->pdata[4], "version"), ==, "3");
}

static void
test_token68_ambiguity (void)
{
  /* "realm=" alone is a valid token68 (RFC 7235 §2.1), not an empty param */
  g_autoptr (GPtrArray) auths = sfb_sip_auth_parse ("NTLM realm=", -1, NULL);

  g_assert_nonnull (auths);
  g_assert_cmpstr (sfb_sip_auth_get_token68 (auths->pdata[0]), ==, "realm=");
  g_assert_cmpuint (sfb_sip_auth_get_n_params (auths->pdata[0]), ==, 0);
}

static void
test_unknown_scheme (void)
{
  /* RFC 4475 regaut01 */
  g_autoptr (GPtrArray) auths
      = sfb_sip_auth_parse ("NoOneKnowsThisScheme opaque-data=here", -1, NULL);

  g_assert_nonnull (auths);
  g_assert_cmpstr (sfb_sip_auth_get_scheme (auths->pdata[0]), ==, "NoOneKnowsThisScheme");
  g_assert_cmpstr (sfb_sip_auth_get_param (auths->pdata[0], "opaque-data"), ==, "here");
}

static void
test_whitespace (void)
{
  g_autoptr (GPtrArray) auths
      = sfb_sip_auth_parse ("  Kerberos\t realm = \"r\" ,\r\n targetname =\"t\"  ", -1, NULL);

  g_assert_nonnull (auths);
  g_assert_cmpstr (sfb_sip_auth_get_param (auths->pdata[0], "realm"), ==, "r");
  g_assert_cmpstr (sfb_sip_auth_get_param (auths->pdata[0], "targetname"), ==, "t");
}

static void
test_invalid (void)
{
  static const char *const cases[] = {
    "",
    "   ",
    ",,",
    "realm=\"x\"",
    "NTLM realm=\"open",
    "NTLM realm=\"x\\",
    "NTLM a=b c=d",
    "NTLM a=b \"junk\"",
    "NTLM ,=x",
    "NTLM realm=\"x\"junk=1",
    "\"NTLM\" realm=x",
    "NTLM =x",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) auths = sfb_sip_auth_parse (cases[i], -1, &error);

      g_test_message ("'%s' -> %s", cases[i], error != NULL ? error->message : "parsed");
      g_assert_null (auths);
      g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED);
    }
}

static void
test_limits (void)
{
  g_autoptr (GString) params = g_string_new ("NTLM a0=0");
  g_autoptr (GString) schemes = g_string_new ("S0");
  g_autofree char *huge = g_strnfill (SFB_SIP_AUTH_MAX_LENGTH + 1, 'x');
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) a = NULL;
  g_autoptr (GPtrArray) b = NULL;
  g_autoptr (GPtrArray) c = NULL;

  for (guint i = 1; i <= 64; i++)
    g_string_append_printf (params, ", a%u=%u", i, i);
  for (guint i = 1; i <= SFB_SIP_AUTH_MAX_CHALLENGES; i++)
    g_string_append_printf (schemes, ", S%u", i);
  huge[0] = 'N';
  huge[1] = ' ';
  a = sfb_sip_auth_parse (params->str, -1, &error);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE);
  g_clear_error (&error);
  b = sfb_sip_auth_parse (schemes->str, -1, &error);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE);
  g_clear_error (&error);
  c = sfb_sip_auth_parse (huge, -1, &error);
  g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_TOO_LARGE);
  g_assert_null (a);
  g_assert_null (b);
  g_assert_null (c);
}

/* the three client forms of docs/protocol.md §4.2, byte for byte */
static void
test_build_authorization (void)
{
  SfbSipAuthorization first = {
    .scheme = "NTLM",
    .realm = REALM,
    .targetname = "fe.contoso.com",
    .gssapi_data = "",
    .version = 4,
  };
  SfbSipAuthorization final = {
    .scheme = "NTLM",
    .opaque = "2BDBAC9D",
    .realm = REALM,
    .targetname = "fe.contoso.com",
    .gssapi_data = "TlRMTVNTUAADAAAA",
    .version = 4,
    .crand = "13317733",
    .cnum = 1,
    .response = "0100000029618e9651b65a7764000000",
  };
  SfbSipAuthorization later = {
    .scheme = "NTLM",
    .opaque = "2BDBAC9D",
    .realm = REALM,
    .targetname = "fe.contoso.com",
    .crand = "5f0c1a22",
    .cnum = 2,
    .response = "01000000aabbccdd64000000",
  };
  g_autofree char *a = sfb_sip_auth_build_authorization (&first);
  g_autofree char *b = sfb_sip_auth_build_authorization (&final);
  g_autofree char *c = sfb_sip_auth_build_authorization (&later);
  g_autoptr (GPtrArray) parsed = NULL;

  g_assert_cmpstr (a,
                   ==,
                   "NTLM qop=\"auth\", realm=\"" REALM "\", targetname=\"fe.contoso.com\", "
                   "gssapi-data=\"\", version=4");
  g_assert_cmpstr (b,
                   ==,
                   "NTLM qop=\"auth\", opaque=\"2BDBAC9D\", realm=\"" REALM "\", "
                   "targetname=\"fe.contoso.com\", gssapi-data=\"TlRMTVNTUAADAAAA\", version=4, "
                   "crand=\"13317733\", cnum=\"1\", response=\"0100000029618e9651b65a7764000000\"");
  g_assert_cmpstr (c,
                   ==,
                   "NTLM qop=\"auth\", opaque=\"2BDBAC9D\", realm=\"" REALM "\", "
                   "targetname=\"fe.contoso.com\", crand=\"5f0c1a22\", cnum=\"2\", "
                   "response=\"01000000aabbccdd64000000\"");

  parsed = sfb_sip_auth_parse (b, -1, NULL);
  g_assert_nonnull (parsed);
  g_assert_cmpstr (
      sfb_sip_auth_get_param (parsed->pdata[0], "gssapi-data"), ==, "TlRMTVNTUAADAAAA");
  g_assert_cmpstr (sfb_sip_auth_get_param (parsed->pdata[0], "cnum"), ==, "1");
}

static void
test_build_quoting (void)
{
  SfbSipAuthorization odd = {
    .scheme = "Kerberos",
    .realm = "a \"b\" \\c",
    .targetname = "sip/fe.contoso.com",
  };
  g_autofree char *text = sfb_sip_auth_build_authorization (&odd);
  g_autoptr (GPtrArray) parsed = sfb_sip_auth_parse (text, -1, NULL);

  g_assert_cmpstr (text,
                   ==,
                   "Kerberos qop=\"auth\", realm=\"a \\\"b\\\" \\\\c\", "
                   "targetname=\"sip/fe.contoso.com\"");
  g_assert_cmpstr (sfb_sip_auth_get_param (parsed->pdata[0], "realm"), ==, "a \"b\" \\c");
}

/* Quoted values with and without escapes, and the quoted-string errors,
 * in an auth header and in a name-addr's parameters */
static void
test_quoted_values (void)
{
  static const char text[] = "NTLM a=\"plain\", b=\"es\\\"c\\\\aped\", c=\"\", d=\"x, y=z\", "
                             "e=\"\\\"\"";
  static const char *const bad[] = { "NTLM a=\"open", "NTLM a=\"open\\", "NTLM a=\"x\\\r\"" };
  g_autoptr (GPtrArray) parsed = sfb_sip_auth_parse (text, -1, NULL);
  g_autoptr (SfbSipNameAddr) addr
      = sfb_sip_name_addr_parse ("<sip:a@b.test>;tag=\"t\\\"1\";x=\"plain\"", -1, NULL);
  g_autoptr (SfbSipNameAddr) open_addr
      = sfb_sip_name_addr_parse ("<sip:a@b.test>;tag=\"t", -1, NULL);

  g_assert_nonnull (parsed);
  g_assert_cmpuint (parsed->len, ==, 1);
  g_assert_cmpstr (sfb_sip_auth_get_param (parsed->pdata[0], "a"), ==, "plain");
  g_assert_cmpstr (sfb_sip_auth_get_param (parsed->pdata[0], "b"), ==, "es\"c\\aped");
  g_assert_cmpstr (sfb_sip_auth_get_param (parsed->pdata[0], "c"), ==, "");
  g_assert_cmpstr (sfb_sip_auth_get_param (parsed->pdata[0], "d"), ==, "x, y=z");
  g_assert_cmpstr (sfb_sip_auth_get_param (parsed->pdata[0], "e"), ==, "\"");
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) none = sfb_sip_auth_parse (bad[i], -1, &error);

      g_assert_null (none);
      g_assert_error (error, SFB_SIP_ERROR, SFB_SIP_ERROR_MALFORMED);
    }
  g_assert_nonnull (addr);
  g_assert_cmpstr (sfb_sip_name_addr_get_param (addr, "tag"), ==, "t\"1");
  g_assert_cmpstr (sfb_sip_name_addr_get_param (addr, "x"), ==, "plain");
  g_assert_null (open_addr);
}

static void
test_to_string (void)
{
  g_autoptr (SfbSipAuth) auth = sfb_sip_auth_new ("TLS-DSK");
  g_autofree char *text = NULL;

  sfb_sip_auth_add_param (auth, "qop", "auth", TRUE);
  sfb_sip_auth_add_param (auth, "version", "4", FALSE);
  sfb_sip_auth_add_param (auth, "opaque", "x\"y", TRUE);
  text = sfb_sip_auth_to_string (auth);
  g_assert_cmpstr (text, ==, "TLS-DSK qop=\"auth\", version=4, opaque=\"x\\\"y\"");
}

static void
test_redact_value (void)
{
  g_autofree char *a
      = sfb_sip_auth_redact_value ("NTLM gssapi-data=\"SECRET\", realm=\"r\"", -1, TRUE);
  g_autofree char *b = sfb_sip_auth_redact_value ("Negotiate SECRET==", -1, TRUE);
  g_autofree char *c = sfb_sip_auth_redact_value ("just text, response time", -1, FALSE);
  g_autofree char *d = sfb_sip_auth_redact_value ("x; response = \"SECRET", -1, FALSE);
  g_autofree char *e = sfb_sip_auth_redact_value ("Kerberos Rspauth=SECRET", -1, FALSE);

  g_assert_cmpstr (a, ==, "NTLM gssapi-data=<redacted>, realm=\"r\"");
  g_assert_cmpstr (b, ==, "Negotiate <redacted>");
  g_assert_null (c);
  g_assert_cmpstr (d, ==, "<redacted>");
  g_assert_cmpstr (e, ==, "Kerberos Rspauth=<redacted>");
}

/* ---- the view (sfb_sip_auth_view_parse) against the built parse ---- */

static void
assert_same_challenge (const SfbSipAuthView *view, const SfbSipAuth *auth)
{
  static const char *const names[] = { "a", "A", "rspauth", "srand", "opaque", "x" };

  g_assert_cmpint (view->found, ==, auth != NULL);
  if (auth == NULL)
    {
      g_assert_null (sfb_sip_auth_view_get_param (view, "a"));
      return;
    }
  g_assert_cmpstr (sfb_sip_auth_view_get_scheme (view), ==, sfb_sip_auth_get_scheme (auth));
  g_assert_cmpuint (view->n_params, ==, sfb_sip_auth_get_n_params (auth));
  for (guint i = 0; i < view->n_params; i++)
    {
      const char *name = sfb_sip_auth_get_param_name (auth, i);

      g_assert_cmpmem (view->params[i].name, view->params[i].name_len, name, strlen (name));
      g_assert_cmpstr (
          sfb_sip_auth_view_get_param_value (view, i), ==, sfb_sip_auth_get_param_value (auth, i));
      g_assert_cmpstr (
          sfb_sip_auth_view_get_param (view, name), ==, sfb_sip_auth_get_param (auth, name));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_cmpstr (
        sfb_sip_auth_view_get_param (view, names[i]), ==, sfb_sip_auth_get_param (auth, names[i]));
}

/* verdict, error (domain, code, text) and the challenge of @scheme */
static void
assert_view_as_parse (SfbSipAuthView *view, const char *value, gsize len, const char *scheme)
{
  g_autoptr (GError) want_error = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) auths = sfb_sip_auth_parse (value, (gssize) len, &want_error);
  gboolean ok = sfb_sip_auth_view_parse (view, value, (gssize) len, scheme, &error);

  g_assert_cmpint (ok, ==, auths != NULL);
  if (!ok)
    {
      g_assert_error (error, want_error->domain, want_error->code);
      g_assert_cmpstr (error->message, ==, want_error->message);
      g_assert_false (view->found);
      return;
    }
  g_assert_no_error (error);
  assert_same_challenge (view, sfb_sip_auth_find (auths, scheme));
}

static void
assert_view_all_schemes (SfbSipAuthView *view, const char *value, gsize len)
{
  static const char *const schemes[] = { "NTLM", "ntlm", "Kerberos", "Negotiate", "TLS-DSK", "X" };

  for (gsize i = 0; i < G_N_ELEMENTS (schemes); i++)
    assert_view_as_parse (view, value, len, schemes[i]);
}

/* each value, and each with every position given one special byte,
 * replaced and inserted: one view reused throughout */
static void
test_view (void)
{
  static const char *const values[] = {
    "NTLM qop=\"auth\", opaque=\"2BDBAC9D\", srand=\"3F3C\", snum=\"1\", rspauth=\"0100\", "
    "targetname=\"fe\", realm=\"" REALM "\", version=4",
    "Kerberos realm=\"r\", NTLM a=1, b=\"x\\\"y\", ntlm c=2",
    "Negotiate YIIG==, NTLM a=1, A=\"es\\\\c\", a=3",
    "TLS-DSK Zm9v, Kerberos x=\"\"",
    "a=1, NTLM",
    "NTLM a=1 b=2",
    "NTLM a=\"open",
    "NTLM a=",
    " , ,NTLM ,",
    "",
  };
  static const char specials[] = "\"\\,= \t\r;N\0";
  SfbSipAuthView view = { 0 };

  for (gsize v = 0; v < G_N_ELEMENTS (values); v++)
    {
      gsize len = strlen (values[v]);
      g_autofree char *buf = g_malloc (len + 2);

      assert_view_all_schemes (&view, values[v], len);
      for (gsize at = 0; at <= len; at++)
        for (gsize c = 0; c < sizeof specials - 1 + 1; c++)
          {
            /* inserted */
            memcpy (buf, values[v], at);
            buf[at] = specials[c];
            memcpy (buf + at + 1, values[v] + at, len - at);
            assert_view_all_schemes (&view, buf, len + 1);
            if (at == len)
              continue;
            /* replaced */
            memcpy (buf, values[v], len);
            buf[at] = specials[c];
            assert_view_all_schemes (&view, buf, len);
          }
    }
  sfb_sip_auth_view_clear (&view);
}

/* the challenge and parameter limits, the scheme first or last */
static void
test_view_limits (void)
{
  SfbSipAuthView view = { 0 };

  for (guint n = SFB_SIP_AUTH_MAX_CHALLENGES - 1; n <= SFB_SIP_AUTH_MAX_CHALLENGES + 1; n++)
    {
      g_autoptr (GString) value = g_string_new (NULL);

      for (guint i = 0; i < n; i++)
        g_string_append_printf (value, "%sS%u a=%u", i > 0 ? ", " : "", i, i);
      assert_view_as_parse (&view, value->str, value->len, "S0");
      assert_view_as_parse (&view, value->str, value->len, "S14");
      assert_view_as_parse (&view, value->str, value->len, "s15");
    }
  for (guint n = SFB_SIP_AUTH_MAX_PARAMS - 1; n <= SFB_SIP_AUTH_MAX_PARAMS + 1; n++)
    {
      g_autoptr (GString) value = g_string_new ("Kerberos k=1, NTLM");

      for (guint i = 0; i < n; i++)
        g_string_append_printf (value, "%sp%u=\"v\\%u\"", i > 0 ? ", " : " ", i, i);
      assert_view_as_parse (&view, value->str, value->len, "NTLM");
      g_string_append (value, ", X");
      for (guint i = 0; i < n; i++)
        g_string_append_printf (value, "%sq%u=%u", i > 0 ? ", " : " ", i, i);
      assert_view_as_parse (&view, value->str, value->len, "X");
      assert_view_as_parse (&view, value->str, value->len, "Kerberos");
    }
  {
    g_autofree char *lng = g_strnfill (SFB_SIP_AUTH_MAX_LENGTH + 1, 'a');

    memcpy (lng, "NTLM a=", 7);
    assert_view_as_parse (&view, lng, SFB_SIP_AUTH_MAX_LENGTH, "NTLM");
    assert_view_as_parse (&view, lng, SFB_SIP_AUTH_MAX_LENGTH + 1, "NTLM");
  }
  sfb_sip_auth_view_clear (&view);
}

/* a message's headers: the first challenge of the scheme over all of them,
 * broken ones skipped, as sfb_sip_auth_parse_message () and find give */
static void
test_view_message (void)
{
  static const char *const headers[] = {
    "",
    "Authentication-Info: NTLM a=1\r\n",
    "Authentication-Info: NTLM a=\"open\r\nAuthentication-Info: NTLM a=2\r\n",
    "Authentication-Info: NTLM a=2, b=3\r\nAuthentication-Info: NTLM a=\"open\r\n",
    "Authentication-Info: Kerberos a=1\r\nAuthentication-Info: ntlm a=2\r\n",
    "Authentication-Info: NTLM a=1, NTLM a=2\r\nAuthentication-Info: NTLM a=3\r\n",
    "Authentication-Info: K a=1, NTLM a=\"x\\\"\", b\r\nAuthentication-Info: K b=2\r\n",
    "Authentication-Info: Kerberos a=1, NTLM a=\"x\\\"\"\r\nAuthentication-Info: NTLM c=3\r\n",
    "Proxy-Authentication-Info: NTLM a=1\r\nAuthentication-Info: Kerberos a=2\r\n",
  };
  static const char *const schemes[] = { "NTLM", "Kerberos", "X" };
  static const char *const names[] = { "Authentication-Info", "Proxy-Authentication-Info" };
  SfbSipAuthView view = { 0 };

  for (gsize h = 0; h < G_N_ELEMENTS (headers); h++)
    {
      g_autofree char *text
          = g_strdup_printf ("SIP/2.0 200 OK\r\n%sContent-Length: 0\r\n\r\n", headers[h]);
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbSipMessage) msg = sfb_sip_message_parse (text, strlen (text), &error);

      g_assert_no_error (error);
      for (gsize n = 0; n < G_N_ELEMENTS (names); n++)
        for (gsize s = 0; s < G_N_ELEMENTS (schemes); s++)
          {
            g_autoptr (GPtrArray) auths = sfb_sip_auth_parse_message (msg, names[n]);
            SfbSipAuth *auth = sfb_sip_auth_find (auths, schemes[s]);

            g_assert_cmpint (sfb_sip_auth_view_find_message (&view, msg, names[n], schemes[s]),
                             ==,
                             auth != NULL);
            assert_same_challenge (&view, auth);
          }
    }
  sfb_sip_auth_view_clear (&view);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sip/auth-header/lync-challenges", test_lync_challenges);
  g_test_add_func ("/sip/auth-header/quoted-values", test_quoted_values);
  g_test_add_func ("/sip/auth-header/authentication-info", test_authentication_info);
  g_test_add_func ("/sip/auth-header/parse-message-lists", test_parse_message_lists);
  g_test_add_func ("/sip/auth-header/several-in-one-header", test_several_in_one_header);
  g_test_add_func ("/sip/auth-header/token68-ambiguity", test_token68_ambiguity);
  g_test_add_func ("/sip/auth-header/unknown-scheme", test_unknown_scheme);
  g_test_add_func ("/sip/auth-header/whitespace", test_whitespace);
  g_test_add_func ("/sip/auth-header/invalid", test_invalid);
  g_test_add_func ("/sip/auth-header/limits", test_limits);
  g_test_add_func ("/sip/auth-header/build-authorization", test_build_authorization);
  g_test_add_func ("/sip/auth-header/build-quoting", test_build_quoting);
  g_test_add_func ("/sip/auth-header/to-string", test_to_string);
  g_test_add_func ("/sip/auth-header/redact-value", test_redact_value);
  g_test_add_func ("/sip/auth-header/view", test_view);
  g_test_add_func ("/sip/auth-header/view-limits", test_view_limits);
  g_test_add_func ("/sip/auth-header/view-message", test_view_message);

  return g_test_run ();
}
