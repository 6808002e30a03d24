/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

/* roaming-self (docs/protocol.md §11.3): the versions of the user's own
 * category publications, the own presence as the server aggregated it,
 * and the subscribers (watchers); the version table kept from it. */

#include "sfb-presence-doc-private.h"

#include "sfb-contact-list.h"
#include "sfb-error.h"

#include <string.h>

/* ---- roaming-self ---- */

static void
category_ref_free (SfbCategoryRef *ref)
{
  g_free (ref->name);
  g_free (ref);
}

static void
subscriber_free (SfbSubscriber *s)
{
  g_free (s->user);
  g_free (s->display_name);
  g_free (s);
}

void
sfb_roaming_self_free (SfbRoamingSelf *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->categories);
  g_ptr_array_unref (self->subscribers);
  sfb_presence_info_free (self->self);
  g_free (self->line_uri);
  g_free (self->user_activity);
  g_free (self);
}

static gboolean
valid_category_name (const char *name)
{
  if (name == NULL || *name == '\0' || strlen (name) > 64)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return TRUE;
}

/* <mwi messageWaiting unreadVoiceMailCount readVoiceMailCount/>: messageWaiting
 * is required, the counts optional; anything malformed leaves the count as
 * it was. */
static void
read_mwi (SfbRoamingSelf *self, const SfbXmlNode *category, gboolean removed)
{
  SfbXmlNode *mwi = sfb_svc_xml_child (category, "mwi");
  g_autofree char *waiting = NULL;
  g_autofree char *unread_raw = NULL;
  guint64 unread = 0;

  if (removed)
    {
      self->mwi.state = SFB_MWI_REMOVED;
      return;
    }
  if (mwi == NULL || (waiting = sfb_svc_xml_attr (mwi, "messageWaiting")) == NULL
      || (g_ascii_strcasecmp (waiting, "true") != 0 && g_ascii_strcasecmp (waiting, "false") != 0
          && g_strcmp0 (waiting, "1") != 0 && g_strcmp0 (waiting, "0") != 0))
    return;
  unread_raw = sfb_svc_xml_attr (mwi, "unreadVoiceMailCount");
  if (unread_raw != NULL
      && !g_ascii_string_to_unsigned (
          unread_raw, 10, 0, SFB_PRESENCE_MAX_VOICEMAILS, &unread, NULL))
    return;
  self->mwi.state = SFB_MWI_SET;
  self->mwi.waiting = sfb_svc_xml_parse_bool (waiting);
  if (unread_raw != NULL)
    self->mwi.unread = (guint) unread;
  else
    self->mwi.unread = self->mwi.waiting ? 1 : 0;
}

/* A line's URI as the directory gives it (tel:+14255550100;ext=100), else NULL. */
static char *
checked_line_uri (char *text)
{
  g_autofree char *owned = text;

  if (owned == NULL || strlen (owned) > SFB_PRESENCE_MAX_LINE_URI
      || (g_ascii_strncasecmp (owned, "tel:", 4) != 0
          && g_ascii_strncasecmp (owned, "sip:", 4) != 0)
      || owned[4] == '\0')
    return NULL;
  for (const char *p = owned; *p; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f || strchr ("<>\"'\\", *p) != NULL)
      return NULL;
  return g_steal_pointer (&owned);
}

/* userProperties (the Lync SDK's "userProperties/lines/line": the text is
 * the line's TEL URI; lineServer names an RCC line server, not the line). */
static void
read_user_properties (SfbRoamingSelf *self, const SfbXmlNode *category, gboolean removed)
{
  SfbXmlNode *props = sfb_svc_xml_child (category, "userProperties");
  SfbXmlNode *lines = sfb_svc_xml_child (props, "lines");
  guint n = 0;

  if (!removed && props == NULL)
    return;
  self->has_user_properties = TRUE;
  g_clear_pointer (&self->line_uri, g_free);
  for (SfbXmlNode *l = sfb_svc_xml_child (lines, "line");
       l != NULL && self->line_uri == NULL && n < 16;
       l = sfb_svc_xml_next (l, "line"), n++)
    self->line_uri = checked_line_uri (sfb_svc_xml_text (l));
}

/* The userState the user's endpoints publish in the aggregation containers */
static void
read_user_state (SfbRoamingSelf *self, const SfbCategoryRef *ref, const SfbXmlNode *category)
{
  g_autoptr (SfbPresenceInfo) state = NULL;
  CategoryRanks ranks = { 0, 0, FALSE };

  if (ref->removed || self->user_state != 0 || !g_str_equal (ref->name, "state")
      || ref->instance != SFB_INSTANCE_USER_STATE || (ref->container != 2 && ref->container != 3))
    return;
  state = g_new0 (SfbPresenceInfo, 1);
  sfb_presence_read_category (state, &ranks, category);
  self->user_state = state->availability;
  self->user_activity = g_steal_pointer (&state->activity);
  self->user_state_container = ref->container;
  self->user_state_version = ref->version;
}

