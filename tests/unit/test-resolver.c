/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The default resolver (sfb-resolver.h): on GLib 2.74 a lookup asked with a
 * cancelled cancellable is answered "cancelled" by sfbd's own task, never
 * by GLib's threaded lookup; any other lookup is GLib's. */
#include "config.h"

#include "sfb-resolver.h"

typedef struct
{
  GAsyncResult *result;
} Answer;

static void
answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Answer *answer = user_data;

  answer->result = g_object_ref (result);
}

static GAsyncResult *
wait_answer (Answer *answer)
{
  while (answer->result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return answer->result;
}

static void
test_cancelled_lookup_answered_without_glib (void)
{
  g_autoptr (GResolver) resolver = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  Answer answer = { NULL };
  GList *addresses;

  if (glib_check_version (2, 76, 0) == NULL)
    {
      g_test_skip ("GLib 2.76 or later: GLib's resolver is kept");
      return;
    }
  sfb_resolver_install_default ();
  resolver = g_resolver_get_default ();
  g_assert_cmpstr (G_OBJECT_TYPE_NAME (resolver), ==, "SfbResolver");

  g_cancellable_cancel (cancellable);
  g_resolver_lookup_by_name_with_flags_async (resolver,
                                              "sfbd-resolver-test.invalid",
                                              G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY,
                                              cancellable,
                                              answered,
                                              &answer);
  result = wait_answer (&answer);
  g_assert_cmpstr (g_task_get_name (G_TASK (result)), ==, "[sfbd] cancelled lookup");
  addresses = g_resolver_lookup_by_name_with_flags_finish (resolver, result, &error);
  g_assert_null (addresses);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_other_lookups_are_glibs (void)
{
  g_autoptr (GResolver) resolver = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autofree char *name = NULL;
  Answer answer = { NULL };

  sfb_resolver_install_default ();
  resolver = g_resolver_get_default ();
  g_resolver_lookup_by_address_async (resolver, loopback, NULL, answered, &answer);
  result = wait_answer (&answer);
  g_assert_cmpstr (g_task_get_name (G_TASK (result)), !=, "[sfbd] cancelled lookup");
  name = g_resolver_lookup_by_address_finish (resolver, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (name);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/resolver/cancelled-lookup-answered-without-glib",
                   test_cancelled_lookup_answered_without_glib);
  g_test_add_func ("/resolver/other-lookups-are-glibs", test_other_lookups_are_glibs);
  return g_test_run ();
}
