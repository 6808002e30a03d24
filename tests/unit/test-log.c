/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Redaction helpers and the log writer's scrubbing of registered secrets. */
#define G_LOG_DOMAIN "sfbd-test"

#include "config.h"

#include "sfb-error.h"
#include "sfb-log.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define SECRET "s3cr3t-Pa55"

static void
test_log_redact_secret (void)
{
  g_assert_cmpstr (sfb_log_redact_secret (SECRET), ==, SFB_LOG_REDACTED);
  g_assert_cmpstr (sfb_log_redact_secret (""), ==, "");
  g_assert_cmpstr (sfb_log_redact_secret (NULL), ==, "");
}

static void
test_log_scrub (void)
{
  g_autofree char *scrubbed = NULL;

  g_assert_null (sfb_log_scrub ("password " SECRET));

  sfb_log_add_secret (SECRET);
  sfb_log_add_secret (SECRET); /* a second holder */
  scrubbed = sfb_log_scrub ("a " SECRET " b " SECRET);
  g_assert_cmpstr (scrubbed, ==, "a " SFB_LOG_REDACTED " b " SFB_LOG_REDACTED);
  g_assert_null (sfb_log_scrub ("nothing secret here"));
  g_assert_null (sfb_log_scrub (""));
  g_assert_null (sfb_log_scrub (NULL));

  sfb_log_remove_secret (SECRET);
  g_clear_pointer (&scrubbed, g_free);
  scrubbed = sfb_log_scrub (SECRET);
  g_assert_cmpstr (scrubbed, ==, SFB_LOG_REDACTED);
  sfb_log_remove_secret (SECRET);
  g_assert_null (sfb_log_scrub ("a " SECRET));
}

/* The forms a password takes in XML (web ticket) and URL-encoded bodies. */
static void
test_log_scrub_encoded (void)
{
  g_autofree char *xml = NULL;
  g_autofree char *url = NULL;

  sfb_log_add_secret ("p&ss<w rd");
  xml = sfb_log_scrub ("<Password>p&amp;ss&lt;w rd</Password>");
  g_assert_cmpstr (xml, ==, "<Password>" SFB_LOG_REDACTED "</Password>");
  url = sfb_log_scrub ("user=alice&password=p%26ss%3Cw%20rd");
  g_assert_cmpstr (url, ==, "user=alice&password=" SFB_LOG_REDACTED);
  sfb_log_clear_secrets ();
}

/* A secret inside another goes whole; the marker is never scrubbed again. */
static void
test_log_scrub_overlap (void)
{
  g_autofree char *nested = NULL;
  g_autofree char *marker = NULL;

  sfb_log_add_secret ("abc");
  sfb_log_add_secret ("abcdef");
  nested = sfb_log_scrub ("xabcdefx abc");
  g_assert_cmpstr (nested, ==, "x" SFB_LOG_REDACTED "x " SFB_LOG_REDACTED);
  sfb_log_clear_secrets ();

  sfb_log_add_secret ("d");
  marker = sfb_log_scrub ("dd");
  g_assert_cmpstr (marker, ==, SFB_LOG_REDACTED SFB_LOG_REDACTED);
  sfb_log_clear_secrets ();
}

