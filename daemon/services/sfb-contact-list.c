/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-contact-list.h"

#include "sfb-error.h"
#include "sfb-svc-xml.h"

#include <stddef.h>
#include <string.h>

const char *
sfb_relationship_to_string (SfbRelationship relationship)
{
  return relationship == SFB_RELATIONSHIP_FEDERATED ? "federated" : "same-enterprise";
}

const char *
sfb_contact_uri_domain (const char *uri)
{
  const char *at = uri != NULL ? strrchr (uri, '@') : NULL;

  return at != NULL ? at + 1 : "";
}

SfbRelationship
sfb_relationship_for_uri (const char *uri, const char *own_domain)
{
  const char *domain = sfb_contact_uri_domain (uri);

  if (own_domain != NULL && *domain != '\0' && g_ascii_strcasecmp (domain, own_domain) == 0)
    return SFB_RELATIONSHIP_SAME_ENTERPRISE;
  return SFB_RELATIONSHIP_FEDERATED;
}

static gboolean
uri_char_ok (guchar c)
{
  switch (c)
    {
    case '<':
    case '>':
    case '"':
    case ';':
    case ':':
    case ',':
    case '/':
    case '?':
    case '\\':
      return FALSE;
    default:
      return c > 0x20 && c < 0x7f;
    }
}

/* One pass and one allocation: called per contact of every presence
 * update (a storm's thousand). */
char *
sfb_contact_normalize_uri (const char *uri)
{
  const char *rest;
  const char *at = NULL;
  gsize len;
  char *norm;

  if (uri == NULL)
    return NULL;
  rest = g_ascii_strncasecmp (uri, "sip:", 4) == 0 ? uri + 4 : uri;
  for (len = 0; rest[len] != '\0'; len++)
    {
      if (len == 512 || !uri_char_ok ((guchar) rest[len]))
        return NULL;
      if (rest[len] == '@')
        {
          if (at != NULL)
            return NULL;
          at = rest + len;
        }
    }
  if (at == NULL || at == rest || at[1] == '\0')
    return NULL;
  norm = g_malloc (len + 5);
  memcpy (norm, "sip:", 4);
  for (gsize i = 0; i < len; i++)
    norm[4 + i] = g_ascii_tolower (rest[i]);
  norm[4 + len] = '\0';
  return norm;
}

static void
group_free (SfbContactGroup *group)
{
  g_free (group->name);
  g_free (group);
}

G_STATIC_ASSERT (SFB_CONTACTS_MAX_GROUPS_PER_CONTACT <= G_MAXUINT8);

SfbContactEntry *
sfb_contact_entry_new (
    const char *uri, const char *name, const guint *groups, guint n_groups, gboolean subscribed)
{
  gsize uri_size = strlen (uri) + 1;
  gsize name_size = strlen (name) + 1;
  gsize ids_size = (gsize) n_groups * sizeof (guint);
  SfbContactEntry *entry;
  guint *ids;
  char *p;

  g_return_val_if_fail (n_groups <= SFB_CONTACTS_MAX_GROUPS_PER_CONTACT, NULL);
  entry = g_malloc (offsetof (SfbContactEntry, groups) + ids_size + uri_size + name_size);
  ids = entry->groups;
  if (ids_size > 0)
    memcpy (ids, groups, ids_size);
  entry->n_groups = (guint8) n_groups;
  p = (char *) (ids + n_groups);
  memcpy (p, uri, uri_size);
  entry->uri = p;
  p += uri_size;
  memcpy (p, name, name_size);
  entry->name = p;
  entry->subscribed = subscribed != FALSE;
  return entry;
}

static void
entry_free (SfbContactEntry *entry)
{
  g_free (entry);
}

/* Adds @id to @ids (*@n of them) unless there or over the limit */
static void
add_group_id (guint *ids, guint *n, guint id)
{
  for (guint j = 0; j < *n; j++)
    if (ids[j] == id)
      return;
  if (*n < SFB_CONTACTS_MAX_GROUPS_PER_CONTACT)
    ids[(*n)++] = id;
}

SfbContactList *
sfb_contact_list_new (void)
{
  SfbContactList *list = g_new0 (SfbContactList, 1);

  list->groups = g_ptr_array_new_with_free_func ((GDestroyNotify) group_free);
  list->contacts = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  return list;
}

