/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-net"

#include "sfb-resolver.h"

/* A subclass of GLib's resolver type (private to GLib: registered at run
 * time from its GTypeQuery); only the asynchronous lookups are overridden. */
static GResolverClass *glib_class;

/* TRUE when @cancellable is cancelled: @callback then gets the
 * cancellation through a task of @self, which GLib's _finish() functions
 * accept (they check the task's source object only). */
static gboolean
answered_cancelled (GResolver *self,
                    GCancellable *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  if (!g_cancellable_is_cancelled (cancellable))
    return FALSE;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, answered_cancelled);
  g_task_set_name (task, "[sfbd] cancelled lookup");
  g_task_return_error_if_cancelled (task);
  return TRUE;
}

static void
lookup_by_name_async (GResolver *self,
                      const char *hostname,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  if (!answered_cancelled (self, cancellable, callback, user_data))
    glib_class->lookup_by_name_async (self, hostname, cancellable, callback, user_data);
}

static void
lookup_by_name_with_flags_async (GResolver *self,
                                 const char *hostname,
                                 GResolverNameLookupFlags flags,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  if (!answered_cancelled (self, cancellable, callback, user_data))
    glib_class->lookup_by_name_with_flags_async (
        self, hostname, flags, cancellable, callback, user_data);
}

static void
lookup_by_address_async (GResolver *self,
                         GInetAddress *address,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  if (!answered_cancelled (self, cancellable, callback, user_data))
    glib_class->lookup_by_address_async (self, address, cancellable, callback, user_data);
}

static void
lookup_records_async (GResolver *self,
                      const char *rrname,
                      GResolverRecordType record_type,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  if (!answered_cancelled (self, cancellable, callback, user_data))
    glib_class->lookup_records_async (self, rrname, record_type, cancellable, callback, user_data);
}

static void
sfb_resolver_class_init (gpointer klass, gpointer class_data)
{
  GResolverClass *resolver_class = klass;

  glib_class = g_type_class_peek_parent (klass);
  resolver_class->lookup_by_name_async = lookup_by_name_async;
  resolver_class->lookup_by_name_with_flags_async = lookup_by_name_with_flags_async;
  resolver_class->lookup_by_address_async = lookup_by_address_async;
  resolver_class->lookup_records_async = lookup_records_async;
}

void
sfb_resolver_install_default (void)
{
  g_autoptr (GResolver) glib_resolver = g_resolver_get_default ();
  GType glib_type = G_OBJECT_TYPE (glib_resolver);
  g_autoptr (GResolver) resolver = NULL;
  GTypeQuery query;
  GType type;

  /* GLib 2.76 and later, or a resolver set by someone else: keep it */
  if (glib_check_version (2, 76, 0) == NULL
      || g_strcmp0 (g_type_name (glib_type), "GThreadedResolver") != 0)
    return;
  type = g_type_from_name ("SfbResolver");
  if (type == 0)
    {
      g_type_query (glib_type, &query);
      type = g_type_register_static_simple (glib_type,
                                            "SfbResolver",
                                            query.class_size,
                                            sfb_resolver_class_init,
                                            query.instance_size,
                                            NULL,
                                            0);
    }
  resolver = g_object_new (type, NULL);
  g_resolver_set_default (resolver);
}
