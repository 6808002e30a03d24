/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Deadlines sharing one main-loop source (sfb-deadline.h): they run once,
 * earliest first, not when cleared, and the main context holds one source
 * for all of them and none once they are done.  The waits are for the
 * deadlines themselves, with a guard timer that only bounds a failure. */
#include "config.h"

#include "sfb-deadline.h"

#define GUARD_S 10

typedef struct
{
  GString *order; /* the names of the deadlines run, in turn */
  guint runs;
  guint again; /* runs left for one that sets itself again */
  SfbDeadline *self;
  SfbDeadline *victim; /* cleared by the one that runs */
  gboolean expired;
} Seen;

typedef struct
{
  Seen *seen;
  const char *name;
} Named;

static void
on_named (gpointer user_data)
{
  Named *n = user_data;

  g_string_append (n->seen->order, n->name);
  n->seen->runs++;
}

static gboolean
on_guard (gpointer user_data)
{
  Seen *seen = user_data;

  seen->expired = TRUE;
  return G_SOURCE_REMOVE;
}

static void
run_until (Seen *seen, guint runs)
{
  guint guard = g_timeout_add_seconds (GUARD_S, on_guard, seen);

  while (seen->runs < runs && !seen->expired)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (seen->expired);
  g_source_remove (guard);
}

/* the sources attached to the default main context, a probe's id the
 * bound of the ids given so far */
static guint
count_sources (void)
{
  GSource *probe = g_idle_source_new ();
  guint last = g_source_attach (probe, NULL);
  guint n = 0;

  for (guint id = 1; id < last; id++)
    if (g_main_context_find_source_by_id (NULL, id) != NULL)
      n++;
  g_source_destroy (probe);
  g_source_unref (probe);
  return n;
}

static void
test_order (void)
{
  Seen seen = { .order = g_string_new (NULL) };
  Named a = { &seen, "a" }, b = { &seen, "b" }, c = { &seen, "c" };
  SfbDeadline da = { 0 }, db = { 0 }, dc = { 0 };
  guint before = count_sources ();

  sfb_deadline_set_ms (&dc, 60, on_named, &c);
  sfb_deadline_set_ms (&da, 20, on_named, &a);
  sfb_deadline_set_ms (&db, 40, on_named, &b);
  g_assert_true (sfb_deadline_is_set (&da));
  g_assert_cmpuint (count_sources (), ==, before + 1);
  run_until (&seen, 3);
  g_assert_cmpstr (seen.order->str, ==, "abc");
  g_assert_false (sfb_deadline_is_set (&da) || sfb_deadline_is_set (&db)
                  || sfb_deadline_is_set (&dc));
  g_assert_cmpuint (count_sources (), ==, before);
  g_string_free (seen.order, TRUE);
}

/* Cleared, a deadline never runs; moved, it runs at its new time. */
static void
test_clear_and_move (void)
{
  Seen seen = { .order = g_string_new (NULL) };
  Named a = { &seen, "a" }, b = { &seen, "b" }, c = { &seen, "c" };
  SfbDeadline da = { 0 }, db = { 0 }, dc = { 0 };

  sfb_deadline_set_ms (&da, 10, on_named, &a);
  sfb_deadline_set_ms (&db, 30, on_named, &b);
  sfb_deadline_set_ms (&dc, 20, on_named, &c);
  sfb_deadline_clear (&da);
  sfb_deadline_set_ms (&dc, 60, on_named, &c); /* now after b */
  run_until (&seen, 2);
  g_assert_cmpstr (seen.order->str, ==, "bc");
  g_assert_false (sfb_deadline_is_set (&da));
  sfb_deadline_clear (&da); /* clearing one not set: nothing */
  g_string_free (seen.order, TRUE);
}

static void
on_again (gpointer user_data)
{
  Seen *seen = user_data;

  seen->runs++;
  g_assert_false (sfb_deadline_is_set (seen->self));
  if (seen->victim != NULL)
    {
      sfb_deadline_clear (seen->victim);
      seen->victim = NULL;
    }
  if (--seen->again > 0)
    sfb_deadline_set_ms (seen->self, 5, on_again, seen);
}

static void
on_victim (gpointer user_data)
{
  g_assert_not_reached ();
}

/* A function may set its own deadline again and clear another one due in
 * the same turn. */
static void
test_from_function (void)
{
  SfbDeadline self = { 0 }, victim = { 0 };
  Seen seen = { .again = 3, .self = &self, .victim = &victim };

  /* both due at the loop's first look, self the earlier */
  sfb_deadline_set_ms (&self, 0, on_again, &seen);
  sfb_deadline_set_ms (&victim, 0, on_victim, NULL);
  run_until (&seen, 3);
  g_assert_false (sfb_deadline_is_set (&self) || sfb_deadline_is_set (&victim));
}

/* In seconds: on a whole second of the monotonic clock, no earlier than
 * asked, less than a second later. */
static void
test_seconds (void)
{
  SfbDeadline d = { 0 };
  gint64 before = g_get_monotonic_time ();
  gint64 after;

  sfb_deadline_set_seconds (&d, 2, on_victim, NULL);
  after = g_get_monotonic_time ();
  g_assert_cmpint (d.at % G_USEC_PER_SEC, ==, 0);
  g_assert_cmpint (d.at, >=, before + 2 * G_USEC_PER_SEC);
  g_assert_cmpint (d.at, <, after + 3 * G_USEC_PER_SEC);
  sfb_deadline_clear (&d);
  g_assert_false (sfb_deadline_is_set (&d));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/deadline/order", test_order);
  g_test_add_func ("/deadline/clear-and-move", test_clear_and_move);
  g_test_add_func ("/deadline/from-function", test_from_function);
  g_test_add_func ("/deadline/seconds", test_seconds);
  return g_test_run ();
}
