/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sfbd.Sfbd1.Contacts: the roaming contact list (SfbContacts) with the
 * contacts' presence and cards (SfbPresence). */
#define G_LOG_DOMAIN "sfbd-dbus"

#include "config.h"

#include "sfb-dbus-adapters.h"

#include "sfb-contacts.h"
#include "sfb-presence.h"

#include <sfbd/sfb-names.h>

static const char *
or_empty (const char *value)
{
  return value != NULL ? value : "";
}

static GVariant *
contact_to_variant (SfbDaemon *daemon, const SfbContactList *list, const SfbContactEntry *e)
{
  SfbContacts *contacts = sfb_daemon_get_contacts (daemon);
  SfbPresence *presence = sfb_daemon_get_presence (daemon);
  g_autoptr (GVariant) state = sfb_presence_lookup (presence, e->uri);
  g_autoptr (GPtrArray) groups = g_ptr_array_new ();
  const char *card_name = sfb_presence_lookup_card (presence, e->uri, "Name");
  const char *availability = SFB_AVAILABILITY_OFFLINE;
  const char *note = "";
  GVariantDict dict;

  for (guint i = 0; i < e->groups->len; i++)
    {
      const SfbContactGroup *g
          = sfb_contact_list_lookup_group (list, g_array_index (e->groups, guint, i));

      if (g != NULL)
        g_ptr_array_add (groups, g->name);
    }
  if (state != NULL)
    {
      g_variant_lookup (state, "Availability", "&s", &availability);
      g_variant_lookup (state, "Note", "&s", &note);
    }
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "Uri", "s", e->uri);
  g_variant_dict_insert (&dict, "Name", "s", *e->name != '\0' ? e->name : or_empty (card_name));
  g_variant_dict_insert_value (
      &dict,
      "Groups",
      g_variant_new_strv ((const char *const *) groups->pdata, (gssize) groups->len));
  g_variant_dict_insert (&dict, "Availability", "s", availability);
  g_variant_dict_insert (&dict, "Note", "s", note);
  g_variant_dict_insert (&dict,
                         "Relationship",
                         "s",
                         sfb_relationship_to_string (sfb_relationship_for_uri (
                             e->uri, sfb_contacts_get_own_domain (contacts))));
  g_variant_dict_insert (
      &dict, "Title", "s", or_empty (sfb_presence_lookup_card (presence, e->uri, "Title")));
  g_variant_dict_insert (
      &dict, "Company", "s", or_empty (sfb_presence_lookup_card (presence, e->uri, "Company")));
  g_variant_dict_insert (
      &dict, "Email", "s", or_empty (sfb_presence_lookup_card (presence, e->uri, "Email")));
  return g_variant_dict_end (&dict);
}

static gboolean
handle_list_contacts (SfbDBusContacts *skeleton,
                      GDBusMethodInvocation *invocation,
                      SfbDaemon *daemon)
{
  const SfbContactList *list = sfb_contacts_get_list (sfb_daemon_get_contacts (daemon));
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < list->contacts->len; i++)
    g_variant_builder_add_value (&builder,
                                 contact_to_variant (daemon, list, list->contacts->pdata[i]));
  sfb_dbus_contacts_complete_list_contacts (skeleton, invocation, g_variant_builder_end (&builder));
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