void
sfb_contact_list_free (SfbContactList *list)
{
  if (list == NULL)
    return;
  g_free (list->ucs_mode);
  g_ptr_array_unref (list->groups);
  g_ptr_array_unref (list->contacts);
  g_free (list);
}

gboolean
sfb_contact_list_is_ucs_migrated (const SfbContactList *list)
{
  return list->ucs_mode != NULL && g_ascii_strcasecmp (list->ucs_mode, "migrated") == 0;
}

static int
find_contact (const SfbContactList *list, const char *uri)
{
  for (guint i = 0; i < list->contacts->len; i++)
    {
      const SfbContactEntry *e = list->contacts->pdata[i];

      if (g_str_equal (e->uri, uri))
        return (int) i;
    }
  return -1;
}

static int
find_group (const SfbContactList *list, guint id)
{
  for (guint i = 0; i < list->groups->len; i++)
    if (((const SfbContactGroup *) list->groups->pdata[i])->id == id)
      return (int) i;
  return -1;
}

const SfbContactEntry *
sfb_contact_list_lookup (const SfbContactList *list, const char *uri)
{
  g_autofree char *norm = sfb_contact_normalize_uri (uri);
  int i = norm != NULL ? find_contact (list, norm) : -1;

  return i >= 0 ? list->contacts->pdata[i] : NULL;
}

const SfbContactGroup *
sfb_contact_list_lookup_group (const SfbContactList *list, guint id)
{
  int i = find_group (list, id);

  return i >= 0 ? list->groups->pdata[i] : NULL;
}

/* <group id name/>, <addedGroup .../>, <modifiedGroup .../> */
static SfbContactGroup *
parse_group (const SfbXmlNode *node)
{
  guint64 id = 0;
  g_autofree char *name = NULL;
  SfbContactGroup *group;

  if (!sfb_svc_xml_attr_uint (node, "id", G_MAXUINT32, &id) || id == 0)
    return NULL;
  {
    g_autofree char *raw = sfb_svc_xml_attr (node, "name");
    name = sfb_svc_clean_string (raw);
  }
  group = g_new0 (SfbContactGroup, 1);
  group->id = (guint) id;
  group->name = name != NULL ? g_steal_pointer (&name) : g_strdup ("");
  return group;
}

/* <contact uri name groups="1 3 " subscribed/> and the delta forms */
static SfbContactEntry *
parse_contact (const SfbXmlNode *node)
{
  g_autofree char *raw_uri = sfb_svc_xml_attr (node, "uri");
  g_autofree char *raw_name = sfb_svc_xml_attr (node, "name");
  g_autofree char *raw_groups = sfb_svc_xml_attr (node, "groups");
  g_autofree char *raw_subscribed = sfb_svc_xml_attr (node, "subscribed");
  g_autofree char *uri = sfb_contact_normalize_uri (raw_uri);
  g_autofree char *name = NULL;
  g_auto (GStrv) ids = NULL;
  guint groups[SFB_CONTACTS_MAX_GROUPS_PER_CONTACT];
  guint n_groups = 0;

  if (uri == NULL)
    return NULL;
  name = sfb_svc_clean_string (raw_name);
  ids = g_strsplit_set (raw_groups != NULL ? raw_groups : "", " \t", -1);
  for (guint i = 0; ids[i] != NULL; i++)
    {
      guint64 id = 0;

      if (g_ascii_string_to_unsigned (ids[i], 10, 1, G_MAXUINT32, &id, NULL))
        add_group_id (groups, &n_groups, (guint) id);
    }
  return sfb_contact_entry_new (uri,
                                name != NULL ? name : "",
                                groups,
                                n_groups,
                                raw_subscribed == NULL || sfb_svc_xml_parse_bool (raw_subscribed));
}

/* Adds or replaces a group; FALSE when over the limit. */
static gboolean
put_group (SfbContactList *list, SfbContactGroup *group)
{
  int i = find_group (list, group->id);

  if (i >= 0)
    {
      group_free (list->groups->pdata[i]);
      list->groups->pdata[i] = group;
      return TRUE;
    }
  if (list->groups->len >= SFB_CONTACTS_MAX_GROUPS)
    {
      group_free (group);
      return FALSE;
    }
  g_ptr_array_add (list->groups, group);
  return TRUE;
}

