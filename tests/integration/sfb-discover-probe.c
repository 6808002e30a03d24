/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfb-discover-probe [--ca-file FILE] URI: runs sfbd's server discovery
 * (daemon/net) once and prints, one per line:
 *
 *   candidate HOST PORT SOURCE LOCATION|-
 *   detail TEXT
 *   error DBUS-ERROR-NAME MESSAGE
 *
 * Exit status 0 with candidates, 1 on a discovery error, 2 on bad usage.
 * Used by test_discovery.py inside build-aux/testnet against sfbsim.
 */
#include "sfb-discovery.h"
#include "sfb-error.h"
#include "sfb-tls.h"

#include <stdio.h>

typedef struct
{
  GMainLoop *loop;
  int status;
  SfbDiscovery *discovery;
} Probe;

static void
done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Probe *probe = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) candidates = NULL;
  g_auto (GStrv) details = NULL;

  candidates = sfb_discovery_run_finish (SFB_DISCOVERY (source), result, &error);
  for (guint i = 0; candidates != NULL && i < candidates->len; i++)
    {
      const SfbServerCandidate *c = candidates->pdata[i];

      g_print ("candidate %s %u %s %s\n",
               c->host,
               c->port,
               sfb_server_source_to_string (c->source),
               c->access_location != NULL ? c->access_location : "-");
    }
  details = sfb_discovery_get_details (probe->discovery);
  for (guint i = 0; details[i] != NULL; i++)
    g_print ("detail %s\n", details[i]);
  if (error != NULL)
    {
      g_print ("error %s %s\n", sfb_error_get_dbus_name (error), error->message);
      probe->status = 1;
    }
  g_main_loop_quit (probe->loop);
}

int
main (int argc, char **argv)
{
  g_autofree char *ca_file = NULL;
  GOptionEntry entries[] = {
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file, "Extra trust anchors (PEM)", "FILE" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("URI");
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (SfbDiscovery) discovery = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  Probe probe = { 0 };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      g_printerr ("usage: sfb-discover-probe [--ca-file FILE] URI\n");
      return 2;
    }
  database = sfb_tls_database_new (ca_file, &error);
  if (database == NULL)
    {
      g_print ("error %s %s\n", sfb_error_get_dbus_name (error), error->message);
      return 1;
    }

  loop = g_main_loop_new (NULL, FALSE);
  discovery = sfb_discovery_new (NULL, database);
  probe.loop = loop;
  probe.discovery = discovery;
  sfb_discovery_run_async (discovery, argv[1], NULL, done_cb, &probe);
  g_main_loop_run (loop);
  return probe.status;
}
