/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Roaming contacts (daemon/services/sfb-contact-list.c): the documents
 * sfbsim and real servers send (contactList, contactDelta, ucsmode). */
#include "sfb-contact-list.h"

#include "sfb-error.h"

#include <malloc.h>
#include <string.h>

/* As a server writes it: default namespace, uris without "sip:", group
 * lists ending with a space. */
static const char full_list[]
    = "<contactList xmlns=\"http://schemas.microsoft.com/sip/types\" deltaNum=\"7\">"
      "<group id=\"1\" name=\"~\" externalURI=\"\"/>"
      "<group id=\"2\" name=\"Team\" externalURI=\"\"/>"
      "<group id=\"3\" name=\"Management &amp; Co\" externalURI=\"\"/>"
      "<contact uri=\"bob@contoso.test\" name=\"Bob Baker\" groups=\"2 \" subscribed=\"true\" "
      "externalURI=\"\"/>"
      "<contact uri=\"Dave@Contoso.test\" name=\"\" groups=\"2 3 \" subscribed=\"true\"/>"
      "<contact uri=\"grace@fabrikam.test\" name=\"Grace\" groups=\"\" subscribed=\"false\"/>"
      "<contact uri=\"not-an-address\" name=\"x\" groups=\"1 \"/>"
      "</contactList>";

static SfbContactList *
load (const char *doc)
{
  g_autoptr (GError) error = NULL;
  SfbContactList *list = sfb_contact_list_new ();
  gboolean changed = FALSE;

  g_assert_true (sfb_contact_list_update (list, doc, strlen (doc), &changed, &error));
  g_assert_no_error (error);
  g_assert_true (changed);
  return list;
}

static guint
group_at (const SfbContactEntry *e, guint i)
{
  return e->groups[i];
}

static void
test_full_list (void)
{
  g_autoptr (SfbContactList) list = load (full_list);
  const SfbContactEntry *bob, *dave, *grace;

  g_assert_cmpuint (list->revision, ==, 7);
  g_assert_null (list->ucs_mode);
  g_assert_false (sfb_contact_list_is_ucs_migrated (list));
  g_assert_cmpuint (list->groups->len, ==, 3);
  g_assert_cmpstr (sfb_contact_list_lookup_group (list, 1)->name, ==, SFB_CONTACTS_DEFAULT_GROUP);
  g_assert_cmpstr (sfb_contact_list_lookup_group (list, 3)->name, ==, "Management & Co");

  /* the invalid address is dropped, the others keep document order */
  g_assert_cmpuint (list->contacts->len, ==, 3);
  bob = list->contacts->pdata[0];
  g_assert_cmpstr (bob->uri, ==, "sip:bob@contoso.test");
  g_assert_cmpstr (bob->name, ==, "Bob Baker");
  g_assert_cmpuint (bob->n_groups, ==, 1);
  g_assert_cmpuint (group_at (bob, 0), ==, 2);
  g_assert_true (bob->subscribed);

  dave = sfb_contact_list_lookup (list, "SIP:dave@contoso.TEST");
  g_assert_nonnull (dave);
  g_assert_cmpstr (dave->uri, ==, "sip:dave@contoso.test");
  g_assert_cmpuint (dave->n_groups, ==, 2);
  g_assert_cmpuint (group_at (dave, 1), ==, 3);

  grace = sfb_contact_list_lookup (list, "grace@fabrikam.test");
  g_assert_nonnull (grace);
  g_assert_cmpuint (grace->n_groups, ==, 0);
  g_assert_false (grace->subscribed);
}

