/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-core"

#include "config.h"

#include "sfb-deadline.h"

/* the deadlines set (a handful: a walk costs less than a heap) and their
 * source, attached while any is set */
static GPtrArray *armed;
static GSource *source;

static SfbDeadline *
earliest (void)
{
  SfbDeadline *first = NULL;

  for (guint i = 0; armed != NULL && i < armed->len; i++)
    {
      SfbDeadline *d = g_ptr_array_index (armed, i);

      if (first == NULL || d->at < first->at)
        first = d;
    }
  return first;
}

static gboolean
deadlines_dispatch (GSource *self, GSourceFunc callback, gpointer user_data)
{
  gint64 now = g_source_get_time (self);
  SfbDeadline *due;

  /* one at a time, earliest first: a function may set or clear others */
  while ((due = earliest ()) != NULL && due->at <= now)
    {
      SfbDeadlineFunc func = due->func;
      gpointer data = due->user_data;

      sfb_deadline_clear (due);
      func (data);
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs deadlines_funcs = {
  .dispatch = deadlines_dispatch,
};

static void
update_source (void)
{
  SfbDeadline *first = earliest ();

  if (first == NULL)
    {
      /* none set: nothing for the main loop to look at */
      if (source != NULL)
        {
          g_source_destroy (source);
          g_clear_pointer (&source, g_source_unref);
        }
      return;
    }
  if (source == NULL)
    {
      source = g_source_new (&deadlines_funcs, sizeof (GSource));
      g_source_set_static_name (source, "sfb-deadlines");
      g_source_set_ready_time (source, first->at);
      g_source_attach (source, NULL);
    }
  else if (g_source_get_ready_time (source) != first->at)
    g_source_set_ready_time (source, first->at);
}

static void
set_at (SfbDeadline *deadline, gint64 at, SfbDeadlineFunc func, gpointer user_data)
{
  g_return_if_fail (deadline != NULL && func != NULL);

  if (armed == NULL)
    armed = g_ptr_array_new ();
  if (deadline->at == 0)
    g_ptr_array_add (armed, deadline);
  deadline->at = MAX (at, 1);
  deadline->func = func;
  deadline->user_data = user_data;
  update_source ();
}

void
sfb_deadline_set_ms (SfbDeadline *deadline, guint ms, SfbDeadlineFunc func, gpointer user_data)
{
  set_at (deadline, g_get_monotonic_time () + (gint64) ms * 1000, func, user_data);
}

void
sfb_deadline_set_seconds (SfbDeadline *deadline,
                          guint seconds,
                          SfbDeadlineFunc func,
                          gpointer user_data)
{
  gint64 at = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;

  set_at (deadline, (at + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC * G_USEC_PER_SEC, func, user_data);
}

void
sfb_deadline_clear (SfbDeadline *deadline)
{
  g_return_if_fail (deadline != NULL);

  if (deadline->at == 0)
    return;
  deadline->at = 0;
  g_ptr_array_remove_fast (armed, deadline);
  update_source ();
}
