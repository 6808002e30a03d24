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
 * ListContacts and shared by every contact's entries (a reference each
 * instead of an allocation and a copy each). */
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

typedef struct
{
  GVariant *keys[N_KEYS];
  GVariant *empty;
} SharedParts;

static void
shared_parts_init (SharedParts *parts)
{
  for (guint i = 0; i < N_KEYS; i++)
    parts->keys[i] = g_variant_ref_sink (g_variant_new_string (key_names[i]));
  parts->empty = g_variant_ref_sink (g_variant_new_string (""));
}

static void
shared_parts_clear (SharedParts *parts)
{
  for (guint i = 0; i < N_KEYS; i++)
    g_variant_unref (parts->keys[i]);
  g_variant_unref (parts->empty);
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

static guint
group_names (const SfbContactList *list,
             const SfbContactEntry *e,
             const char *names[SFB_CONTACTS_MAX_GROUPS_PER_CONTACT])
{
  guint n = 0;

  for (guint i = 0; i < e->groups->len && n < SFB_CONTACTS_MAX_GROUPS_PER_CONTACT; i++)
    {
      const SfbContactGroup *g
          = sfb_contact_list_lookup_group (list, g_array_index (e->groups, guint, i));

      if (g != NULL)
        names[n++] = g->name;
    }
  return n;
}

/* One contact as a{sv}: built as an array of entries from what the list
 * and SfbPresence hold, without a GVariantDict or a copy of the presence
 * (ListContacts answers with every contact, 1,000 or more). */
static GVariant *
contact_to_variant (const SharedParts *parts,
                    const SfbContactList *list,
                    SfbPresence *presence,
                    const char *own_domain,
                    const SfbContactEntry *e)
{
  const SfbPresenceInfo *info = sfb_presence_peek (presence, e->uri);
  const char *groups[SFB_CONTACTS_MAX_GROUPS_PER_CONTACT];
  guint n_groups = group_names (list, e, groups);
  const char *name = *e->name == '\0' && info != NULL ? info->display_name : e->name;
  GVariant *entries[] = {
    string_entry (parts, KEY_URI, e->uri),
    string_entry (parts, KEY_NAME, name),
    entry (parts, KEY_GROUPS, g_variant_new_strv (groups, n_groups)),
    string_entry (parts,
                  KEY_AVAILABILITY,
                  info != NULL ? sfb_availability_from_code (info->availability, info->activity)
                               : SFB_AVAILABILITY_OFFLINE),
    string_entry (parts, KEY_NOTE, info != NULL ? info->note : NULL),
    string_entry (parts,
                  KEY_RELATIONSHIP,
                  sfb_relationship_to_string (sfb_relationship_for_uri (e->uri, own_domain))),
    string_entry (parts, KEY_TITLE, info != NULL ? info->title : NULL),
    string_entry (parts, KEY_COMPANY, info != NULL ? info->company : NULL),
    string_entry (parts, KEY_EMAIL, info != NULL ? info->email : NULL),
  };

  return g_variant_new_array (G_VARIANT_TYPE ("{sv}"), entries, G_N_ELEMENTS (entries));
}

static gboolean
handle_list_contacts (SfbDBusContacts *skeleton,
                      GDBusMethodInvocation *invocation,
                      SfbDaemon *daemon)
{
  SfbContacts *contacts = sfb_daemon_get_contacts (daemon);
  const SfbContactList *list = sfb_contacts_get_list (contacts);
  SfbPresence *presence = sfb_daemon_get_presence (daemon);
  const char *own_domain = sfb_contacts_get_own_domain (contacts);
  g_autofree GVariant **children = g_new (GVariant *, MAX (list->contacts->len, 1));
  SharedParts parts;
  GVariant *reply;

  shared_parts_init (&parts);
  for (guint i = 0; i < list->contacts->len; i++)
    children[i] = contact_to_variant (&parts, list, presence, own_domain, list->contacts->pdata[i]);
  reply = g_variant_new_array (G_VARIANT_TYPE ("a{sv}"), children, list->contacts->len);
  shared_parts_clear (&parts);
  sfb_dbus_contacts_complete_list_contacts (skeleton, invocation, reply);
  sfb_memory_trim_soon (); /* the reply was freed: a few hundred kB for 1,000 */
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
  update_properties (skeleton, contacts);
  sfb_dbus_contacts_emit_contacts_changed (skeleton);
}

GDBusInterfaceSkeleton *
sfb_dbus_contacts_adapter_new (SfbDaemon *daemon)
{
  SfbDBusContacts *skeleton = sfb_dbus_contacts_skeleton_new ();
  SfbContacts *contacts = sfb_daemon_get_contacts (daemon);

  update_properties (skeleton, contacts);
  g_signal_connect_object (
      contacts, "contacts-changed", G_CALLBACK (on_contacts_changed), skeleton, 0);
  g_signal_connect_object (
      skeleton, "handle-list-contacts", G_CALLBACK (handle_list_contacts), daemon, 0);
  g_signal_connect_object (
      skeleton, "handle-list-groups", G_CALLBACK (handle_list_groups), daemon, 0);
  return G_DBUS_INTERFACE_SKELETON (skeleton);
}