static void
test_delta (void)
{
  g_autoptr (SfbContactList) list = load (full_list);
  g_autoptr (GError) error = NULL;
  gboolean changed = FALSE;
  const char *delta
      = "<contactDelta xmlns=\"http://schemas.microsoft.com/sip/types\" deltaNum=\"8\" "
        "prevDeltaNum=\"7\">"
        "<addedGroup id=\"4\" name=\"Partners\"/>"
        "<modifiedGroup id=\"2\" name=\"Core team\"/>"
        "<addedContact uri=\"sip:erin@contoso.test\" name=\"Erin\" groups=\"4 \"/>"
        "<modifiedContact uri=\"sip:bob@contoso.test\" name=\"Bobby\" groups=\"1 2 \"/>"
        "<deletedGroup id=\"3\"/>"
        "<deletedContact uri=\"sip:grace@fabrikam.test\"/>"
        "</contactDelta>";
  const SfbContactEntry *bob;

  g_assert_true (sfb_contact_list_update (list, delta, strlen (delta), &changed, &error));
  g_assert_no_error (error);
  g_assert_true (changed);
  g_assert_cmpuint (list->revision, ==, 8);
  g_assert_cmpuint (list->groups->len, ==, 3);
  g_assert_null (sfb_contact_list_lookup_group (list, 3));
  g_assert_cmpstr (sfb_contact_list_lookup_group (list, 2)->name, ==, "Core team");
  g_assert_cmpstr (sfb_contact_list_lookup_group (list, 4)->name, ==, "Partners");
  g_assert_null (sfb_contact_list_lookup (list, "sip:grace@fabrikam.test"));
  g_assert_nonnull (sfb_contact_list_lookup (list, "sip:erin@contoso.test"));
  bob = sfb_contact_list_lookup (list, "sip:bob@contoso.test");
  g_assert_cmpstr (bob->name, ==, "Bobby");
  g_assert_cmpuint (bob->n_groups, ==, 2);
  g_assert_cmpuint (list->contacts->len, ==, 3);

  /* The same full list again changes nothing a user sees. */
  {
    g_autoptr (SfbContactList) again = load (full_list);

    g_assert_true (sfb_contact_list_update (again, full_list, strlen (full_list), &changed, NULL));
    g_assert_false (changed);
  }
}

static void
test_ucs_migrated (void)
{
  const char *doc = "<contactList xmlns=\"http://schemas.microsoft.com/sip/types\" "
                    "deltaNum=\"3\" ucsmode=\"migrated\"><group id=\"1\" name=\"~\"/>"
                    "</contactList>";
  g_autoptr (SfbContactList) list = load (doc);

  g_assert_true (sfb_contact_list_is_ucs_migrated (list));
  g_assert_cmpstr (list->ucs_mode, ==, "migrated");
  g_assert_cmpuint (list->revision, ==, 3);
  g_assert_cmpuint (list->contacts->len, ==, 0);
}

static void
test_bad_documents (void)
{
  static const char *const docs[] = {
    "",
    "<contactList",
    "<contactList deltaNum=\"x\"/>",
    "<other deltaNum=\"1\"/>",
    "<!DOCTYPE x [<!ENTITY a \"b\">]><contactList deltaNum=\"1\"/>",
    "<contactDelta prevDeltaNum=\"1\"/>",
  };
  g_autoptr (SfbContactList) list = load (full_list);

  for (gsize i = 0; i < G_N_ELEMENTS (docs); i++)
    {
      g_autoptr (GError) error = NULL;
      gboolean changed = TRUE;

      g_assert_false (sfb_contact_list_update (list, docs[i], strlen (docs[i]), &changed, &error));
      g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
      g_assert_false (changed);
      /* the list is untouched */
      g_assert_cmpuint (list->revision, ==, 7);
      g_assert_cmpuint (list->contacts->len, ==, 3);
    }
}

