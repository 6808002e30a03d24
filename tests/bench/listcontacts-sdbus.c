/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A lean ListContacts client for tests/bench/bench_contacts.py: sd-bus
 * (libsystemd), which reads a reply's values straight from the message
 * instead of building a tree of them first.
 *
 *   listcontacts-sdbus ADDRESS
 *
 * Connects to the bus at ADDRESS, then makes the calls stdin asks for
 * (listcontacts-driver.h), each followed by a walk of the whole reply
 * (every contact's keys and values, the Groups strings included) and
 * freeing it.  Exits 1 on any D-Bus error or a reply that is not aa{sv}
 * with nine keys each. */

#include "listcontacts-driver.h"

#include <errno.h>
#include <string.h>
#include <systemd/sd-bus.h>

/* One value of a contact's a{sv}: a string or an array of strings (the
 * contract's types); -1 on anything else. */
static int
walk_value (sd_bus_message *m, long *values)
{
  const char *contents = NULL;
  const char *s;
  char type;
  int r;

  r = sd_bus_message_peek_type (m, &type, &contents);
  if (r <= 0 || type != SD_BUS_TYPE_VARIANT)
    return -1;
  if (sd_bus_message_enter_container (m, SD_BUS_TYPE_VARIANT, contents) <= 0)
    return -1;
  if (strcmp (contents, "s") == 0)
    {
      if (sd_bus_message_read_basic (m, SD_BUS_TYPE_STRING, &s) <= 0)
        return -1;
      (*values)++;
    }
  else if (strcmp (contents, "as") == 0)
    {
      if (sd_bus_message_enter_container (m, SD_BUS_TYPE_ARRAY, "s") <= 0)
        return -1;
      while ((r = sd_bus_message_read_basic (m, SD_BUS_TYPE_STRING, &s)) > 0)
        (*values)++;
      if (r < 0 || sd_bus_message_exit_container (m) < 0)
        return -1;
    }
  else
    return -1;
  return sd_bus_message_exit_container (m) < 0 ? -1 : 0;
}

/* Every contact, every key and value; the number of contacts or -1. */
static long
walk_reply (sd_bus_message *m, long *values)
{
  long contacts = 0;
  int r;

  if (sd_bus_message_enter_container (m, SD_BUS_TYPE_ARRAY, "a{sv}") <= 0)
    return -1;
  while ((r = sd_bus_message_enter_container (m, SD_BUS_TYPE_ARRAY, "{sv}")) > 0)
    {
      int keys = 0;

      while ((r = sd_bus_message_enter_container (m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0)
        {
          const char *key;

          if (sd_bus_message_read_basic (m, SD_BUS_TYPE_STRING, &key) <= 0
              || walk_value (m, values) < 0 || sd_bus_message_exit_container (m) < 0)
            return -1;
          keys++;
        }
      if (r < 0 || keys != KEYS_PER_CONTACT || sd_bus_message_exit_container (m) < 0)
        return -1;
      contacts++;
    }
  if (r < 0 || sd_bus_message_exit_container (m) < 0)
    return -1;
  return contacts;
}

static int
one_call (void *bus)
{
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message *reply = NULL;
  BenchCall call = bench_call_start ();
  long values = 0, contacts;
  int r;

  r = sd_bus_call_method (bus,
                          "org.sfbd.Sfbd",
                          "/org/sfbd/Sfbd",
                          "org.sfbd.Sfbd1.Contacts",
                          "ListContacts",
                          &error,
                          &reply,
                          NULL);
  if (r < 0)
    {
      fprintf (stderr, "ListContacts: %s\n", error.message != NULL ? error.message : strerror (-r));
      sd_bus_error_free (&error);
      return -1;
    }
  contacts = walk_reply (reply, &values);
  sd_bus_message_unref (reply);
  if (contacts < 0)
    {
      fprintf (
          stderr, "ListContacts: the reply is not aa{sv} with %d keys each\n", KEYS_PER_CONTACT);
      return -1;
    }
  bench_call_done (call, contacts, values);
  return 0;
}

int
main (int argc, char **argv)
{
  sd_bus *bus = NULL;
  int r, status;

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s ADDRESS\n", argv[0]);
      return 2;
    }
  if ((r = sd_bus_new (&bus)) < 0 || (r = sd_bus_set_address (bus, argv[1])) < 0
      || (r = sd_bus_set_bus_client (bus, 1)) < 0 || (r = sd_bus_start (bus)) < 0)
    {
      fprintf (stderr, "%s: %s\n", argv[1], strerror (-r));
      return 1;
    }
  status = bench_serve_stdin (one_call, bus);
  sd_bus_flush_close_unref (bus);
  return status;
}
