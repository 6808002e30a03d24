/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The contacts' presence changes as a client on the bus sees them: batched
 * into PresencesChanged (dbus/org.sfbd.Sfbd1.Presence.xml).  No test here
 * depends on how long a batch lasts: changes made within one turn of the
 * main loop cannot be split (the batch is only sent from the main loop),
 * and every wait is for a signal, with a deadline that only bounds a
 * failure. */
#include "config.h"

#include "sfb-daemon.h"
#include "sfb-dbus-service.h"
#include "sfb-presence.h"

#include "sfb-test.h"
#include <sfbd/sfb-names.h>

#define WAIT_S 10

typedef struct
{
  SfbTestBus tb;
  char *root;
  GPtrArray *batches; /* the a{sa{sv}} of each PresencesChanged, in order */
  GPtrArray *singles; /* the (sa{sv}) of each PresenceChanged, in order */
  guint batches_id;
  guint singles_id;
} Fixture;

static void
on_signal (GDBusConnection *connection,
           const char *sender,
           const char *path,
           const char *interface,
           const char *signal,
           GVariant *parameters,
           gpointer user_data)
{
  GPtrArray *seen = user_data;

  if (g_str_equal (signal, "PresencesChanged"))
    g_ptr_array_add (seen, g_variant_get_child_value (parameters, 0));
  else
    g_ptr_array_add (seen, g_variant_ref (parameters));
}