static void
test_deep_document (void)
{
  GString *doc = g_string_new ("<contactList deltaNum=\"1\">");
  g_autoptr (SfbContactList) list = sfb_contact_list_new ();
  g_autoptr (GError) error = NULL;

  for (int i = 0; i < 100; i++)
    g_string_append (doc, "<a>");
  for (int i = 0; i < 100; i++)
    g_string_append (doc, "</a>");
  g_string_append (doc, "</contactList>");
  g_assert_false (sfb_contact_list_update (list, doc->str, doc->len, NULL, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_string_free (doc, TRUE);
}

static void
test_too_many_contacts (void)
{
  GString *doc = g_string_new ("<contactList deltaNum=\"1\">");
  g_autoptr (SfbContactList) list = sfb_contact_list_new ();
  g_autoptr (GError) error = NULL;

  for (int i = 0; i <= SFB_CONTACTS_MAX_CONTACTS; i++)
    g_string_append_printf (doc, "<contact uri=\"u%d@x.test\" groups=\"1\"/>", i);
  g_string_append (doc, "</contactList>");
  g_assert_false (sfb_contact_list_update (list, doc->str, doc->len, NULL, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
  g_assert_cmpuint (list->contacts->len, ==, 0);
  g_string_free (doc, TRUE);
}

static void
test_relationship (void)
{
  static const struct
  {
    const char *uri;
    const char *own;
    const char *expected;
  } cases[] = {
    { "sip:bob@contoso.test", "contoso.test", "same-enterprise" },
    { "sip:bob@CONTOSO.test", "contoso.TEST", "same-enterprise" },
    { "sip:grace@fabrikam.test", "contoso.test", "federated" },
    { "sip:x@eu.contoso.test", "contoso.test", "federated" },
    { "sip:x@contoso.test.evil", "contoso.test", "federated" },
    { "sip:nodomain", "contoso.test", "federated" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpstr (
        sfb_relationship_to_string (sfb_relationship_for_uri (cases[i].uri, cases[i].own)),
        ==,
        cases[i].expected);
}

static void
test_normalize_uri (void)
{
  g_autofree char *a = sfb_contact_normalize_uri ("Bob@Contoso.Test");
  g_autofree char *b = sfb_contact_normalize_uri ("sip:bob@contoso.test");

  g_assert_cmpstr (a, ==, "sip:bob@contoso.test");
  g_assert_cmpstr (b, ==, "sip:bob@contoso.test");
  g_assert_null (sfb_contact_normalize_uri ("bob"));
  g_assert_null (sfb_contact_normalize_uri ("@contoso.test"));
  g_assert_null (sfb_contact_normalize_uri ("bob@"));
  g_assert_null (sfb_contact_normalize_uri ("b ob@contoso.test"));
  g_assert_null (sfb_contact_normalize_uri ("<sip:bob@contoso.test>"));
  g_assert_null (sfb_contact_normalize_uri ("tel:+1234@x"));
  g_assert_null (sfb_contact_normalize_uri ("bob@carol@contoso.test"));
  g_assert_null (sfb_contact_normalize_uri ("bob@contoso.test\x7f"));
  g_assert_null (sfb_contact_normalize_uri ("b\xc3\xa9"
                                            "b@contoso.test"));
  for (const char *c = "<>\";:,/?\\"; *c != '\0'; c++)
    {
      g_autofree char *bad = g_strdup_printf ("b%cb@contoso.test", *c);

      g_assert_null (sfb_contact_normalize_uri (bad));
    }
  {
    g_autofree char *c = sfb_contact_normalize_uri ("SIP:Carol.O'Neil+x@Contoso.Test");
    g_autofree char *user = g_strnfill (500, 'A');
    g_autofree char *longest = g_strconcat ("sip:", user, "@contoso.te", NULL); /* 511 */
    g_autofree char *too_long = g_strconcat (user, "@contoso.tes", NULL);       /* 512 */
    g_autofree char *over = g_strconcat (user, "@contoso.test", NULL);          /* 513 */
    g_autofree char *n1 = sfb_contact_normalize_uri (longest);
    g_autofree char *n2 = sfb_contact_normalize_uri (too_long);

    g_assert_cmpstr (c, ==, "sip:carol.o'neil+x@contoso.test");
    g_assert_nonnull (n1);
    g_assert_cmpuint (strlen (n1), ==, 4 + 511);
    g_assert_nonnull (n2);
    g_assert_cmpuint (strlen (n2), ==, 4 + 512);
    g_assert_true (g_str_has_prefix (n2, "sip:aaaa"));
    g_assert_null (sfb_contact_normalize_uri (over));
  }
}

/* The documents sfbsim writes (tests/data/presence, from its documents.py) */
static void
test_sfbsim_documents (void)
{
  g_autoptr (SfbContactList) list = sfb_contact_list_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *data = NULL;
  gsize length = 0;
  gboolean changed = FALSE;

  path = g_build_filename (g_getenv ("SFB_TEST_DATA"), "presence", "contact-list.xml", NULL);
  g_assert_true (g_file_get_contents (path, &data, &length, NULL));
  g_assert_true (sfb_contact_list_update (list, data, length, &changed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (list->revision, ==, 5);
  g_assert_cmpuint (list->groups->len, ==, 4);
  g_assert_cmpuint (list->contacts->len, ==, 3);
  g_assert_cmpstr (
      ((SfbContactEntry *) list->contacts->pdata[2])->uri, ==, "sip:grace@fabrikam.test");
  g_assert_cmpstr (
      ((SfbContactEntry *) list->contacts->pdata[2])->name, ==, "Grace Green (Fabrikam)");

  g_clear_pointer (&path, g_free);
  g_clear_pointer (&data, g_free);
  path = g_build_filename (g_getenv ("SFB_TEST_DATA"), "presence", "contact-delta.xml", NULL);
  g_assert_true (g_file_get_contents (path, &data, &length, NULL));
  g_assert_true (sfb_contact_list_update (list, data, length, &changed, &error));
  g_assert_no_error (error);
  g_assert_true (changed);
  g_assert_cmpuint (list->revision, ==, 6);
  g_assert_null (sfb_contact_list_lookup (list, "sip:bob@contoso.test"));
  g_assert_cmpuint (sfb_contact_list_lookup (list, "sip:zoe@contoso.test")->n_groups, ==, 1);

  g_clear_pointer (&path, g_free);
  g_clear_pointer (&data, g_free);
  path = g_build_filename (g_getenv ("SFB_TEST_DATA"), "presence", "contact-list-ucs.xml", NULL);
  g_assert_true (g_file_get_contents (path, &data, &length, NULL));
  g_assert_true (sfb_contact_list_update (list, data, length, &changed, &error));
  g_assert_true (sfb_contact_list_is_ucs_migrated (list));
  g_assert_cmpuint (list->contacts->len, ==, 0);
  g_assert_cmpuint (list->groups->len, ==, 4);
}

/* A damaged or hand-made cache file gets the rules of a server document:
 * duplicates dropped, group 0 refused, no control characters in names. */
static void
test_cache_form (void)
{
  g_autoptr (GVariant) data = g_variant_ref_sink (g_variant_new_parsed (
      "(uint32 7, 'migr\tated', [(uint32 0, 'zero'), (2, 'Team\x01'), (2, 'again')],"
      " [('sip:Bob@Contoso.test', 'Bob\nNewline', [uint32 2, 2, 0, 3], true),"
      "  ('bob@contoso.test', 'Bob again', @au [], false),"
      "  ('not an address', 'x', @au [], false)])"));
  g_autoptr (SfbContactList) list = sfb_contact_list_from_variant (data);
  g_autoptr (GVariant) saved = NULL;
  g_autoptr (SfbContactList) again = NULL;
  g_autoptr (GVariant) saved_again = NULL;
  const SfbContactEntry *bob;

  g_assert_cmpuint (list->revision, ==, 7);
  g_assert_cmpstr (list->ucs_mode, ==, "migr ated");
  g_assert_cmpuint (list->groups->len, ==, 1);
  g_assert_cmpstr (sfb_contact_list_lookup_group (list, 2)->name, ==, "Team ");
  g_assert_cmpuint (list->contacts->len, ==, 1);
  bob = list->contacts->pdata[0];
  g_assert_cmpstr (bob->uri, ==, "sip:bob@contoso.test");
  g_assert_cmpstr (bob->name, ==, "Bob Newline");
  g_assert_true (bob->subscribed);
  g_assert_cmpuint (bob->n_groups, ==, 2);
  g_assert_cmpuint (bob->groups[0], ==, 2);
  g_assert_cmpuint (bob->groups[1], ==, 3);

  /* what is written back reads the same */
  saved = g_variant_ref_sink (sfb_contact_list_to_variant (list));
  again = sfb_contact_list_from_variant (saved);
  saved_again = g_variant_ref_sink (sfb_contact_list_to_variant (again));
  g_assert_true (g_variant_equal (saved, saved_again));
}

/* An entry is one block: the ids and strings copied into it, the ids
 * aligned, a later change to the caller's data not seen */
static void
test_entry_one_block (void)
{
  guint ids[] = { 7, 3, 12 };
  char uri[] = "sip:bob@contoso.test";
  g_autofree SfbContactEntry *e = sfb_contact_entry_new (uri, "Bob", ids, 3, TRUE);
  g_autofree SfbContactEntry *none = sfb_contact_entry_new (uri, "", NULL, 0, FALSE);

  ids[0] = 99;
  uri[4] = 'x';
  g_assert_cmpstr (e->uri, ==, "sip:bob@contoso.test");
  g_assert_cmpstr (e->name, ==, "Bob");
  g_assert_cmpuint (e->n_groups, ==, 3);
  g_assert_cmpuint (e->groups[0], ==, 7);
  g_assert_cmpuint (e->groups[1], ==, 3);
  g_assert_cmpuint (e->groups[2], ==, 12);
  g_assert_cmpuint ((guintptr) e->groups % G_ALIGNOF (guint), ==, 0);
  g_assert_true (e->subscribed);
  g_assert_cmpstr (none->uri, ==, "sip:bob@contoso.test");
  g_assert_cmpstr (none->name, ==, "");
  g_assert_cmpuint (none->n_groups, ==, 0);
  g_assert_false (none->subscribed);
}

/* 1,000 contacts are 1,000 entries: the ids right after a head of two
 * pointers and two bytes, then the strings; a typical contact in an 80-byte
 * chunk (a head of 32 bytes made it 96) */
static void
test_entry_small (void)
{
  guint ids[] = { 2 };
  g_autofree SfbContactEntry *e
      = sfb_contact_entry_new ("sip:bench0001@contoso.test", "Bench Contact 0001", ids, 1, TRUE);

  g_assert_true ((const char *) e->groups == (const char *) e + 2 * sizeof (char *) + 4);
  g_assert_true (e->uri == (const char *) (e->groups + 1));
  g_assert_true (e->name == e->uri + strlen (e->uri) + 1);
  g_assert_cmpuint (malloc_usable_size (e), <=, 72);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/contacts/entry-one-block", test_entry_one_block);
  g_test_add_func ("/contacts/entry-small", test_entry_small);
  g_test_add_func ("/contacts/full-list", test_full_list);
  g_test_add_func ("/contacts/delta", test_delta);
  g_test_add_func ("/contacts/ucs-migrated", test_ucs_migrated);
  g_test_add_func ("/contacts/bad-documents", test_bad_documents);
  g_test_add_func ("/contacts/deep-document", test_deep_document);
  g_test_add_func ("/contacts/too-many", test_too_many_contacts);
  g_test_add_func ("/contacts/sfbsim-documents", test_sfbsim_documents);
  g_test_add_func ("/contacts/relationship", test_relationship);
  g_test_add_func ("/contacts/normalize-uri", test_normalize_uri);
  g_test_add_func ("/contacts/cache-form", test_cache_form);
  return g_test_run ();
}