static void
read_self_categories (SfbRoamingSelf *self, const SfbXmlNode *categories)
{
  g_autoptr (SfbPresenceInfo) info = g_new0 (SfbPresenceInfo, 1);
  CategoryRanks ranks = { 0, 0, TRUE };

  self->has_categories = TRUE;
  for (SfbXmlNode *c = sfb_svc_xml_child (categories, "category");
       c != NULL && self->categories->len < SFB_PRESENCE_MAX_CATEGORIES;
       c = sfb_svc_xml_next (c, "category"))
    {
      g_autofree char *name = sfb_svc_xml_attr (c, "name");
      g_autofree char *raw_instance = sfb_svc_xml_attr (c, "instance");
      guint64 instance = 0, container = 0, version = 0;
      SfbCategoryRef *ref;

      if (!valid_category_name (name)
          || !sfb_svc_xml_attr_uint (c, "container", G_MAXUINT32, &container))
        continue;
      ref = g_new0 (SfbCategoryRef, 1);
      ref->name = g_steal_pointer (&name);
      ref->container = (guint) container;
      if (raw_instance == NULL)
        ref->removed = TRUE;
      else if (!g_ascii_string_to_unsigned (raw_instance, 10, 0, G_MAXUINT32, &instance, NULL)
               || !sfb_svc_xml_attr_uint (c, "version", G_MAXUINT32, &version))
        {
          category_ref_free (ref);
          continue;
        }
      ref->instance = (guint32) instance;
      ref->version = (guint) version;
      g_ptr_array_add (self->categories, ref);

      /* Exchange UM's count, published by the server in the Self container */
      if (g_str_equal (ref->name, "mwi") && ref->container == 1)
        read_mwi (self, c, ref->removed);
      /* the directory's line, published by the server in the Self container */
      if (g_str_equal (ref->name, "userProperties") && ref->container == 1)
        read_user_properties (self, c, ref->removed);
      read_user_state (self, ref, c);

      /* The own aggregate comes from the server's aggregateState; the
       * note from the containers watchers see. */
      sfb_presence_read_category (info, &ranks, c);
    }
  self->self = g_steal_pointer (&info);
}

SfbRoamingSelf *
sfb_roaming_self_parse (const char *data, gsize length, GError **error)
{
  g_autoptr (SfbXmlDoc) xml = sfb_svc_xml_parse (data, length, "roaming-self", error);
  g_autoptr (SfbRoamingSelf) self = NULL;
  SfbXmlNode *root;
  SfbXmlNode *node;

  if (xml == NULL)
    return NULL;
  root = sfb_xml_doc_root (xml);
  if (!sfb_svc_xml_is (root, "roamingData"))
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_FAILED,
                           "The server's roaming-self document is not roamingData");
      return NULL;
    }
  self = g_new0 (SfbRoamingSelf, 1);
  self->categories = g_ptr_array_new_with_free_func ((GDestroyNotify) category_ref_free);
  self->subscribers = g_ptr_array_new_with_free_func ((GDestroyNotify) subscriber_free);

  if ((node = sfb_svc_xml_child (root, "categories")) != NULL)
    read_self_categories (self, node);
  if ((node = sfb_svc_xml_child (root, "subscribers")) != NULL)
    {
      self->has_subscribers = TRUE;
      for (SfbXmlNode *s = sfb_svc_xml_child (node, "subscriber");
           s != NULL && self->subscribers->len < SFB_CONTACTS_MAX_CONTACTS;
           s = sfb_svc_xml_next (s, "subscriber"))
        {
          g_autofree char *user = sfb_svc_xml_attr (s, "user");
          g_autofree char *name = sfb_svc_xml_attr (s, "displayName");
          g_autofree char *ack = sfb_svc_xml_attr (s, "acknowledged");
          g_autofree char *uri = sfb_contact_normalize_uri (user);
          SfbSubscriber *sub;

          if (uri == NULL)
            continue;
          sub = g_new0 (SfbSubscriber, 1);
          sub->user = g_strdup (uri + 4); /* as the server writes it: user@host */
          sub->display_name = sfb_svc_clean_string (name);
          sub->acknowledged = sfb_svc_xml_parse_bool (ack);
          g_ptr_array_add (self->subscribers, sub);
        }
    }
  return g_steal_pointer (&self);
}

/* ---- versions ---- */

GHashTable *
sfb_pub_versions_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static char *
version_key (const char *name, guint32 instance, guint container)
{
  return g_strdup_printf ("%s\x1f%u\x1f%u", name, instance, container);
}

guint
sfb_pub_versions_get (GHashTable *versions, const char *name, guint32 instance, guint container)
{
  g_autofree char *key = version_key (name, instance, container);

  return GPOINTER_TO_UINT (g_hash_table_lookup (versions, key));
}

void
sfb_pub_versions_set (
    GHashTable *versions, const char *name, guint32 instance, guint container, guint version)
{
  char *key = version_key (name, instance, container);

  if (version == 0)
    {
      g_hash_table_remove (versions, key);
      g_free (key);
    }
  else
    g_hash_table_replace (versions, key, GUINT_TO_POINTER (version));
}

void
sfb_pub_versions_apply (GHashTable *versions, const SfbRoamingSelf *roaming)
{
  for (guint i = 0; i < roaming->categories->len; i++)
    {
      const SfbCategoryRef *ref = roaming->categories->pdata[i];

      if (ref->removed)
        {
          g_autofree char *prefix = g_strdup_printf ("%s\x1f", ref->name);
          g_autofree char *suffix = g_strdup_printf ("\x1f%u", ref->container);
          GHashTableIter iter;
          const char *key;

          g_hash_table_iter_init (&iter, versions);
          while (g_hash_table_iter_next (&iter, (gpointer *) &key, NULL))
            if (g_str_has_prefix (key, prefix) && g_str_has_suffix (key, suffix)
                && strchr (key + strlen (prefix), '\x1f') == key + strlen (key) - strlen (suffix))
              g_hash_table_iter_remove (&iter);
        }
      else
        sfb_pub_versions_set (versions, ref->name, ref->instance, ref->container, ref->version);
    }
}
