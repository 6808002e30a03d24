/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The floor under the presence storm (bench_contacts.py, run-bench
 * --contacts): the CPU time GLib's TLS stream alone takes to read the
 * records a server sends, read the way sfbd's SIP connection reads them (a
 * source on the socket, non-blocking reads until one would block), with
 * nothing done with the bytes.
 *
 *   tls-read-floor PORT CA_FILE
 *
 * connects to localhost:PORT, checks the server's certificate against
 * CA_FILE, sends "go", reads until a record ends with "E", sends "ok" and
 * prints one JSON line: the bytes read, the wake-ups (dispatches of the
 * socket's source) and the CPU time of all its threads from "go" to the
 * end (schedstat run time, as the benchmark measures sfbd).
 */
#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct
{
  GIOStream *stream;
  GMainLoop *loop;
  char buffer[16384]; /* sfbd's connection reads this much at a time */
  guint64 bytes;
  guint wakeups;
  gboolean ended;
} Reader;

/* Run time of every thread of this process, in ms. */
static double
cpu_ms (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  double total = 0;

  for (const char *tid; dir != NULL && (tid = g_dir_read_name (dir)) != NULL;)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/schedstat", tid);
      g_autofree char *text = NULL;

      if (g_file_get_contents (path, &text, NULL, NULL))
        total += g_ascii_strtod (text, NULL) / 1e6;
    }
  return total;
}

static gboolean
on_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Reader *r = user_data;
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (r->stream));
  gssize n;

  r->wakeups++;
  do
    {
      g_autoptr (GError) error = NULL;

      n = g_pollable_input_stream_read_nonblocking (in, r->buffer, sizeof r->buffer, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      if (n <= 0)
        {
          g_printerr ("tls-read-floor: %s\n", n < 0 ? error->message : "the server closed");
          g_main_loop_quit (r->loop);
          return G_SOURCE_REMOVE;
        }
      r->bytes += (guint64) n;
      if (r->buffer[n - 1] == 'E')
        {
          r->ended = TRUE;
          g_main_loop_quit (r->loop);
          return G_SOURCE_REMOVE;
        }
    }
  while ((gsize) n == sizeof r->buffer);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) tcp = NULL;
  g_autoptr (GTlsDatabase) anchors = NULL;
  g_autoptr (GSocketConnectable) identity = NULL;
  g_autoptr (GIOStream) tls = NULL;
  g_autoptr (GSource) source = NULL;
  GOutputStream *out;
  Reader r = { 0 };
  guint port;
  double before, after;

  if (argc != 3 || (port = (guint) strtoul (argv[1], NULL, 10)) == 0 || port > 65535)
    {
      g_printerr ("usage: tls-read-floor PORT CA_FILE\n");
      return 2;
    }
  anchors = g_tls_file_database_new (argv[2], &error);
  identity = g_network_address_new ("localhost", (guint16) port);
  if (anchors != NULL)
    tcp = g_socket_client_connect (client, identity, NULL, &error);
  if (tcp != NULL)
    tls = g_tls_client_connection_new (G_IO_STREAM (tcp), identity, &error);
  if (tls != NULL)
    {
      g_tls_connection_set_database (G_TLS_CONNECTION (tls), anchors);
      if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &error))
        g_clear_object (&tls);
    }
  if (tls == NULL)
    {
      g_printerr ("tls-read-floor: %s\n", error->message);
      return 1;
    }

  r.stream = tls;
  r.loop = g_main_loop_new (NULL, FALSE);
  source = g_socket_create_source (g_socket_connection_get_socket (tcp), G_IO_IN, NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (on_readable), &r, NULL);
  g_source_attach (source, NULL);
  out = g_io_stream_get_output_stream (tls);
  before = cpu_ms ();
  if (!g_output_stream_write_all (out, "go", 2, NULL, NULL, &error))
    {
      g_printerr ("tls-read-floor: %s\n", error->message);
      return 1;
    }
  g_main_loop_run (r.loop);
  after = cpu_ms ();
  g_main_loop_unref (r.loop);
  if (!r.ended)
    return 1;
  g_output_stream_write_all (out, "ok", 2, NULL, NULL, NULL);
  printf ("{\"bytes\": %" G_GUINT64_FORMAT ", \"wakeups\": %u, \"cpu_ms\": %.2f}\n",
          r.bytes,
          r.wakeups,
          after - before);
  return 0;
}
