/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: sfbd.conf through the public loader API
 * (daemon/core/sfb-config.h).  The input is the whole file.  Whatever is
 * loaded must be consistent (a URI is sip:user@domain, the server host is
 * set exactly when Server is, every enum in range); then Configure() of one
 * key, when it succeeds, must leave that key as set and every other valid
 * key as it was.
 */
#include "fuzz-util.h"
#include "sfb-config.h"

#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *path;

static const char *const keys[] = {
  "Account.Uri",
  "Account.Login",
  "Account.Server",
  "Account.Auth",
  "Account.AutoSignIn",
  "TLS.CAFile",
  "Secrets.Store",
  "Devices.AudioOutput",
  "Devices.AudioInput",
  "Devices.VideoInput",
  "Presence.InactiveAfter",
  "Presence.AwayAfter",
  "Notifications.ReconnectingAfter",
};

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  sfb_fuzz_quiet_logs ();
  path = g_build_filename (sfb_fuzz_scratch_dir ("config"), "sfbd.conf", NULL);
  return 0;
}

static void
check_config (SfbConfig *config)
{
  const char *uri = sfb_config_get_uri (config);
  const char *server = sfb_config_get_server (config);
  const GError *error = sfb_config_get_load_error (config);

  if (uri != NULL && (!g_str_has_prefix (uri, "sip:") || strchr (uri, '@') == NULL))
    abort ();
  if (uri != NULL && sfb_config_get_login (config) == NULL)
    abort ();
  if ((server != NULL) != (sfb_config_get_server_host (config) != NULL))
    abort ();
  if (sfb_auth_mode_to_string (sfb_config_get_auth (config)) == NULL
      || sfb_secrets_store_to_string (sfb_config_get_secrets_store (config)) == NULL)
    abort ();
  if (error != NULL && (error->message == NULL || *error->message == '\0'))
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (SfbConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) change = NULL;
  char *before[G_N_ELEMENTS (keys)];
  GVariantDict dict;
  gboolean applied;

  if (!g_file_set_contents (path, (const char *) data, (gssize) size, NULL))
    abort ();
  config = sfb_config_new_for_path (path);
  check_config (config);
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    before[i] = g_strdup (sfb_config_get_value (config, keys[i]));

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "Devices.AudioOutput", "s", "fuzz-sink");
  change = g_variant_ref_sink (g_variant_dict_end (&dict));
  applied = sfb_config_apply (config, change, &error);
  if (applied == (error != NULL))
    abort ();
  if (applied)
    {
      /* what was written, read again: the key as set, every other as it was */
      check_config (config);
      if (g_strcmp0 (sfb_config_get_value (config, "Devices.AudioOutput"), "fuzz-sink") != 0)
        abort ();
      for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
        if (!g_str_equal (keys[i], "Devices.AudioOutput")
            && g_strcmp0 (before[i], sfb_config_get_value (config, keys[i])) != 0)
          abort ();
    }
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    g_free (before[i]);
  return 0;
}
