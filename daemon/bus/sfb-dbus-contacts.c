/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.Contacts: the roaming contact list (SfbContacts) with the
 * contacts' presence and cards (SfbPresence). */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-adapters.h"

#include "sfb-contacts.h"
#include "sfb-memory.h"
#include "sfb-presence.h"

#include <sfbd/sfb-names.h>

static const char *
or_empty (const char *value)
{
  return value != NULL ? value : "";
}

/* The keys of a contact's a{sv}, and the empty string, made once per
 * reply and shared by every contact's entries (a reference each instead
 * of an allocation and a copy each). */
typedef enum
{
  KEY_URI,
  KEY_NAME,
  KEY_GROUPS,
  KEY_AVAILABILITY,
  KEY_NOTE,
  KEY_RELATIONSHIP,
  KEY_TITLE,
  KEY_COMPANY,
  KEY_EMAIL,
  N_KEYS
} ContactKey;

static const char *const key_names[N_KEYS] = {
  "Uri", "Name", "Groups", "Availability", "Note", "Relationship", "Title", "Company", "Email",
};

/* What one reply is built with.  Entries whose value few contacts differ
 * in (availability, relationship, title, company, note, a single group)
 * are made once per value and shared: fewer allocations to build and to
 * free, and a smaller reply to keep (ListCache). */
typedef struct
{
  GVariant *keys[N_KEYS];
  GVariant *empty;
  GHashTable *shared[N_KEYS]; /* value (borrowed from the list or presence) -> entry */
  GHashTable *single_group;   /* group name (borrowed) -> Groups entry */
  GVariant *no_groups;
} SharedParts;

static void
shared_parts_init (SharedParts *parts)
{
  for (guint i = 0; i < N_KEYS; i++)
    {
      parts->keys[i] = g_variant_ref_sink (g_variant_new_string (key_names[i]));
      parts->shared[i]
          = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_variant_unref);
    }
  parts->empty = g_variant_ref_sink (g_variant_new_string (""));
  parts->single_group = g_hash_table_new_full (
      g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) g_variant_unref);
  parts->no_groups = NULL;
}

static void
shared_parts_clear (SharedParts *parts)
{
  for (guint i = 0; i < N_KEYS; i++)
    {
      g_variant_unref (parts->keys[i]);
      g_hash_table_unref (parts->shared[i]);
    }
  g_variant_unref (parts->empty);
  g_hash_table_unref (parts->single_group);
  g_clear_pointer (&parts->no_groups, g_variant_unref);
}

static GVariant *
entry (const SharedParts *parts, ContactKey key, GVariant *value)
{
  return g_variant_new_dict_entry (parts->keys[key], g_variant_new_variant (value));
}

static GVariant *
string_entry (const SharedParts *parts, ContactKey key, const char *value)
{
  if (value == NULL || *value == '\0')
    return entry (parts, key, parts->empty);
  return entry (parts, key, g_variant_new_string (value));
}

/* The entry of a value many contacts share: one per value and reply, a
 * full reference.  @value must outlive @parts (the list or the presence
 * table do). */
static GVariant *
shared_entry (SharedParts *parts, ContactKey key, const char *value)
{
  GVariant *e;

  if (value == NULL)
    value = "";
  e = g_hash_table_lookup (parts->shared[key], value);
  if (e == NULL)
    {
      e = g_variant_ref_sink (string_entry (parts, key, value));
      g_hash_table_insert (parts->shared[key], (gpointer) value, e);
    }
  return g_variant_ref (e);
}

static GVariant *
groups_entry (SharedParts *parts, const SfbContactList *list, const SfbContactEntry *e)
{
  const char *names[SFB_CONTACTS_MAX_GROUPS_PER_CONTACT];
  guint n = 0;
  GVariant *shared;

  for (guint i = 0; i < e->n_groups && n < SFB_CONTACTS_MAX_GROUPS_PER_CONTACT; i++)
    {
      const SfbContactGroup *g = sfb_contact_list_lookup_group (list, e->groups[i]);

      if (g != NULL)
        names[n++] = g->name;
    }
  if (n > 1) /* a full reference, as for the shared ones */
    return g_variant_ref_sink (entry (parts, KEY_GROUPS, g_variant_new_strv (names, n)));
  if (n == 0)
    {
      if (parts->no_groups == NULL)
        parts->no_groups
            = g_variant_ref_sink (entry (parts, KEY_GROUPS, g_variant_new_strv (NULL, 0)));
      return g_variant_ref (parts->no_groups);
    }
  shared = g_hash_table_lookup (parts->single_group, names[0]);
  if (shared == NULL)
    {
      shared = g_variant_ref_sink (entry (parts, KEY_GROUPS, g_variant_new_strv (names, 1)));
      g_hash_table_insert (parts->single_group, (gpointer) names[0], shared);
    }
  return g_variant_ref (shared);
}

