/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What is known of the contacts' presence (sfb-presence-known.h): the
 * values merged, and the layout that keeps 1,000 contacts small. */
#include "config.h"

#include "sfb-presence-known.h"

#include <string.h>

#define BOB "sip:bob@contoso.test"

static SfbPresenceInfo
card (const char *name, const char *email)
{
  SfbPresenceInfo update = { .uri = (char *) BOB, .has_card = TRUE };

  update.display_name = (char *) name;
  update.email = (char *) email;
  update.title = (char *) "Tester";
  return update;
}

/* The block's strings: the uri, then the first display name */
static gboolean
in_uri_block (const SfbPresenceInfo *info, const char *field)
{
  return field > info->uri && field <= info->uri + strlen (info->uri) + 1;
}

static void
test_first_card_in_block (void)
{
  g_autoptr (GHashTable) known = sfb_presence_known_new ();
  SfbPresenceInfo update = card ("Bob Brown", "bob@contoso.test");
  const SfbPresenceInfo *info;
  guint64 version = 0;

  sfb_presence_known_merge (known, &update, &version);
  info = sfb_presence_known_lookup (known, BOB);
  g_assert_nonnull (info);
  g_assert_cmpstr (info->uri, ==, BOB);
  g_assert_cmpstr (info->display_name, ==, "Bob Brown");
  g_assert_cmpstr (info->email, ==, "bob@contoso.test");
  g_assert_cmpstr (info->title, ==, "Tester");
  /* the uri right after the info, the name after the uri, the e-mail in the uri */
  g_assert_true (info->uri == (const char *) (info + 1));
  g_assert_true (info->display_name == info->uri + strlen (BOB) + 1);
  g_assert_true (info->email == info->uri + 4);
  g_assert_cmpuint (version, ==, 1);
}

static void
test_card_changes (void)
{
  g_autoptr (GHashTable) known = sfb_presence_known_new ();
  SfbPresenceInfo first = card ("Bob Brown", "bob@contoso.test");
  SfbPresenceInfo renamed = card ("Robert Brown", "robert.brown@contoso.test");
  SfbPresenceInfo back = card ("Bob Brown", "bob@contoso.test");
  SfbPresenceInfo other_case = card ("Bob Brown", "Bob@Contoso.test");
  const SfbPresenceInfo *info;
  guint64 version = 0;

  sfb_presence_known_merge (known, &first, &version);
  /* a card alone is no presence change, but a change */
  g_assert_null (sfb_presence_known_merge (known, &renamed, &version));
  g_assert_cmpuint (version, ==, 2);
  info = sfb_presence_known_lookup (known, BOB);
  g_assert_cmpstr (info->display_name, ==, "Robert Brown");
  g_assert_cmpstr (info->email, ==, "robert.brown@contoso.test");
  g_assert_false (in_uri_block (info, info->display_name));
  g_assert_false (in_uri_block (info, info->email));
  g_assert_cmpuint (info->version, ==, 2);

  sfb_presence_known_merge (known, &back, &version);
  g_assert_cmpstr (info->display_name, ==, "Bob Brown");
  g_assert_false (in_uri_block (info, info->display_name));
  g_assert_true (info->email == info->uri + 4);

  /* only the same bytes are the uri's */
  sfb_presence_known_merge (known, &other_case, &version);
  g_assert_cmpstr (info->email, ==, "Bob@Contoso.test");
  g_assert_false (in_uri_block (info, info->email));

  /* the same card again: nothing changed */
  g_assert_null (sfb_presence_known_merge (known, &other_case, &version));
  g_assert_cmpuint (version, ==, 4);
}

static void
test_presence_changes (void)
{
  g_autoptr (GHashTable) known = sfb_presence_known_new ();
  SfbPresenceInfo busy
      = { .uri = (char *) BOB, .availability = 6500, .activity = (char *) "on-the-phone" };
  SfbPresenceInfo note = { .uri = (char *) BOB, .note = (char *) "Back at 3" };
  SfbPresenceInfo *entry;
  guint64 version = 10;

  entry = sfb_presence_known_merge (known, &busy, &version);
  g_assert_nonnull (entry);
  g_assert_null (entry->display_name);
  g_assert_null (entry->email);
  g_assert_cmpuint (entry->availability, ==, 6500);
  g_assert_cmpstr (entry->activity, ==, "on-the-phone");
  g_assert_null (sfb_presence_known_merge (known, &busy, &version));
  g_assert_true (sfb_presence_known_merge (known, &note, &version) == entry);
  g_assert_cmpstr (entry->note, ==, "Back at 3");
  g_assert_cmpuint (entry->availability, ==, 6500);
  g_assert_cmpuint (version, ==, 12);
  g_assert_cmpuint (entry->version, ==, 12);
}

/* Each entry's uri is its own key and value: no array of values beside
 * the keys' */
static void
test_table_is_a_set (void)
{
  g_autoptr (GHashTable) known = sfb_presence_known_new ();
  guint64 version = 0;

  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *uri = g_strdup_printf ("sip:bench%04u@contoso.test", i);
      SfbPresenceInfo update = { .uri = uri, .availability = 3500 };

      g_assert_nonnull (sfb_presence_known_merge (known, &update, &version));
    }
  g_assert_cmpuint (g_hash_table_size (known), ==, 1000);
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *uri = g_strdup_printf ("sip:bench%04u@contoso.test", i);
      const SfbPresenceInfo *info = sfb_presence_known_lookup (known, uri);
      gpointer key = NULL, value = NULL;

      g_assert_nonnull (info);
      g_assert_cmpstr (info->uri, ==, uri);
      g_assert_true (g_hash_table_lookup_extended (known, uri, &key, &value));
      g_assert_true (key == info->uri && value == info->uri);
    }
  g_assert_null (sfb_presence_known_lookup (known, "sip:nobody@contoso.test"));
  g_assert_null (sfb_presence_known_lookup (known, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/presence-known/first-card-in-block", test_first_card_in_block);
  g_test_add_func ("/presence-known/card-changes", test_card_changes);
  g_test_add_func ("/presence-known/presence-changes", test_presence_changes);
  g_test_add_func ("/presence-known/table-is-a-set", test_table_is_a_set);
  return g_test_run ();
}