static gboolean
put_contact (SfbContactList *list, GHashTable *index, SfbContactEntry *entry)
{
  gpointer pos = NULL;

  if (g_hash_table_lookup_extended (index, entry->uri, NULL, &pos))
    {
      guint i = GPOINTER_TO_UINT (pos);

      /* The index's key is the old entry's uri: point it at the new one first. */
      g_hash_table_replace (index, (gpointer) entry->uri, pos);
      entry_free (list->contacts->pdata[i]);
      list->contacts->pdata[i] = entry;
      return TRUE;
    }
  if (list->contacts->len >= SFB_CONTACTS_MAX_CONTACTS)
    {
      entry_free (entry);
      return FALSE;
    }
  g_ptr_array_add (list->contacts, entry);
  g_hash_table_insert (index, (gpointer) entry->uri, GUINT_TO_POINTER (list->contacts->len - 1));
  return TRUE;
}

static GHashTable *
build_index (SfbContactList *list)
{
  GHashTable *index = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < list->contacts->len; i++)
    g_hash_table_insert (index,
                         (gpointer) ((SfbContactEntry *) list->contacts->pdata[i])->uri,
                         GUINT_TO_POINTER (i));
  return index;
}

static gboolean
parse_delta_num (const SfbXmlNode *root, const char *name, guint *value, GError **error)
{
  guint64 n = 0;

  if (!sfb_svc_xml_attr_uint (root, name, G_MAXUINT32, &n))
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "The server's roaming contacts document has no valid %s",
                   name);
      return FALSE;
    }
  *value = (guint) n;
  return TRUE;
}

static gboolean
too_many (GError **error)
{
  g_set_error (error,
               SFB_ERROR,
               SFB_ERROR_FAILED,
               "The server's contact list has more than %d contacts or %d groups",
               SFB_CONTACTS_MAX_CONTACTS,
               SFB_CONTACTS_MAX_GROUPS);
  return FALSE;
}

static gboolean
apply_full (SfbContactList *fresh, const SfbXmlNode *root, GError **error)
{
  g_autoptr (GHashTable) index = build_index (fresh);

  if (!parse_delta_num (root, "deltaNum", &fresh->revision, error))
    return FALSE;
  fresh->ucs_mode = sfb_svc_xml_attr (root, "ucsmode");
  if (fresh->ucs_mode != NULL && *fresh->ucs_mode == '\0')
    g_clear_pointer (&fresh->ucs_mode, g_free);
  if (fresh->ucs_mode != NULL)
    {
      char *clean = sfb_svc_clean_string (fresh->ucs_mode);
      g_free (fresh->ucs_mode);
      fresh->ucs_mode = clean;
    }
  for (SfbXmlNode *n = sfb_svc_xml_child (root, NULL); n != NULL; n = sfb_svc_xml_next (n, NULL))
    {
      if (sfb_svc_xml_is (n, "group"))
        {
          SfbContactGroup *group = parse_group (n);

          if (group != NULL && !put_group (fresh, group))
            return too_many (error);
        }
      else if (sfb_svc_xml_is (n, "contact"))
        {
          SfbContactEntry *entry = parse_contact (n);

          if (entry != NULL && !put_contact (fresh, index, entry))
            return too_many (error);
        }
    }
  return TRUE;
}

