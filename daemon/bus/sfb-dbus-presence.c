/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.Presence: own presence and the contacts' (SfbPresence) */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-adapters.h"

#include "sfb-memory.h"
#include "sfb-presence.h"

#include <sfbd/sfb-names.h>

/* SetAvailability and SetNote answer once the server accepted (or refused)
 * the publication.  A handler that returns HANDLED owns the invocation
 * (see GDBusInterfaceSkeleton): its reference is passed on to the
 * callback, whose reply consumes it; another reference would leak. */
static void
on_set_availability_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data; /* the reply takes this reference */
  GError *error = NULL;

  if (!sfb_presence_set_availability_finish (SFB_PRESENCE (source), result, &error))
    sfb_dbus_return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
handle_set_availability (SfbDBusPresence *skeleton,
                         GDBusMethodInvocation *invocation,
                         const char *availability,
                         SfbDaemon *daemon)
{
  if (!sfb_dbus_args_ok (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  sfb_presence_set_availability_async (
      sfb_daemon_get_presence (daemon), availability, NULL, on_set_availability_done, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_set_note_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data; /* the reply takes this reference */
  GError *error = NULL;

  if (!sfb_presence_set_note_finish (SFB_PRESENCE (source), result, &error))
    sfb_dbus_return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
handle_set_note (SfbDBusPresence *skeleton,
                 GDBusMethodInvocation *invocation,
                 const char *note,
                 SfbDaemon *daemon)
{
  if (!sfb_dbus_args_ok (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  sfb_presence_set_note_async (
      sfb_daemon_get_presence (daemon), note, NULL, on_set_note_done, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* The last known presence of those asked for that sfbd knows. */
static gboolean
handle_get_presence (SfbDBusPresence *skeleton,
                     GDBusMethodInvocation *invocation,
                     const char *const *uris,
                     SfbDaemon *daemon)
{
  SfbPresence *presence = sfb_daemon_get_presence (daemon);
  GVariantBuilder builder;

  if (!sfb_dbus_args_ok (invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sa{sv}}"));
  for (guint i = 0; uris[i] != NULL; i++)
    {
      g_autoptr (GVariant) value = sfb_presence_lookup (presence, uris[i]);

      if (value != NULL)
        g_variant_builder_add (&builder, "{s@a{sv}}", uris[i], value);
    }
  sfb_dbus_presence_complete_get_presence (skeleton, invocation, g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
update_properties (SfbDBusPresence *skeleton, SfbPresence *presence)
{
  sfb_dbus_presence_set_availability (skeleton, sfb_presence_get_availability (presence));
  sfb_dbus_presence_set_availability_code (skeleton, sfb_presence_get_availability_code (presence));
  sfb_dbus_presence_set_activity (skeleton, sfb_presence_get_activity (presence));
  sfb_dbus_presence_set_note (skeleton, sfb_presence_get_note (presence));
}

static void
on_state_changed (SfbDaemon *daemon, GParamSpec *pspec, SfbDBusPresence *skeleton)
{
  update_properties (skeleton, sfb_daemon_get_presence (daemon));
}

/* Contacts' presence changes are sent as one PresencesChanged per batch:
 * the first change starts a batch, and the changes that follow join it
 * (the last presence of each contact only) until BATCH_QUIET_MS pass
 * without one, or up to the first change BATCH_MAX_MS or more after the
 * batch's first: a multipart NOTIFY, or the NOTIFYs of a storm, which
 * servers send one contact at a time, become a few signals, and the first
 * change of a batch waits less than BATCH_MAX_MS + BATCH_QUIET_MS.  One
 * signal instead of one per contact is what keeps a storm cheap: each
 * D-Bus message is built, serialised and passed through GDBus's worker
 * thread.  The batch's timer is one source with a ready time, due only
 * while changes are pending and moved at most once per main loop
 * iteration (the changes of one wake-up share its time,
 * g_source_get_time()).  It is due BATCH_QUIET_MS after the last change
 * only: a batch that is BATCH_MAX_MS old is sent with the next change,
 * from the wake-up that read it, not from a wake-up of its own, so while
 * a storm goes on (a burst's reads come 20 ms apart at most, the SIP
 * connection's longest hold) the timer never fires (docs/benchmarks.md,
 * "Storm: paced bursts"). */
#define BATCH_QUIET_MS 25
#define BATCH_MAX_MS 100

typedef struct
{
  SfbDBusPresence *skeleton; /* not owned: owns us */
  GHashTable *pending;       /* uri -> GVariant a{sv} */
  GSource *flush_source;     /* ready when the batch is due; never while empty */
  gint64 first_change;       /* monotonic, µs */
} PresenceBatch;

/* Looked up once: the batch is found per contact of a storm */
static GQuark
presence_batch_quark (void)
{
  static GQuark quark;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("sfb-presence-batch");
  return quark;
}

static void
presence_batch_free (gpointer data)
{
  PresenceBatch *batch = data;

  g_source_destroy (batch->flush_source);
  g_source_unref (batch->flush_source);
  g_hash_table_unref (batch->pending);
  g_free (batch);
}

/* A signal of the interface, sent as the generated skeleton sends it (on
 * each of the skeleton's connections, at its object path) but without the
 * skeleton's GObject signal in between, whose generic marshaller (libffi,
 * GValues) cost ~13 thousand instructions per signal, 16 times this
 * (docs/benchmarks.md): no handler in sfbd listens to the skeleton's
 * signals, clients listen to the D-Bus ones. */
static void
emit_signal (SfbDBusPresence *skeleton, const char *name, GVariant *parameters)
{
  GDBusInterfaceSkeleton *iface = G_DBUS_INTERFACE_SKELETON (skeleton);
  g_autoptr (GVariant) sunk = g_variant_ref_sink (parameters);
  const char *path = g_dbus_interface_skeleton_get_object_path (iface);
  GList *connections = g_dbus_interface_skeleton_get_connections (iface);

  for (GList *l = connections; l != NULL; l = l->next)
    g_dbus_connection_emit_signal (
        l->data, NULL, path, SFB_DBUS_PRESENCE_INTERFACE, name, sunk, NULL);
  g_list_free_full (connections, g_object_unref);
}

static void
emit_presence_batch (PresenceBatch *batch)
{
  g_autoptr (GPtrArray) entries = NULL;
  GHashTableIter iter;
  gpointer uri;
  gpointer value;
  GVariant *presences;

  if (g_hash_table_size (batch->pending) == 1)
    {
      /* PresenceChanged, the first API's signal, for a batch of one */
      GVariant *args[2];

      g_hash_table_iter_init (&iter, batch->pending);
      g_hash_table_iter_next (&iter, &uri, &value);
      args[0] = g_variant_new_string (uri);
      args[1] = value;
      emit_signal (batch->skeleton, "PresenceChanged", g_variant_new_tuple (args, 2));
    }
  /* Each contact's entry is made directly, not through a format string
   * (parsing "{s@a{sv}}" per contact cost more than the entry); it takes
   * the table's key as its string and shares the value, so both are
   * stolen from the table as we go.  The batch stays a tree of references
   * (GDBus serialises a tree by walking it; a serialised value it would
   * take apart again, docs/benchmarks.md). */
  entries = g_ptr_array_sized_new (g_hash_table_size (batch->pending));
  g_hash_table_iter_init (&iter, batch->pending);
  while (g_hash_table_iter_next (&iter, &uri, &value))
    {
      g_hash_table_iter_steal (&iter);
      g_ptr_array_add (entries, g_variant_new_dict_entry (g_variant_new_take_string (uri), value));
      g_variant_unref (value); /* the entry holds its own reference */
    }
  /* stealing leaves the table its size (40 kB after 1,000 contacts): on
   * an empty table this shrinks it */
  g_hash_table_remove_all (batch->pending);
  presences = g_variant_new_array (
      G_VARIANT_TYPE ("{sa{sv}}"), (GVariant *const *) entries->pdata, entries->len);
  emit_signal (batch->skeleton, "PresencesChanged", g_variant_new_tuple (&presences, 1));
  sfb_memory_trim_soon ();
}

static gboolean
flush_presence_batch (gpointer user_data)
{
  PresenceBatch *batch = user_data;

  g_source_set_ready_time (batch->flush_source, -1);
  emit_presence_batch (batch);
  return G_SOURCE_CONTINUE;
}

/* The batch is sent BATCH_QUIET_MS after its last change, or with the
 * first change BATCH_MAX_MS after its first or later. */
static void
on_presence_changed (SfbPresence *presence,
                     const char *uri,
                     GVariant *value,
                     SfbDBusPresence *skeleton)
{
  PresenceBatch *batch = g_object_get_qdata (G_OBJECT (skeleton), presence_batch_quark ());
  gint64 now = g_source_get_time (batch->flush_source);

  if (g_hash_table_size (batch->pending) == 0)
    batch->first_change = now;
  g_hash_table_replace (batch->pending, g_strdup (uri), g_variant_ref (value));
  if (now >= batch->first_change + BATCH_MAX_MS * G_TIME_SPAN_MILLISECOND)
    {
      flush_presence_batch (batch);
      return;
    }
  g_source_set_ready_time (batch->flush_source, now + BATCH_QUIET_MS * G_TIME_SPAN_MILLISECOND);
}

/* A source that is due at its ready time only */
static gboolean
dispatch_at_ready_time (GSource *source, GSourceFunc callback, gpointer user_data)
{
  return callback (user_data);
}

static GSourceFuncs ready_time_source_funcs = { .dispatch = dispatch_at_ready_time };

static PresenceBatch *
presence_batch_new (SfbDBusPresence *skeleton)
{
  PresenceBatch *batch = g_new0 (PresenceBatch, 1);

  batch->skeleton = skeleton;
  batch->pending
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
  batch->flush_source = g_source_new (&ready_time_source_funcs, sizeof (GSource));
  g_source_set_static_name (batch->flush_source, "sfbd presence batch");
  g_source_set_callback (batch->flush_source, flush_presence_batch, batch, NULL);
  g_source_set_ready_time (batch->flush_source, -1);
  g_source_attach (batch->flush_source, g_main_context_get_thread_default ());
  return batch;
}

GDBusInterfaceSkeleton *
sfb_dbus_presence_adapter_new (SfbDaemon *daemon)
{
  SfbDBusPresence *skeleton = sfb_dbus_presence_skeleton_new ();
  SfbPresence *presence = sfb_daemon_get_presence (daemon);
  PresenceBatch *batch = presence_batch_new (skeleton);

  g_object_set_qdata_full (
      G_OBJECT (skeleton), presence_batch_quark (), batch, presence_batch_free);
  update_properties (skeleton, presence);
  /* Own presence follows the server's and the sign-in state. */
  g_signal_connect_object (
      presence, "changed", G_CALLBACK (update_properties), skeleton, G_CONNECT_SWAPPED);
  g_signal_connect_object (daemon, "notify::state", G_CALLBACK (on_state_changed), skeleton, 0);
  g_signal_connect_object (
      presence, "presence-changed", G_CALLBACK (on_presence_changed), skeleton, 0);
  g_signal_connect_object (
      skeleton, "handle-set-availability", G_CALLBACK (handle_set_availability), daemon, 0);
  g_signal_connect_object (skeleton, "handle-set-note", G_CALLBACK (handle_set_note), daemon, 0);
  g_signal_connect_object (
      skeleton, "handle-get-presence", G_CALLBACK (handle_get_presence), daemon, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
