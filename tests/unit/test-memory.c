/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The heap trim (sfb-memory.h): a small burst asking for it does not put
 * off a trim already pending.  No test here depends on how long the delay
 * is: each waits for the trim itself, with a deadline that only bounds a
 * failure. */
#include "config.h"

#include "sfb-memory.h"

#define WAIT_S (SFB_MEMORY_TRIM_DELAY_S * 3)

typedef struct
{
  gboolean trimmed;
  gboolean expired;
} Seen;

static GLogWriterOutput
on_log (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  Seen *seen = user_data;

  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0
        && g_str_equal (fields[i].value, "Heap trimmed"))
      seen->trimmed = TRUE;
  return G_LOG_WRITER_HANDLED;
}

static gboolean
on_deadline (gpointer user_data)
{
  Seen *seen = user_data;

  seen->expired = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
ask_eventually (gpointer user_data)
{
  sfb_memory_trim_eventually ();
  return G_SOURCE_CONTINUE;
}

/* Asked for again and again (every 100 ms, far more often than the delay),
 * the trim still comes once the first request is due: each later request
 * leaves it where it is.  Then, with none pending, a request schedules one. */
static void
test_eventually_does_not_postpone (void)
{
  Seen seen = { 0 };
  guint deadline = g_timeout_add_seconds (WAIT_S, on_deadline, &seen);
  guint asking = g_timeout_add (100, ask_eventually, NULL);

  g_log_set_writer_func (on_log, &seen, NULL);
  sfb_memory_trim_soon ();
  while (!seen.trimmed && !seen.expired)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (seen.trimmed);
  g_source_remove (asking);
  g_source_remove (deadline);

  seen.trimmed = FALSE;
  deadline = g_timeout_add_seconds (WAIT_S, on_deadline, &seen);
  sfb_memory_trim_eventually ();
  while (!seen.trimmed && !seen.expired)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (seen.trimmed);
  g_source_remove (deadline);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  g_test_add_func ("/memory/eventually-does-not-postpone", test_eventually_does_not_postpone);
  return g_test_run ();
}