static void
test_log_redact_auth_header (void)
{
  const struct
  {
    const char *in;
    const char *out;
  } cases[] = {
    { "NTLM qop=\"auth\", realm=\"SIP Communications Service\", targetname=\"fe.contoso.test\", "
      "gssapi-data=\"TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==\", version=4",
      "NTLM qop=\"auth\", realm=\"SIP Communications Service\", targetname=\"fe.contoso.test\", "
      "gssapi-data=\"" SFB_LOG_REDACTED "\", version=4" },
    { "NTLM qop=\"auth\", opaque=\"A1B2\", crand=\"1\", cnum=\"2\", response=\"0100000000\"",
      "NTLM qop=\"auth\", opaque=\"" SFB_LOG_REDACTED "\", crand=\"" SFB_LOG_REDACTED
      "\", cnum=\"" SFB_LOG_REDACTED "\", response=\"" SFB_LOG_REDACTED "\"" },
    { "Basic YWxpY2U6czNjcjN0", "Basic " SFB_LOG_REDACTED },
    { "Negotiate "
      "YIIGhgYJKoZIhvcSAQICAQBuggZ1MIIGcaADAgEFoQMCAQ6iBwMFACAAAACjggSUYYIEkDCCBIygAwIBBQ==",
      "Negotiate " SFB_LOG_REDACTED },
    { "NTLM realm=\"SIP Communications Service\", targetname=\"fe.contoso.test\", version=4",
      "NTLM realm=\"SIP Communications Service\", targetname=\"fe.contoso.test\", version=4" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *redacted = sfb_redact_auth_header (cases[i].in);

      g_assert_cmpstr (redacted, ==, cases[i].out);
    }
  g_assert_null (sfb_redact_auth_header (NULL));
}

static void
test_log_format (void)
{
  const GLogField fields[] = {
    { "GLIB_DOMAIN", "sfbd-sip", -1 },
    { "MESSAGE", "hello", -1 },
  };
  g_autofree char *line
      = sfb_log_format_fields (G_LOG_LEVEL_WARNING, fields, G_N_ELEMENTS (fields));

  g_assert_true (g_pattern_match_simple ("??:??:??.??? sfbd-sip WARNING: hello", line));
}

/* In a subprocess: the writer to stderr, as sfbd runs under tests. */
static void
log_through_writer (gboolean verbose)
{
  g_autoptr (GError) error = g_error_new (SFB_ERROR, SFB_ERROR_AUTH_FAILED, "rejected " SECRET);

  sfb_log_install_writer (verbose);
  sfb_log_add_secret (SECRET);
  g_message ("password is %s", SECRET);
  g_debug ("debug line with %s", SECRET);
  sfb_log (G_LOG_LEVEL_INFO,
           SFB_LOG_ERR (error),
           SFB_LOG_TOPIC ("test"),
           "MESSAGE",
           "%s",
           error->message);
}

static void
test_log_writer_scrubs (void)
{
  if (g_test_subprocess ())
    {
      log_through_writer (FALSE);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*sfbd-test MESSAGE: password is " SFB_LOG_REDACTED "*");
  g_test_trap_assert_stderr ("*rejected " SFB_LOG_REDACTED "*");
  g_test_trap_assert_stderr_unmatched ("*" SECRET "*");
  g_test_trap_assert_stderr_unmatched ("*debug line*");
}

static void
test_log_writer_verbose (void)
{
  if (g_test_subprocess ())
    {
      /* --verbose covers sfbd* domains only */
      log_through_writer (TRUE);
      g_log_structured ("other", G_LOG_LEVEL_DEBUG, "MESSAGE", "foreign debug");
      g_log_structured ("sfbd-sip", G_LOG_LEVEL_DEBUG, "MESSAGE", "sip debug");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*DEBUG: debug line with " SFB_LOG_REDACTED "*");
  g_test_trap_assert_stderr ("*sfbd-sip DEBUG: sip debug*");
  g_test_trap_assert_stderr_unmatched ("*foreign debug*");
  g_test_trap_assert_stderr_unmatched ("*" SECRET "*");
}

/* The journal fields of a sign-in failure, as the export writer prints
 * them: what journalctl -o export would show. */
/* A field given with its length is scrubbed over all of it, also past a NUL. */
static void
test_log_writer_scrubs_past_nul (void)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  int fd;

  if (g_test_subprocess ())
    {
      static const char blob[] = "binary\0then " SECRET;
      const GLogField fields[] = {
        { "MESSAGE", "a field with a NUL", -1 },
        { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
        { "SFB_BLOB", blob, sizeof blob - 1 },
      };

      g_setenv ("SFBD_LOG_FORMAT", "export", TRUE);
      sfb_log_install_writer (FALSE);
      sfb_log_add_secret (SECRET);
      /* stderr into the file: the trap's capture would stop at the NUL */
      fd = open (g_getenv ("SFB_TEST_LOG_FILE"), O_WRONLY);
      g_assert_cmpint (dup2 (fd, STDERR_FILENO), ==, STDERR_FILENO);
      g_log_structured_array (G_LOG_LEVEL_MESSAGE, fields, G_N_ELEMENTS (fields));
      return;
    }
  path = g_build_filename (g_get_tmp_dir (), "sfbd-test-log-nul.XXXXXX", NULL);
  fd = g_mkstemp (path);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_setenv ("SFB_TEST_LOG_FILE", path, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_unlink (path);
  g_assert_nonnull (memmem (contents, length, "SFB_BLOB", 8));
  g_assert_null (memmem (contents, length, SECRET, strlen (SECRET)));
  g_assert_nonnull (memmem (contents, length, SFB_LOG_REDACTED, strlen (SFB_LOG_REDACTED)));
}

static void
test_log_writer_export (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr (GError) error = g_error_new (
          SFB_ERROR, SFB_ERROR_AUTH_FAILED, "The server rejected the password " SECRET);

      g_setenv ("SFBD_LOG_FORMAT", "export", TRUE);
      sfb_log_install_writer (FALSE);
      sfb_log_add_secret (SECRET);
      sfb_log (G_LOG_LEVEL_INFO,
               SFB_LOG_MESSAGE_ID (SFB_LOG_MSGID_AUTH_FAILED),
               SFB_LOG_ERR (error),
               SFB_LOG_ERROR_NAME (sfb_error_get_dbus_name (error)),
               SFB_LOG_STATE ("failed"),
               SFB_LOG_SERVER ("pool.contoso.test:5061"),
               SFB_LOG_SIP_STATUS ("401"),
               SFB_LOG_URI ("sip:alice@contoso.test"),
               "MESSAGE",
               "Authentication failed: %s",
               error->message);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*\nMESSAGE_ID=" SFB_LOG_MSGID_AUTH_FAILED "\n*");
  g_test_trap_assert_stderr ("*\nSFB_ERROR_NAME=org.sfbd.Sfbd.Error.AuthFailed\n*");
  g_test_trap_assert_stderr ("*\nSFB_STATE=failed\n*");
  g_test_trap_assert_stderr ("*\nSFB_SERVER=pool.contoso.test:5061\n*");
  g_test_trap_assert_stderr ("*\nSFB_SIP_STATUS=401\n*");
  g_test_trap_assert_stderr ("*\nSFB_URI=sip:alice@contoso.test\n*");
  g_test_trap_assert_stderr (
      "*\nSFB_ERROR_MESSAGE=The server rejected the password " SFB_LOG_REDACTED "\n*");
  g_test_trap_assert_stderr ("*PRIORITY=6\n*");
  g_test_trap_assert_stderr ("*GLIB_DOMAIN=sfbd-test\n*");
  g_test_trap_assert_stderr (
      "MESSAGE=Authentication failed: The server rejected the password " SFB_LOG_REDACTED "\n*");
  g_test_trap_assert_stderr_unmatched ("*" SECRET "*");
}

static void
test_log_format_export (void)
{
  const GLogField fields[] = {
    { "MESSAGE", "one line", -1 },
    { "SFB_STATE", "signed-in", -1 },
    { "BINARY", "a\nb", 3 },
  };
  gsize length;
  g_autofree char *entry
      = sfb_log_format_export (G_LOG_LEVEL_INFO, fields, G_N_ELEMENTS (fields), &length);
  const char expected[] = "MESSAGE=one line\nSFB_STATE=signed-in\nBINARY\n\3\0\0\0\0\0\0\0a\nb\n\n";

  g_assert_cmpmem (entry, length, expected, sizeof expected - 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* debug output must come from --verbose alone */
  g_unsetenv ("G_MESSAGES_DEBUG");

  g_test_add_func ("/log/redact-secret", test_log_redact_secret);
  g_test_add_func ("/log/scrub", test_log_scrub);
  g_test_add_func ("/log/scrub/encoded", test_log_scrub_encoded);
  g_test_add_func ("/log/scrub/overlap", test_log_scrub_overlap);
  g_test_add_func ("/log/redact-auth-header", test_log_redact_auth_header);
  g_test_add_func ("/log/format", test_log_format);
  g_test_add_func ("/log/writer/scrubs", test_log_writer_scrubs);
  g_test_add_func ("/log/writer/verbose", test_log_writer_verbose);
  g_test_add_func ("/log/writer/export", test_log_writer_export);
  g_test_add_func ("/log/writer/scrubs-past-nul", test_log_writer_scrubs_past_nul);
  g_test_add_func ("/log/format/export", test_log_format_export);
  return g_test_run ();
}
