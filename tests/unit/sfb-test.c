/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-test.h"

#include <glib/gstdio.h>
#include <sfbd/sfb-names.h>

char *sfb_test_root;

void
sfb_test_rm_rf (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        sfb_test_rm_rf (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* Everything under one temporary directory: the real home is never used.
 * (G_TEST_OPTION_ISOLATE_DIRS would do, but GLib leaks there, which fails
 * the sanitizer build.) */
void
sfb_test_isolate (void)
{
  const char *const vars[][2] = {
    { "XDG_CONFIG_HOME", "xdg-config" },
    { "XDG_STATE_HOME", "xdg-state" },
    { SFB_ENV_CONFIG_DIR, "sfbd-config" },
    { SFB_ENV_STATE_DIR, "sfbd-state" },
    /* never a PipeWire of the host: the daemon lists no devices */
    { "PIPEWIRE_RUNTIME_DIR", "no-pipewire" },
  };

  sfb_test_root = g_dir_make_tmp ("sfbd-test-XXXXXX", NULL);
  g_assert_nonnull (sfb_test_root);
  for (gsize i = 0; i < G_N_ELEMENTS (vars); i++)
    {
      g_autofree char *dir = g_build_filename (sfb_test_root, vars[i][1], NULL);

      g_setenv (vars[i][0], dir, TRUE);
    }
  g_unsetenv ("PIPEWIRE_REMOTE");
}

/* A fresh directory for one test. */
char *
sfb_test_make_dir (void)
{
  char *dir = g_build_filename (sfb_test_root, "test-XXXXXX", NULL);

  g_assert_nonnull (g_mkdtemp (dir));
  return dir;
}

void
sfb_test_cleanup (void)
{
  sfb_test_rm_rf (sfb_test_root);
  g_clear_pointer (&sfb_test_root, g_free);
}

static GDBusConnection *
connect_to (const char *address)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *connection;

  connection = g_dbus_connection_new_for_address_sync (
      address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL,
      NULL,
      &error);
  g_assert_no_error (error);
  return connection;
}

/* The bus and its connections, without the daemon: a test subscribes to
 * the daemon's signals before sfb_test_bus_export_daemon(). */
void
sfb_test_bus_up (SfbTestBus *tb)
{
  tb->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (tb->bus);
  tb->server = connect_to (g_test_dbus_get_bus_address (tb->bus));
  tb->client = connect_to (g_test_dbus_get_bus_address (tb->bus));
}

/* A daemon reading @config_path (which may not exist) and keeping its
 * secrets in @state_dir, exported on the server connection. */
void
sfb_test_bus_export_daemon (SfbTestBus *tb, const char *config_path, const char *state_dir)
{
  g_autoptr (SfbConfig) config = sfb_config_new_for_path (config_path);
  g_autoptr (SfbSecretStore) store = sfb_secret_store_new (state_dir);
  g_autoptr (GError) error = NULL;

  tb->daemon = g_object_new (SFB_TYPE_DAEMON, "config", config, "secret-store", store, NULL);
  tb->service = sfb_dbus_service_new (tb->daemon);
  g_assert_true (sfb_dbus_service_export (tb->service, tb->server, &error));
  g_assert_no_error (error);
}

/* The test's own signal subscriptions must be gone before this. */
void
sfb_test_bus_down (SfbTestBus *tb)
{
  sfb_dbus_service_unexport (tb->service);
  g_clear_object (&tb->service);
  g_clear_object (&tb->daemon);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  /* the last connection reference must go before the bus, or down() waits */
  g_dbus_connection_close_sync (tb->client, NULL, NULL);
  g_dbus_connection_close_sync (tb->server, NULL, NULL);
  g_clear_object (&tb->client);
  g_clear_object (&tb->server);
  g_test_dbus_down (tb->bus);
  g_clear_object (&tb->bus);
}
