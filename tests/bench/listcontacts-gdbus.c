/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A C GDBus ListContacts client for tests/bench/bench_contacts.py:
 * g_dbus_connection_call_sync (GDBus parses the reply into a GVariant tree
 * in its worker thread, as for any GDBus client).
 *
 *   listcontacts-gdbus ADDRESS
 *
 * Each call is followed by a walk of the whole reply (every contact's keys
 * and values, the Groups strings included) and freeing it; stdin and
 * stdout as listcontacts-driver.h says. */

#include "listcontacts-driver.h"

#include <gio/gio.h>

/* One value: a string or an array of strings; FALSE on anything else. */
static gboolean
walk_value (GVariant *value, glong *values)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      (void) g_variant_get_string (value, NULL);
      (*values)++;
      return TRUE;
    }
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    {
      GVariantIter iter;
      const char *s;

      g_variant_iter_init (&iter, value);
      while (g_variant_iter_next (&iter, "&s", &s))
        (*values)++;
      return TRUE;
    }
  return FALSE;
}

/* Every contact, every key and value; the number of contacts or -1. */
static glong
walk_reply (GVariant *reply, glong *values)
{
  g_autoptr (GVariant) list = g_variant_get_child_value (reply, 0);
  GVariantIter contacts;
  GVariant *contact;
  glong n = 0;

  g_variant_iter_init (&contacts, list);
  while ((contact = g_variant_iter_next_value (&contacts)) != NULL)
    {
      GVariantIter entries;
      const char *key;
      GVariant *value;
      int keys = 0;

      g_variant_iter_init (&entries, contact);
      while (g_variant_iter_next (&entries, "{&sv}", &key, &value))
        {
          gboolean ok = walk_value (value, values);

          g_variant_unref (value);
          if (!ok)
            {
              g_variant_unref (contact);
              return -1;
            }
          keys++;
        }
      g_variant_unref (contact);
      if (keys != KEYS_PER_CONTACT)
        return -1;
      n++;
    }
  return n;
}

static int
one_call (void *bus)
{
  g_autoptr (GError) error = NULL;
  BenchCall call = bench_call_start ();
  GVariant *reply;
  glong values = 0, contacts;

  reply = g_dbus_connection_call_sync (bus,
                                       "org.sfbd.Sfbd",
                                       "/org/sfbd/Sfbd",
                                       "org.sfbd.Sfbd1.Contacts",
                                       "ListContacts",
                                       NULL,
                                       G_VARIANT_TYPE ("(aa{sv})"),
                                       G_DBUS_CALL_FLAGS_NONE,
                                       30000,
                                       NULL,
                                       &error);
  if (reply == NULL)
    {
      g_printerr ("ListContacts: %s\n", error->message);
      return -1;
    }
  contacts = walk_reply (reply, &values);
  g_variant_unref (reply);
  if (contacts < 0)
    {
      g_printerr ("ListContacts: the reply is not aa{sv} with %d keys each\n", KEYS_PER_CONTACT);
      return -1;
    }
  bench_call_done (call, contacts, values);
  return 0;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;

  if (argc != 2)
    {
      g_printerr ("usage: %s ADDRESS\n", argv[0]);
      return 2;
    }
  bus = g_dbus_connection_new_for_address_sync (
      argv[1],
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL,
      NULL,
      &error);
  if (bus == NULL)
    {
      g_printerr ("%s: %s\n", argv[1], error->message);
      return 1;
    }
  return bench_serve_stdin (one_call, bus);
}