/* One contact as a{sv}: built as an array of entries from what the list
 * and SfbPresence hold, without a GVariantDict or a copy of the presence
 * (ListContacts answers with every contact, 1,000 or more). */
static GVariant *
contact_to_variant (SharedParts *parts,
                    const SfbContactList *list,
                    const SfbPresenceInfo *info, /* what SfbPresence knows of @e, or NULL */
                    const char *own_domain,
                    const SfbContactEntry *e)
{
  const char *name = *e->name == '\0' && info != NULL ? info->display_name : e->name;
  GVariant *entries[] = {
    string_entry (parts, KEY_URI, e->uri),
    string_entry (parts, KEY_NAME, name),
    groups_entry (parts, list, e),
    shared_entry (parts,
                  KEY_AVAILABILITY,
                  info != NULL ? sfb_availability_from_code (info->availability, info->activity)
                               : SFB_AVAILABILITY_OFFLINE),
    shared_entry (parts, KEY_NOTE, info != NULL ? info->note : NULL),
    shared_entry (parts,
                  KEY_RELATIONSHIP,
                  sfb_relationship_to_string (sfb_relationship_for_uri (e->uri, own_domain))),
    shared_entry (parts, KEY_TITLE, info != NULL ? info->title : NULL),
    shared_entry (parts, KEY_COMPANY, info != NULL ? info->company : NULL),
    string_entry (parts, KEY_EMAIL, info != NULL ? info->email : NULL),
  };
  GVariant *contact = g_variant_new_array (G_VARIANT_TYPE ("{sv}"), entries, N_KEYS);

  /* the array referenced the shared entries (and groups_entry's): drop ours */
  for (guint i = 0; i < N_KEYS; i++)
    if (i != KEY_URI && i != KEY_NAME && i != KEY_EMAIL)
      g_variant_unref (entries[i]);
  return contact;
}

/* The reply for the whole list.  With @previous (built from the same list
 * and own domain), the contacts whose version is still the one in
 * @versions are taken from it (a reference, tree form: no copy) and only
 * the others built: a presence or card change costs one contact, not the
 * list.  @versions is updated. */
static GVariant *
build_list (SfbContacts *contacts, SfbPresence *presence, GVariant *previous, guint32 *versions)
{
  const SfbContactList *list = sfb_contacts_get_list (contacts);
  const char *own_domain = sfb_contacts_get_own_domain (contacts);
  guint n = list->contacts->len;
  g_autofree GVariant **children = g_new (GVariant *, MAX (n, 1));
  g_autofree gboolean *kept = g_new0 (gboolean, MAX (n, 1));
  SharedParts parts;
  GVariant *reply;

  shared_parts_init (&parts);
  for (guint i = 0; i < n; i++)
    {
      const SfbContactEntry *e = list->contacts->pdata[i];
      const SfbPresenceInfo *info = sfb_presence_peek (presence, e->uri);
      guint32 version = info != NULL ? info->version : 0; /* 0: nothing known yet */

      kept[i] = previous != NULL && versions[i] == version;
      children[i] = kept[i] ? g_variant_get_child_value (previous, i)
                            : contact_to_variant (&parts, list, info, own_domain, e);
      versions[i] = version;
    }
  reply = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("a{sv}"), children, n));
  /* the new ones were floating (now the reply's); the kept ones are ours */
  for (guint i = 0; i < n; i++)
    if (kept[i])
      g_variant_unref (children[i]);
  shared_parts_clear (&parts);
  return reply;
}

/* The last ListContacts reply, reused while it is still what would be
 * built: the list did not change ("contacts-changed"), nor any contact's
 * presence or card (SfbPresence's version), nor the own domain (the
 * Relationship).  When presences or cards changed, only those contacts
 * are built again (the others' versions are kept beside the reply).  Kept
 * in tree form: GDBus serialises that by walking references, where a
 * serialised GVariant makes it allocate every child again per call
 * (docs/benchmarks.md).  Dropped LIST_CACHE_HOLD_S after the last call,
 * before the heap trim that call asked for: clients list in bursts, and
 * the reply costs memory (1.3 MB for 1,000 contacts). */
#define LIST_CACHE_HOLD_S 2
G_STATIC_ASSERT (LIST_CACHE_HOLD_S < SFB_MEMORY_TRIM_DELAY_S);

typedef struct
{
  GVariant *reply;
  guint64 presence_version;
  guint32 *versions; /* per contact of the reply: its SfbPresenceInfo's version when built */
  guint n_contacts;
  char *own_domain;
  guint drop_id;
} ListCache;

static void
list_cache_drop (ListCache *cache)
{
  g_clear_pointer (&cache->reply, g_variant_unref);
  g_clear_pointer (&cache->versions, g_free);
  g_clear_pointer (&cache->own_domain, g_free);
  g_clear_handle_id (&cache->drop_id, g_source_remove);
}

