/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-core"

#include "sfb-stream.h"

#define READ_CHUNK 8192

typedef struct
{
  GByteArray *body;
  gsize max;
} Read;

static void
read_free (Read *read)
{
  g_byte_array_unref (read->body);
  g_free (read);
}

static void read_cb (GObject *source, GAsyncResult *result, gpointer user_data);

static void
read_next (GInputStream *stream, GTask *task)
{
  /* taken first: the task is stolen in the same call */
  GCancellable *cancellable = g_task_get_cancellable (task);

  g_input_stream_read_bytes_async (
      stream, READ_CHUNK, G_PRIORITY_DEFAULT, cancellable, read_cb, task);
}

static void
closed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Read *read = g_task_get_task_data (task);

  g_input_stream_close_finish (G_INPUT_STREAM (source), result, NULL);
  g_task_return_pointer (
      task, g_bytes_new (read->body->data, read->body->len), (GDestroyNotify) g_bytes_unref);
}

static void
read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Read *read = g_task_get_task_data (task);
  GInputStream *stream = G_INPUT_STREAM (source);
  GError *error = NULL;
  g_autoptr (GBytes) bytes = g_input_stream_read_bytes_finish (stream, result, &error);

  if (bytes == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_bytes_get_size (bytes) == 0)
    {
      g_input_stream_close_async (
          stream, G_PRIORITY_DEFAULT, NULL, closed_cb, g_steal_pointer (&task));
      return;
    }
  g_byte_array_append (read->body, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (read->body->len > read->max)
    {
      g_task_return_new_error (task,
                               G_IO_ERROR,
                               G_IO_ERROR_MESSAGE_TOO_LARGE,
                               "the answer is larger than %" G_GSIZE_FORMAT " bytes",
                               read->max);
      return;
    }
  read_next (stream, g_steal_pointer (&task));
}

void
sfb_stream_read_bounded_async (GInputStream *stream,
                               gsize max,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  GTask *task;
  Read *read;

  g_return_if_fail (G_IS_INPUT_STREAM (stream));

  task = g_task_new (stream, cancellable, callback, user_data);
  g_task_set_source_tag (task, sfb_stream_read_bounded_async);
  read = g_new0 (Read, 1);
  read->body = g_byte_array_new ();
  read->max = max;
  g_task_set_task_data (task, read, (GDestroyNotify) read_free);
  read_next (stream, task);
}

GBytes *
sfb_stream_read_bounded_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sfb_stream_read_bounded_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
