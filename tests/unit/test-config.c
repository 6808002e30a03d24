/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SfbConfig: loading, defaults, validation, Configure() semantics, files. */
#include "config.h"

#include "sfb-config.h"
#include "sfb-error.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include "sfb-test.h"
#include <sfbd/sfb-names.h>

typedef struct
{
  char *root; /* this test's directory */
  char *dir;  /* not created: sfb_config_apply() must do it */
  char *path;
  char *ca_file;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->root = sfb_test_make_dir ();
  f->dir = g_build_filename (f->root, "config", "sfbd", NULL);
  f->path = g_build_filename (f->dir, SFB_CONFIG_FILE_NAME, NULL);
  f->ca_file = g_build_filename (f->root, "ca.pem", NULL);
  g_assert_true (g_file_set_contents (f->ca_file, "-----BEGIN CERTIFICATE-----\n", -1, NULL));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  sfb_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->dir);
  g_free (f->path);
  g_free (f->ca_file);
}

static void
write_config (Fixture *f, const char *contents)
{
  g_assert_cmpint (g_mkdir_with_parents (f->dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (f->path, contents, -1, NULL));
}

static char *
read_config (Fixture *f)
{
  char *contents = NULL;

  g_assert_true (g_file_get_contents (f->path, &contents, NULL, NULL));
  return contents;
}

static gboolean
apply1 (SfbConfig *config, const char *name, GVariant *value, GError **error)
{
  g_autoptr (GVariantDict) dict = g_variant_dict_new (NULL);
  g_autoptr (GVariant) settings = NULL;

  g_variant_dict_insert_value (dict, name, value);
  settings = g_variant_ref_sink (g_variant_dict_end (dict));
  return sfb_config_apply (config, settings, error);
}

static void
test_config_defaults (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = sfb_config_new_for_path (f->path);

  g_assert_no_error ((GError *) sfb_config_get_load_error (config));
  g_assert_cmpstr (sfb_config_get_path (config), ==, f->path);
  g_assert_null (sfb_config_get_uri (config));
  g_assert_null (sfb_config_get_login (config));
  g_assert_null (sfb_config_get_server (config));
  g_assert_null (sfb_config_get_server_host (config));
  g_assert_cmpuint (sfb_config_get_server_port (config), ==, 0);
  g_assert_cmpint (sfb_config_get_auth (config), ==, SFB_AUTH_MODE_AUTO);
  g_assert_true (sfb_config_get_auto_sign_in (config));
  g_assert_null (sfb_config_get_ca_file (config));
  g_assert_cmpint (sfb_config_get_secrets_store (config), ==, SFB_SECRETS_STORE_AUTO);
  g_assert_null (sfb_config_get_device (config, SFB_DEVICE_KIND_AUDIO_OUTPUT));
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
}

static void
test_config_default_paths (void)
{
  g_autofree char *config_path = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *xdg_config = NULL;
  g_autofree char *xdg_state = NULL;
  g_autofree char *saved_config = g_strdup (g_getenv (SFB_ENV_CONFIG_DIR));
  g_autofree char *saved_state = g_strdup (g_getenv (SFB_ENV_STATE_DIR));

  g_setenv (SFB_ENV_CONFIG_DIR, "/tmp/sfbd-config-test", TRUE);
  g_setenv (SFB_ENV_STATE_DIR, "/tmp/sfbd-state-test", TRUE);
  config_path = sfb_config_dup_default_path ();
  state_dir = sfb_dup_state_dir ();
  g_assert_cmpstr (config_path, ==, "/tmp/sfbd-config-test/sfbd.conf");
  g_assert_cmpstr (state_dir, ==, "/tmp/sfbd-state-test");

  g_unsetenv (SFB_ENV_CONFIG_DIR);
  g_unsetenv (SFB_ENV_STATE_DIR);
  g_clear_pointer (&config_path, g_free);
  g_clear_pointer (&state_dir, g_free);
  config_path = sfb_config_dup_default_path ();
  state_dir = sfb_dup_state_dir ();
  xdg_config = g_build_filename (g_get_user_config_dir (), "sfbd", "sfbd.conf", NULL);
  xdg_state = g_build_filename (g_get_user_state_dir (), "sfbd", NULL);
  g_assert_cmpstr (config_path, ==, xdg_config);
  g_assert_cmpstr (state_dir, ==, xdg_state);
  g_assert_true (g_str_has_prefix (xdg_config, sfb_test_root));

  g_setenv (SFB_ENV_CONFIG_DIR, saved_config, TRUE);
  g_setenv (SFB_ENV_STATE_DIR, saved_state, TRUE);
}

static void
test_config_load (Fixture *f, gconstpointer data)
{
  g_autofree char *contents = g_strdup_printf ("[Account]\n"
                                               "Uri=alice@Contoso.TEST\n"
                                               "Login=CONTOSO\\alice\n"
                                               "Server=Pool.Contoso.test:5061\n"
                                               "Auth=NTLM\n"
                                               "AutoSignIn=false\n"
                                               "[TLS]\n"
                                               "CAFile=%s\n"
                                               "[Secrets]\n"
                                               "Store=file\n"
                                               "[Devices]\n"
                                               "AudioOutput=alsa_output.usb\n"
                                               "AudioInput=alsa_input.usb\n"
                                               "VideoInput=v4l2_camera\n",
                                               f->ca_file);
  g_autoptr (SfbConfig) config = NULL;

  write_config (f, contents);
  config = sfb_config_new_for_path (f->path);
  g_assert_no_error ((GError *) sfb_config_get_load_error (config));
  g_assert_cmpstr (sfb_config_get_uri (config), ==, "sip:alice@contoso.test");
  g_assert_cmpstr (sfb_config_get_login (config), ==, "CONTOSO\\alice");
  g_assert_cmpstr (sfb_config_get_server (config), ==, "pool.contoso.test:5061");
  g_assert_cmpstr (sfb_config_get_server_host (config), ==, "pool.contoso.test");
  g_assert_cmpuint (sfb_config_get_server_port (config), ==, 5061);
  g_assert_cmpint (sfb_config_get_auth (config), ==, SFB_AUTH_MODE_NTLM);
  g_assert_cmpstr (sfb_auth_mode_to_string (sfb_config_get_auth (config)), ==, "ntlm");
  g_assert_false (sfb_config_get_auto_sign_in (config));
  g_assert_cmpstr (sfb_config_get_ca_file (config), ==, f->ca_file);
  g_assert_cmpint (sfb_config_get_secrets_store (config), ==, SFB_SECRETS_STORE_FILE);
  g_assert_cmpstr (sfb_secrets_store_to_string (SFB_SECRETS_STORE_FILE), ==, "file");
  g_assert_cmpstr (
      sfb_config_get_device (config, SFB_DEVICE_KIND_AUDIO_OUTPUT), ==, "alsa_output.usb");
  g_assert_cmpstr (
      sfb_config_get_device (config, SFB_DEVICE_KIND_AUDIO_INPUT), ==, "alsa_input.usb");
  g_assert_cmpstr (sfb_config_get_device (config, SFB_DEVICE_KIND_VIDEO_INPUT), ==, "v4l2_camera");
  g_assert_null (sfb_config_get_device (config, "speaker"));
}

/* docs/architecture.md §5 verbatim, trailing comments included. */
static void
test_config_documented_example (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = NULL;

  write_config (f,
                "[Account]\n"
                "Uri=sip:alice@contoso.test      # a bare alice@contoso.test is accepted too\n"
                "Login=CONTOSO\\alice             # or alice@contoso.test; defaults to the URI's "
                "user part\n"
                "Server=                         # host[:port]: skips discovery when set\n"
                "Auth=auto                       # auto | ntlm | kerberos | tls-dsk\n"
                "AutoSignIn=true\n"
                "[TLS]\n"
                "CAFile=                         # extra trust anchors (PEM), on top of the system "
                "store\n"
                "[Secrets]\n"
                "Store=auto                      # auto (Secret Service, else file) | "
                "secret-service | file\n");
  config = sfb_config_new_for_path (f->path);
  g_assert_no_error ((GError *) sfb_config_get_load_error (config));
  g_assert_cmpstr (sfb_config_get_uri (config), ==, "sip:alice@contoso.test");
  g_assert_cmpstr (sfb_config_get_login (config), ==, "CONTOSO\\alice");
  g_assert_null (sfb_config_get_server (config));
  g_assert_null (sfb_config_get_ca_file (config));
  g_assert_cmpint (sfb_config_get_auth (config), ==, SFB_AUTH_MODE_AUTO);
  g_assert_true (sfb_config_get_auto_sign_in (config));
}

static void
test_config_login_default (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = NULL;

  write_config (f, "[Account]\nUri=sip:bob@contoso.test\n");
  config = sfb_config_new_for_path (f->path);
  g_assert_cmpstr (sfb_config_get_login (config), ==, "bob");
}

/* A bad value: file and line in the error, the rest of the file still used. */
static void
test_config_bad_value (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = NULL;
  g_autofree char *expected = NULL;
  const GError *error;

  write_config (f, "# mine\n[Account]\nAuth=ntlm\nUri=not an address\nServer=x:0\n");
  config = sfb_config_new_for_path (f->path);
  error = sfb_config_get_load_error (config);
  g_assert_error ((GError *) error, SFB_ERROR, SFB_ERROR_NOT_CONFIGURED);
  expected = g_strdup_printf ("%s:4: Account.Uri: “not an address” is not a SIP address*", f->path);
  g_assert_true (g_pattern_match_simple (expected, error->message));
  g_assert_null (sfb_config_get_uri (config));
  g_assert_null (sfb_config_get_server (config));
  g_assert_cmpint (sfb_config_get_auth (config), ==, SFB_AUTH_MODE_NTLM);
}

/* A syntax error: nothing is used, and Configure() will not overwrite it. */
static void
test_config_bad_syntax (Fixture *f, gconstpointer data)
{
  const char *broken = "[Account]\nUri=sip:alice@contoso.test\nthis is not a setting\n";
  g_autoptr (SfbConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *after = NULL;
  const GError *load_error;

  write_config (f, broken);
  config = sfb_config_new_for_path (f->path);
  load_error = sfb_config_get_load_error (config);
  g_assert_error ((GError *) load_error, SFB_ERROR, SFB_ERROR_NOT_CONFIGURED);
  expected = g_strdup_printf ("%s:3: *", f->path);
  g_assert_true (g_pattern_match_simple (expected, load_error->message));
  g_assert_null (sfb_config_get_uri (config));

  g_assert_false (apply1 (config, "Account.Auth", g_variant_new_string ("ntlm"), &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_NOT_CONFIGURED);
  after = read_config (f);
  g_assert_cmpstr (after, ==, broken);
}

typedef struct
{
  const char *name;
  const char *value;      /* a string, or a GVariant text when it starts with '<' */
  const char *normalized; /* NULL: InvalidArgs */
} ValidationCase;

static const ValidationCase validation_cases[] = {
  { "Account.Uri", "sip:alice@contoso.test", "sip:alice@contoso.test" },
  { "Account.Uri", "alice@contoso.test", "sip:alice@contoso.test" },
  { "Account.Uri", "SIP:Alice@Contoso.Test", "sip:Alice@contoso.test" },
  { "Account.Uri", "alice", NULL },
  { "Account.Uri", "sip:@contoso.test", NULL },
  { "Account.Uri", "alice@", NULL },
  { "Account.Uri", "alice@contoso..test", NULL },
  { "Account.Uri", "alice@-contoso.test", NULL },
  { "Account.Uri", "alice@bad_domain.test", NULL },
  { "Account.Uri", "alice@b@contoso.test", NULL },
  { "Account.Uri", "sips:alice@contoso.test", NULL },
  { "Account.Uri", "tel:+15551234", NULL },
  { "Account.Uri", "alice;x=1@contoso.test", NULL },
  { "Account.Uri", "<42>", NULL },
  { "Account.Login", "CONTOSO\\alice", "CONTOSO\\alice" },
  { "Account.Login", "CONTOSO\\\\alice", "CONTOSO\\alice" },
  { "Account.Login", "alice@contoso.test", "alice@contoso.test" },
  { "Account.Login", "alice", "alice" },
  { "Account.Login", "\\alice", NULL },
  { "Account.Login", "CONTOSO\\", NULL },
  { "Account.Login", "CONTOSO\\alice@contoso.test", NULL },
  { "Account.Login", "alice@", NULL },
  { "Account.Login", "al<ice", NULL },
  { "Account.Server", "pool.contoso.test", "pool.contoso.test" },
  { "Account.Server", "Pool.Contoso.Test:5061", "pool.contoso.test:5061" },
  { "Account.Server", "10.0.0.1:443", "10.0.0.1:443" },
  { "Account.Server", "[2001:DB8::1]:5061", "[2001:db8::1]:5061" },
  { "Account.Server", "[::1]", "[::1]" },
  { "Account.Server", "pool:1", "pool:1" },
  { "Account.Server", "pool:65535", "pool:65535" },
  { "Account.Server", "pool:0", NULL },
  { "Account.Server", "pool:65536", NULL },
  { "Account.Server", "pool:", NULL },
  { "Account.Server", "pool:50x", NULL },
  { "Account.Server", "pool:-1", NULL },
  { "Account.Server", "::1", NULL },
  { "Account.Server", "[pool]:5061", NULL },
  { "Account.Server", "-pool", NULL },
  { "Account.Server", "pool .contoso.test", NULL },
  { "Account.Auth", "auto", "auto" },
  { "Account.Auth", "ntlm", "ntlm" },
  { "Account.Auth", "Kerberos", "kerberos" },
  { "Account.Auth", "tls-dsk", "tls-dsk" },
  { "Account.Auth", "basic", NULL },
  { "Account.AutoSignIn", "<true>", "true" },
  { "Account.AutoSignIn", "<false>", "false" },
  { "Account.AutoSignIn", "false", "false" },
  { "Account.AutoSignIn", "TRUE", "true" },
  { "Account.AutoSignIn", "maybe", NULL },
  { "Account.AutoSignIn", "<uint32 1>", NULL },
  { "Secrets.Store", "auto", "auto" },
  { "Secrets.Store", "secret-service", "secret-service" },
  { "Secrets.Store", "file", "file" },
  { "Secrets.Store", "keyring", NULL },
  { "Devices.AudioOutput",
    "alsa_output.pci-0000_00_1f.3.analog-stereo",
    "alsa_output.pci-0000_00_1f.3.analog-stereo" },
  { "Devices.VideoInput", "<true>", NULL },
  { "Presence.InactiveAfter", "300", "300" },
  { "Presence.InactiveAfter", "0", "0" },
  { "Presence.AwayAfter", "007", "7" },
  { "Presence.AwayAfter", "86400", "86400" },
  { "Presence.AwayAfter", "86401", NULL },
  { "Presence.InactiveAfter", "-1", NULL },
  { "Presence.InactiveAfter", "5m", NULL },
  { "Notifications.ReconnectingAfter", "120", "120" },
  { "Notifications.ReconnectingAfter", "<uint32 120>", NULL },
  { "Account.Uri", "alice@contoso.test\n[Other]", NULL },
  { "Account.Server", "pool # comment", NULL },
  { "Account.Server", "#pool", NULL },
  { "Account.Foo", "x", NULL },
  { "Bogus", "x", NULL },
};

static GVariant *
case_value (const ValidationCase *c)
{
  if (c->value[0] == '<')
    {
      g_autofree char *text = g_strndup (c->value + 1, strlen (c->value) - 2);

      return g_variant_parse (NULL, text, NULL, NULL, NULL);
    }
  return g_variant_new_string (c->value);
}

/* Each setting alone on a fresh configuration. */
static void
test_config_validation (Fixture *f, gconstpointer data)
{
  for (gsize i = 0; i < G_N_ELEMENTS (validation_cases); i++)
    {
      const ValidationCase *c = &validation_cases[i];
      g_autoptr (SfbConfig) config = sfb_config_new_for_path (f->path);
      g_autoptr (GVariant) value = g_variant_take_ref (case_value (c));
      g_autoptr (GError) error = NULL;
      gboolean ok;

      g_test_message ("%s = %s", c->name, c->value);
      g_remove (f->path);
      ok = apply1 (config, c->name, value, &error);
      if (c->normalized != NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
          g_assert_cmpstr (sfb_config_get_value (config, c->name), ==, c->normalized);
        }
      else
        {
          g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
          g_assert_false (ok);
          g_assert_nonnull (strstr (error->message, c->name));
          g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
        }
    }
}

static void
test_config_ca_file (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = sfb_config_new_for_path (f->path);
  g_autofree char *missing = g_build_filename (f->root, "missing.pem", NULL);
  const char *bad[] = { missing, f->root, "relative/ca.pem" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (apply1 (config, "TLS.CAFile", g_variant_new_string (bad[i]), &error));
      g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
      g_assert_nonnull (strstr (error->message, "TLS.CAFile"));
    }
  g_assert_true (apply1 (config, "TLS.CAFile", g_variant_new_string (f->ca_file), NULL));
  g_assert_cmpstr (sfb_config_get_ca_file (config), ==, f->ca_file);
}

/* "Group.Key", a bare unique "Key", in any case. */
static void
test_config_key_names (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = sfb_config_new_for_path (f->path);
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;

  g_assert_true (apply1 (config, "Uri", g_variant_new_string ("alice@contoso.test"), NULL));
  g_assert_true (apply1 (config, "store", g_variant_new_string ("file"), NULL));
  g_assert_true (apply1 (config, "tls.cafile", g_variant_new_string (f->ca_file), NULL));
  g_assert_true (apply1 (config, "AudioInput", g_variant_new_string ("mic"), NULL));
  g_assert_cmpstr (sfb_config_get_uri (config), ==, "sip:alice@contoso.test");
  g_assert_cmpint (sfb_config_get_secrets_store (config), ==, SFB_SECRETS_STORE_FILE);
  g_assert_cmpstr (sfb_config_get_ca_file (config), ==, f->ca_file);
  g_assert_cmpstr (sfb_config_get_device (config, SFB_DEVICE_KIND_AUDIO_INPUT), ==, "mic");

  /* written under the canonical names */
  contents = read_config (f);
  g_assert_nonnull (strstr (contents, "[Account]\nUri=sip:alice@contoso.test\n"));
  g_assert_nonnull (strstr (contents, "[Secrets]\nStore=file\n"));

  g_assert_false (apply1 (config, "Account.Nope", g_variant_new_string ("x"), &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (error->message, "Account.Uri"));
}

/* One bad setting: nothing is written, nothing changes. */
static void
test_config_all_or_nothing (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = NULL;
  g_autoptr (GVariant) settings = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *after = NULL;
  const char *before = "[Account]\nUri=sip:alice@contoso.test\n";

  write_config (f, before);
  config = sfb_config_new_for_path (f->path);
  settings = g_variant_parse (G_VARIANT_TYPE_VARDICT,
                              "{'Account.Uri': <'bob@contoso.test'>, 'Account.Auth': <'ntlm'>, "
                              "'Account.Server': <'pool:99999'>}",
                              NULL,
                              NULL,
                              NULL);
  g_assert_false (sfb_config_apply (config, settings, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (error->message, "Account.Server"));
  after = read_config (f);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpstr (sfb_config_get_uri (config), ==, "sip:alice@contoso.test");
  g_assert_cmpint (sfb_config_get_auth (config), ==, SFB_AUTH_MODE_AUTO);
}

static void
test_config_not_a_dict (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = sfb_config_new_for_path (f->path);
  g_autoptr (GVariant) settings = g_variant_ref_sink (g_variant_new_string ("Uri"));
  g_autoptr (GError) error = NULL;

  g_assert_false (sfb_config_apply (config, settings, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_INVALID_ARGS);
}

/* New directory 0700, file 0600, written by rename (no temporary left). */
static void
test_config_file_modes (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = sfb_config_new_for_path (f->path);
  g_autoptr (GDir) dir = NULL;
  GStatBuf st;

  g_assert_true (apply1 (config, "Account.Uri", g_variant_new_string ("a@b.test"), NULL));
  g_assert_cmpint (g_stat (f->dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* an existing file with looser permissions is tightened */
  g_assert_cmpint (g_chmod (f->path, 0644), ==, 0);
  g_assert_true (apply1 (config, "Account.Auth", g_variant_new_string ("ntlm"), NULL));
  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  dir = g_dir_open (f->dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (dir), ==, SFB_CONFIG_FILE_NAME);
  g_assert_null (g_dir_read_name (dir));
}

/* Comments, unknown keys and groups, and trailing comments survive. */
static void
test_config_preserves (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = NULL;
  g_autofree char *contents = NULL;

  write_config (f,
                "# sfbd settings, by hand\n"
                "[Account]\n"
                "# who I am\n"
                "Uri=sip:alice@contoso.test\n"
                "Server=   # host[:port]: skips discovery when set\n"
                "FutureKey=42\n"
                "\n"
                "[Extra]\n"
                "Thing=1\n");
  config = sfb_config_new_for_path (f->path);
  g_assert_no_error ((GError *) sfb_config_get_load_error (config));
  g_assert_true (
      apply1 (config, "Account.Server", g_variant_new_string ("pool.contoso.test"), NULL));
  g_assert_cmpstr (sfb_config_get_server (config), ==, "pool.contoso.test");

  contents = read_config (f);
  g_assert_nonnull (strstr (contents, "# sfbd settings, by hand\n"));
  g_assert_nonnull (strstr (contents, "# who I am\nUri=sip:alice@contoso.test\n"));
  g_assert_nonnull (strstr (contents, "Server=pool.contoso.test  # host[:port]: skips discovery"));
  g_assert_nonnull (strstr (contents, "FutureKey=42\n"));
  g_assert_nonnull (strstr (contents, "[Extra]\nThing=1\n"));
}

/* Changes made by hand after loading are kept by the next Configure(). */
static void
test_config_rereads_file (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = NULL;
  g_autofree char *contents = NULL;

  write_config (f, "[Account]\nUri=sip:alice@contoso.test\n");
  config = sfb_config_new_for_path (f->path);
  write_config (f, "[Account]\nUri=sip:alice@contoso.test\n# added later\nAuth=kerberos\n");
  g_assert_true (apply1 (config, "Account.AutoSignIn", g_variant_new_boolean (FALSE), NULL));
  contents = read_config (f);
  g_assert_nonnull (strstr (contents, "# added later\nAuth=kerberos\n"));
  g_assert_cmpint (sfb_config_get_auth (config), ==, SFB_AUTH_MODE_KERBEROS);
  g_assert_false (sfb_config_get_auto_sign_in (config));
}

static void
test_config_empty_removes (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = NULL;
  g_autoptr (GVariant) settings = NULL;
  g_autofree char *contents = NULL;

  write_config (f, "[Account]\nUri=sip:alice@contoso.test\nAutoSignIn=false\nAuth=ntlm\n");
  config = sfb_config_new_for_path (f->path);
  settings = g_variant_parse (G_VARIANT_TYPE_VARDICT,
                              "{'Uri': <''>, 'AutoSignIn': <'  '>, 'Server': <''>}",
                              NULL,
                              NULL,
                              NULL);
  g_assert_true (sfb_config_apply (config, settings, NULL));
  g_assert_null (sfb_config_get_uri (config));
  g_assert_null (sfb_config_get_login (config));
  g_assert_true (sfb_config_get_auto_sign_in (config));
  g_assert_cmpint (sfb_config_get_auth (config), ==, SFB_AUTH_MODE_NTLM);
  contents = read_config (f);
  g_assert_null (strstr (contents, "Uri"));
  g_assert_null (strstr (contents, "AutoSignIn"));
  g_assert_nonnull (strstr (contents, "Auth=ntlm"));
}

static void
count_changed (SfbConfig *config, guint *count)
{
  (*count)++;
}

static void
test_config_changed_signal (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = sfb_config_new_for_path (f->path);
  guint count = 0;

  g_signal_connect (config, "changed", G_CALLBACK (count_changed), &count);
  g_assert_true (apply1 (config, "Account.Uri", g_variant_new_string ("a@b.test"), NULL));
  g_assert_cmpuint (count, ==, 1);
  g_assert_false (apply1 (config, "Account.Uri", g_variant_new_string ("nope"), NULL));
  g_assert_cmpuint (count, ==, 1);
}

/* Fixing the bad key through Configure() clears the load error. */
static void
test_config_fix_bad_value (Fixture *f, gconstpointer data)
{
  g_autoptr (SfbConfig) config = NULL;

  write_config (f, "[Account]\nUri=nope\n");
  config = sfb_config_new_for_path (f->path);
  g_assert_nonnull (sfb_config_get_load_error (config));
  g_assert_true (apply1 (config, "Account.Uri", g_variant_new_string ("a@b.test"), NULL));
  g_assert_null (sfb_config_get_load_error (config));
  g_assert_cmpstr (sfb_config_get_uri (config), ==, "sip:a@b.test");
}

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  int status;

  sfb_test_isolate ();
  g_test_init (&argc, &argv, NULL);

  ADD ("/config/defaults", test_config_defaults);
  g_test_add_func ("/config/default-paths", test_config_default_paths);
  ADD ("/config/load", test_config_load);
  ADD ("/config/documented-example", test_config_documented_example);
  ADD ("/config/login-default", test_config_login_default);
  ADD ("/config/bad-value", test_config_bad_value);
  ADD ("/config/bad-syntax", test_config_bad_syntax);
  ADD ("/config/validation", test_config_validation);
  ADD ("/config/ca-file", test_config_ca_file);
  ADD ("/config/key-names", test_config_key_names);
  ADD ("/config/all-or-nothing", test_config_all_or_nothing);
  ADD ("/config/not-a-dict", test_config_not_a_dict);
  ADD ("/config/file-modes", test_config_file_modes);
  ADD ("/config/preserves", test_config_preserves);
  ADD ("/config/rereads-file", test_config_rereads_file);
  ADD ("/config/empty-removes", test_config_empty_removes);
  ADD ("/config/changed-signal", test_config_changed_signal);
  ADD ("/config/fix-bad-value", test_config_fix_bad_value);
  status = g_test_run ();
  sfb_test_cleanup ();
  return status;
}