static guint
subscribe (Fixture *f, const char *signal, GPtrArray *seen)
{
  return g_dbus_connection_signal_subscribe (f->tb.client,
                                             NULL,
                                             SFB_DBUS_PRESENCE_INTERFACE,
                                             signal,
                                             SFB_DBUS_PATH,
                                             NULL,
                                             G_DBUS_SIGNAL_FLAGS_NONE,
                                             on_signal,
                                             seen,
                                             NULL);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree char *config_path = NULL;
  g_autofree char *state_dir = NULL;

  f->root = sfb_test_make_dir ();
  config_path = g_build_filename (f->root, "config", "sfbd", SFB_CONFIG_FILE_NAME, NULL);
  state_dir = g_build_filename (f->root, "state", "sfbd", NULL);
  sfb_test_bus_up (&f->tb);
  f->batches = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  f->singles = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  f->batches_id = subscribe (f, "PresencesChanged", f->batches);
  f->singles_id = subscribe (f, "PresenceChanged", f->singles);

  sfb_test_bus_export_daemon (&f->tb, config_path, state_dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_dbus_connection_signal_unsubscribe (f->tb.client, f->batches_id);
  g_dbus_connection_signal_unsubscribe (f->tb.client, f->singles_id);
  sfb_test_bus_down (&f->tb);
  g_ptr_array_unref (f->batches);
  g_ptr_array_unref (f->singles);
  sfb_test_rm_rf (f->root);
  g_free (f->root);
}

/* What SfbPresence reports for a contact's new presence. */
static void
change (Fixture *f, const char *uri, const char *availability)
{
  g_auto (GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr (GVariant) value = NULL;

  g_variant_builder_add (&builder, "{sv}", "Availability", g_variant_new_string (availability));
  value = g_variant_ref_sink (g_variant_builder_end (&builder));
  g_signal_emit_by_name (sfb_daemon_get_presence (f->tb.daemon), "presence-changed", uri, value);
}

static gboolean
on_deadline (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until the client has seen @count PresencesChanged. */
static void
wait_for_batches (Fixture *f, guint count)
{
  gboolean expired = FALSE;
  guint deadline = g_timeout_add_seconds (WAIT_S, on_deadline, &expired);

  while (f->batches->len < count && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (deadline);
  g_assert_cmpuint (f->batches->len, ==, count);
}

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* The contacts of a PresencesChanged, "uri=availability" sorted, joined. */
static char *
batch_text (GVariant *batch)
{
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func (g_free);
  GVariantIter iter;
  const char *uri;
  g_autoptr (GVariant) presence = NULL;

  g_variant_iter_init (&iter, batch);
  while (g_variant_iter_next (&iter, "{&s@a{sv}}", &uri, &presence))
    {
      const char *availability = "?";

      g_variant_lookup (presence, "Availability", "&s", &availability);
      g_ptr_array_add (entries, g_strdup_printf ("%s=%s", uri, availability));
      g_clear_pointer (&presence, g_variant_unref);
    }
  g_ptr_array_sort (entries, compare_entries);
  g_ptr_array_add (entries, NULL);
  return g_strjoinv (" ", (char **) entries->pdata);
}

static void
assert_batch (Fixture *f, guint index, const char *expected)
{
  g_autofree char *text = NULL;

  g_assert_cmpuint (index, <, f->batches->len);
  text = batch_text (g_ptr_array_index (f->batches, index));
  g_assert_cmpstr (text, ==, expected);
}

/* Changes within one turn: one PresencesChanged with all of them, a
 * contact once with its latest presence, and no PresenceChanged. */
static void
test_one_turn (Fixture *f, gconstpointer data)
{
  change (f, "sip:bob@contoso.test", "away");
  change (f, "sip:carol@contoso.test", "busy");
  change (f, "sip:dave@contoso.test", "available");
  change (f, "sip:bob@contoso.test", "available");
  wait_for_batches (f, 1);
  assert_batch (
      f,
      0,
      "sip:bob@contoso.test=available sip:carol@contoso.test=busy sip:dave@contoso.test=available");
  g_assert_cmpuint (f->singles->len, ==, 0);
}

/* A lone change is sent, in both signals. */
static void
test_lone_change (Fixture *f, gconstpointer data)
{
  g_autoptr (GVariant) presence = NULL;
  const char *uri = NULL;
  const char *availability = NULL;

  change (f, "sip:bob@contoso.test", "busy");
  wait_for_batches (f, 1);
  assert_batch (f, 0, "sip:bob@contoso.test=busy");
  /* PresenceChanged is sent first: it has come once PresencesChanged has */
  g_assert_cmpuint (f->singles->len, ==, 1);
  g_variant_get (g_ptr_array_index (f->singles, 0), "(&s@a{sv})", &uri, &presence);
  g_assert_cmpstr (uri, ==, "sip:bob@contoso.test");
  g_assert_true (g_variant_lookup (presence, "Availability", "&s", &availability));
  g_assert_cmpstr (availability, ==, "busy");
}

/* Batch after batch: each change in exactly one, none left behind, and
 * nothing sent between batches (no empty PresencesChanged) or after the
 * last: the second batch's changes are only made once the first has come,
 * so every signal before it was counted. */
static void
test_batch_after_batch (Fixture *f, gconstpointer data)
{
  change (f, "sip:bob@contoso.test", "away");
  change (f, "sip:carol@contoso.test", "busy");
  wait_for_batches (f, 1);
  assert_batch (f, 0, "sip:bob@contoso.test=away sip:carol@contoso.test=busy");

  change (f, "sip:carol@contoso.test", "available");
  change (f, "sip:dave@contoso.test", "do-not-disturb");
  wait_for_batches (f, 2);
  assert_batch (f, 1, "sip:carol@contoso.test=available sip:dave@contoso.test=do-not-disturb");

  change (f, "sip:erin@contoso.test", "offline");
  wait_for_batches (f, 3);
  assert_batch (f, 2, "sip:erin@contoso.test=offline");
  g_assert_cmpuint (f->singles->len, ==, 1);
}

/* Nothing changed, nothing sent: a batch's own changes are all it sends,
 * and a signal from before it (one of an empty batch) would be counted. */
static void
test_nothing_changed (Fixture *f, gconstpointer data)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (f->batches->len, ==, 0);
  change (f, "sip:bob@contoso.test", "away");
  wait_for_batches (f, 1);
  assert_batch (f, 0, "sip:bob@contoso.test=away");
  g_assert_cmpuint (f->singles->len, ==, 1);
}

/* A batch of 1,000 contacts, then another of one: the table the first
 * filled is emptied (and shrunk) as it is sent, and serves the next */
static void
test_large_then_small (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *uri = g_strdup_printf ("sip:bench%04u@contoso.test", i);

      change (f, uri, "away");
    }
  wait_for_batches (f, 1);
  g_assert_cmpuint (g_variant_n_children (g_ptr_array_index (f->batches, 0)), ==, 1000);
  change (f, "sip:bench0500@contoso.test", "busy");
  wait_for_batches (f, 2);
  assert_batch (f, 1, "sip:bench0500@contoso.test=busy");
}

static gboolean
on_late_turn (gpointer user_data)
{
  Fixture *f = user_data;

  change (f, "sip:carol@contoso.test", "busy"); /* sends the batch */
  change (f, "sip:dave@contoso.test", "away");  /* the next one's first */
  return G_SOURCE_REMOVE;
}

/* A change that comes in a turn BATCH_MAX_MS (slept out here, so that no
 * timing decides it) or more after the batch's first sends the batch at
 * once, with it, from that turn: a storm's batches leave from the wake-ups
 * that read it.  The turn is a source that comes before the batch's own
 * (only the highest priority ready is dispatched in a turn), so the batch
 * could only have been sent by the change; what follows it in the same
 * turn is the next batch's. */
static void
test_late_change_sends_batch (Fixture *f, gconstpointer data)
{
  change (f, "sip:bob@contoso.test", "away");
  g_usleep (100 * G_TIME_SPAN_MILLISECOND);
  g_idle_add_full (G_PRIORITY_HIGH, on_late_turn, f, NULL);
  wait_for_batches (f, 2);
  assert_batch (f, 0, "sip:bob@contoso.test=away sip:carol@contoso.test=busy");
  assert_batch (f, 1, "sip:dave@contoso.test=away");
}

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  int status;

  sfb_test_isolate ();
  g_test_init (&argc, &argv, NULL);

  ADD ("/presence-batch/large-then-small", test_large_then_small);
  ADD ("/presence-batch/one-turn", test_one_turn);
  ADD ("/presence-batch/lone-change", test_lone_change);
  ADD ("/presence-batch/batch-after-batch", test_batch_after_batch);
  ADD ("/presence-batch/nothing-changed", test_nothing_changed);
  ADD ("/presence-batch/late-change-sends-batch", test_late_change_sends_batch);
  status = g_test_run ();
  sfb_test_cleanup ();
  return status;
}