static gboolean
apply_delta (SfbContactList *list, const SfbXmlNode *root, GError **error)
{
  g_autoptr (GHashTable) index = NULL;
  guint delta = 0;
  guint64 prev = 0;

  if (!parse_delta_num (root, "deltaNum", &delta, error))
    return FALSE;
  if (!sfb_svc_xml_attr_uint (root, "prevDeltaNum", G_MAXUINT32, &prev))
    prev = 0;
  if (prev != list->revision)
    g_debug ("contactDelta %u follows %u, we have %u: applying it anyway",
             delta,
             (guint) prev,
             list->revision);
  list->revision = delta;

  for (SfbXmlNode *n = sfb_svc_xml_child (root, NULL); n != NULL; n = sfb_svc_xml_next (n, NULL))
    {
      if (sfb_svc_xml_is (n, "addedGroup") || sfb_svc_xml_is (n, "modifiedGroup"))
        {
          SfbContactGroup *group = parse_group (n);

          if (group != NULL && !put_group (list, group))
            return too_many (error);
        }
      else if (sfb_svc_xml_is (n, "addedContact") || sfb_svc_xml_is (n, "modifiedContact"))
        {
          SfbContactEntry *entry = parse_contact (n);

          if (index == NULL)
            index = build_index (list);
          if (entry != NULL && !put_contact (list, index, entry))
            return too_many (error);
        }
      else if (sfb_svc_xml_is (n, "deletedGroup"))
        {
          guint64 id = 0;
          int i;

          if (sfb_svc_xml_attr_uint (n, "id", G_MAXUINT32, &id)
              && (i = find_group (list, (guint) id)) >= 0)
            g_ptr_array_remove_index (list->groups, (guint) i);
        }
      else if (sfb_svc_xml_is (n, "deletedContact"))
        {
          g_autofree char *raw = sfb_svc_xml_attr (n, "uri");
          g_autofree char *uri = sfb_contact_normalize_uri (raw);
          int i = uri != NULL ? find_contact (list, uri) : -1;

          if (i >= 0)
            {
              g_ptr_array_remove_index (list->contacts, (guint) i);
              g_clear_pointer (&index, g_hash_table_unref);
            }
        }
    }
  return TRUE;
}

static SfbContactList *
copy_list (const SfbContactList *list)
{
  SfbContactList *copy = sfb_contact_list_new ();

  copy->revision = list->revision;
  copy->ucs_mode = g_strdup (list->ucs_mode);
  for (guint i = 0; i < list->groups->len; i++)
    {
      const SfbContactGroup *g = list->groups->pdata[i];
      SfbContactGroup *c = g_new0 (SfbContactGroup, 1);

      c->id = g->id;
      c->name = g_strdup (g->name);
      g_ptr_array_add (copy->groups, c);
    }
  for (guint i = 0; i < list->contacts->len; i++)
    {
      const SfbContactEntry *e = list->contacts->pdata[i];

      g_ptr_array_add (
          copy->contacts,
          sfb_contact_entry_new (e->uri, e->name, e->groups, e->n_groups, e->subscribed));
    }
  return copy;
}

static gboolean
lists_equal (const SfbContactList *a, const SfbContactList *b)
{
  if (a->revision != b->revision || g_strcmp0 (a->ucs_mode, b->ucs_mode) != 0
      || a->groups->len != b->groups->len || a->contacts->len != b->contacts->len)
    return FALSE;
  for (guint i = 0; i < a->groups->len; i++)
    {
      const SfbContactGroup *x = a->groups->pdata[i], *y = b->groups->pdata[i];

      if (x->id != y->id || !g_str_equal (x->name, y->name))
        return FALSE;
    }
  for (guint i = 0; i < a->contacts->len; i++)
    {
      const SfbContactEntry *x = a->contacts->pdata[i], *y = b->contacts->pdata[i];

      if (!g_str_equal (x->uri, y->uri) || !g_str_equal (x->name, y->name)
          || x->subscribed != y->subscribed || x->n_groups != y->n_groups
          || memcmp (x->groups, y->groups, x->n_groups * sizeof (guint)) != 0)
        return FALSE;
    }
  return TRUE;
}

static void
swap_lists (SfbContactList *a, SfbContactList *b)
{
  SfbContactList tmp = *a;

  *a = *b;
  *b = tmp;
}

gboolean
sfb_contact_list_update (
    SfbContactList *list, const char *data, gsize length, gboolean *changed, GError **error)
{
  g_autoptr (SfbXmlDoc) xml = NULL;
  g_autoptr (SfbContactList) work = NULL;
  SfbXmlNode *root;

  if (changed != NULL)
    *changed = FALSE;
  xml = sfb_svc_xml_parse (data, length, "roaming contacts", error);
  if (xml == NULL)
    return FALSE;
  root = sfb_xml_doc_root (xml);
  if (sfb_svc_xml_is (root, "contactList"))
    {
      work = sfb_contact_list_new ();
      if (!apply_full (work, root, error))
        return FALSE;
    }
  else if (sfb_svc_xml_is (root, "contactDelta"))
    {
      work = copy_list (list);
      if (!apply_delta (work, root, error))
        return FALSE;
    }
  else
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_FAILED,
                           "The server's roaming contacts document is neither a contactList "
                           "nor a contactDelta");
      return FALSE;
    }
  if (changed != NULL)
    *changed = !lists_equal (list, work);
  swap_lists (list, work);
  return TRUE;
}