static void
list_cache_free (ListCache *cache)
{
  list_cache_drop (cache);
  g_free (cache);
}

static gboolean
on_list_cache_hold_over (gpointer user_data)
{
  ListCache *cache = user_data;

  cache->drop_id = 0;
  list_cache_drop (cache);
  return G_SOURCE_REMOVE;
}

static ListCache *
list_cache_get (SfbDBusContacts *skeleton)
{
  return g_object_get_data (G_OBJECT (skeleton), "sfb-list-cache");
}

static GVariant *
list_cache_reply (ListCache *cache, SfbContacts *contacts, SfbPresence *presence)
{
  guint64 version = sfb_presence_get_contacts_version (presence);
  const char *own_domain = sfb_contacts_get_own_domain (contacts);
  guint n = sfb_contacts_get_list (contacts)->contacts->len;

  /* the list itself changing drops the reply ("contacts-changed") */
  if (cache->reply != NULL
      && (g_strcmp0 (cache->own_domain, own_domain) != 0 || cache->n_contacts != n))
    list_cache_drop (cache);
  if (cache->reply == NULL)
    {
      cache->versions = g_new (guint32, MAX (n, 1));
      cache->n_contacts = n;
      cache->own_domain = g_strdup (own_domain);
    }
  if (cache->reply == NULL || cache->presence_version != version)
    {
      GVariant *previous = g_steal_pointer (&cache->reply);

      cache->reply = build_list (contacts, presence, previous, cache->versions);
      cache->presence_version = version;
      g_clear_pointer (&previous, g_variant_unref);
    }
  g_clear_handle_id (&cache->drop_id, g_source_remove);
  cache->drop_id = g_timeout_add_seconds (LIST_CACHE_HOLD_S, on_list_cache_hold_over, cache);
  return cache->reply;
}

static gboolean
handle_list_contacts (SfbDBusContacts *skeleton,
                      GDBusMethodInvocation *invocation,
                      SfbDaemon *daemon)
{
  GVariant *reply = list_cache_reply (list_cache_get (skeleton),
                                      sfb_daemon_get_contacts (daemon),
                                      sfb_daemon_get_presence (daemon));

  sfb_dbus_contacts_complete_list_contacts (skeleton, invocation, reply);
  sfb_memory_trim_soon (); /* the reply's message was freed: a few hundred kB for 1,000 */
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_groups (SfbDBusContacts *skeleton, GDBusMethodInvocation *invocation, SfbDaemon *daemon)
{
  const SfbContactList *list = sfb_contacts_get_list (sfb_daemon_get_contacts (daemon));
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < list->groups->len; i++)
    {
      const SfbContactGroup *g = list->groups->pdata[i];
      GVariantDict dict;

      g_variant_dict_init (&dict, NULL);
      g_variant_dict_insert (&dict, "Id", "u", g->id);
      g_variant_dict_insert (&dict, "Name", "s", g->name);
      g_variant_dict_insert (
          &dict, "Default", "b", g_str_equal (g->name, SFB_CONTACTS_DEFAULT_GROUP));
      g_variant_builder_add_value (&builder, g_variant_dict_end (&dict));
    }
  sfb_dbus_contacts_complete_list_groups (skeleton, invocation, g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
update_properties (SfbDBusContacts *skeleton, SfbContacts *contacts)
{
  const SfbContactList *list = sfb_contacts_get_list (contacts);

  sfb_dbus_contacts_set_count (skeleton, list->contacts->len);
  sfb_dbus_contacts_set_revision (skeleton, list->revision);
  sfb_dbus_contacts_set_ucs_mode (skeleton, or_empty (list->ucs_mode));
  sfb_dbus_contacts_set_cached (skeleton, sfb_contacts_is_cached (contacts));
}

static void
on_contacts_changed (SfbContacts *contacts, SfbDBusContacts *skeleton)
{
  list_cache_drop (list_cache_get (skeleton));
  update_properties (skeleton, contacts);
  sfb_dbus_contacts_emit_contacts_changed (skeleton);
}

GDBusInterfaceSkeleton *
sfb_dbus_contacts_adapter_new (SfbDaemon *daemon)
{
  SfbDBusContacts *skeleton = sfb_dbus_contacts_skeleton_new ();
  SfbContacts *contacts = sfb_daemon_get_contacts (daemon);

  g_object_set_data_full (G_OBJECT (skeleton),
                          "sfb-list-cache",
                          g_new0 (ListCache, 1),
                          (GDestroyNotify) list_cache_free);
  update_properties (skeleton, contacts);
  g_signal_connect_object (
      contacts, "contacts-changed", G_CALLBACK (on_contacts_changed), skeleton, 0);
  g_signal_connect_object (
      skeleton, "handle-list-contacts", G_CALLBACK (handle_list_contacts), daemon, 0);
  g_signal_connect_object (
      skeleton, "handle-list-groups", G_CALLBACK (handle_list_groups), daemon, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