/* ---- the cache form ------------------------------------------------ */

GVariant *
sfb_contact_list_to_variant (const SfbContactList *list)
{
  GVariantBuilder groups, contacts;

  g_variant_builder_init (&groups, G_VARIANT_TYPE ("a(us)"));
  for (guint i = 0; i < list->groups->len; i++)
    {
      const SfbContactGroup *g = list->groups->pdata[i];
      g_variant_builder_add (&groups, "(us)", g->id, g->name);
    }
  g_variant_builder_init (&contacts, G_VARIANT_TYPE ("a(ssaub)"));
  for (guint i = 0; i < list->contacts->len; i++)
    {
      const SfbContactEntry *e = list->contacts->pdata[i];
      GVariant *ids = g_variant_new_fixed_array (
          G_VARIANT_TYPE_UINT32, e->groups, e->n_groups, sizeof (guint32));

      g_variant_builder_add (&contacts, "(ss@aub)", e->uri, e->name, ids, e->subscribed);
    }
  return g_variant_new (SFB_CONTACT_LIST_VARIANT_TYPE,
                        list->revision,
                        list->ucs_mode != NULL ? list->ucs_mode : "",
                        &groups,
                        &contacts);
}

static char *
clean_or_empty (const char *text)
{
  char *clean = sfb_svc_clean_string (text);

  return clean != NULL ? clean : g_strdup ("");
}

static SfbContactEntry *
entry_from_variant (const char *uri, const char *name, GVariant *ids, gboolean subscribed)
{
  g_autofree char *norm = sfb_contact_normalize_uri (uri);
  g_autofree char *clean = NULL;
  gsize n = 0;
  const guint32 *values = g_variant_get_fixed_array (ids, &n, sizeof (guint32));
  guint groups[SFB_CONTACTS_MAX_GROUPS_PER_CONTACT];
  guint n_groups = 0;

  if (norm == NULL)
    return NULL;
  clean = clean_or_empty (name);
  for (gsize i = 0; i < n && n_groups < SFB_CONTACTS_MAX_GROUPS_PER_CONTACT; i++)
    if (values[i] != 0)
      add_group_id (groups, &n_groups, values[i]);
  return sfb_contact_entry_new (norm, clean, groups, n_groups, subscribed);
}

/* A cache file is as untrusted as a server document: the same rules apply
 * (unique non-zero group ids, unique contacts, the limits, names without
 * control characters). */
SfbContactList *
sfb_contact_list_from_variant (GVariant *data)
{
  g_autoptr (SfbContactList) list = sfb_contact_list_new ();
  g_autoptr (GHashTable) uris = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GVariantIter) groups = NULL;
  g_autoptr (GVariantIter) contacts = NULL;
  const char *ucs = NULL;
  const char *name = NULL;
  const char *uri = NULL;
  GVariant *ids = NULL;
  gboolean subscribed = FALSE;
  guint32 id = 0;

  g_variant_get (data, "(u&sa(us)a(ssaub))", &list->revision, &ucs, &groups, &contacts);
  list->ucs_mode = *ucs != '\0' ? sfb_svc_clean_string (ucs) : NULL;
  while (g_variant_iter_next (groups, "(u&s)", &id, &name))
    {
      SfbContactGroup *g;

      if (id == 0 || find_group (list, id) >= 0 || list->groups->len >= SFB_CONTACTS_MAX_GROUPS)
        continue;
      g = g_new0 (SfbContactGroup, 1);
      g->id = id;
      g->name = clean_or_empty (name);
      g_ptr_array_add (list->groups, g);
    }
  while (g_variant_iter_next (contacts, "(&s&s@aub)", &uri, &name, &ids, &subscribed))
    {
      g_autoptr (GVariant) owned = ids;
      SfbContactEntry *e = NULL;

      if (list->contacts->len < SFB_CONTACTS_MAX_CONTACTS)
        e = entry_from_variant (uri, name, owned, subscribed);
      if (e == NULL)
        continue;
      if (g_hash_table_contains (uris, e->uri))
        {
          entry_free (e);
          continue;
        }
      g_ptr_array_add (list->contacts, e);
      g_hash_table_add (uris, (gpointer) e->uri);
    }
  return g_steal_pointer (&list);
}
