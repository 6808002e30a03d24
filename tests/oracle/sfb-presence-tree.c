/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "sfb-presence-tree.h"

#include "sfb-contact-list.h"
#include "sfb-error.h"

static SfbPresenceInfo *
read_categories (const SfbXmlNode *categories)
{
  g_autoptr (SfbPresenceInfo) info = g_new0 (SfbPresenceInfo, 1);
  g_autofree char *raw_uri = sfb_svc_xml_attr (categories, "uri");
  CategoryRanks ranks = { 0, 0, FALSE };
  guint n = 0;

  info->uri = sfb_contact_normalize_uri (raw_uri);
  for (SfbXmlNode *c = sfb_svc_xml_child (categories, "category");
       c != NULL && n < SFB_PRESENCE_MAX_CATEGORIES;
       c = sfb_svc_xml_next (c, "category"), n++)
    sfb_presence_read_category (info, &ranks, c);
  return g_steal_pointer (&info);
}

SfbPresenceInfo *
sfb_presence_parse_categories_tree (const char *data, gsize length, GError **error)
{
  g_autoptr (SfbXmlDoc) xml = sfb_svc_xml_parse (data, length, "presence categories", error);
  g_autoptr (SfbPresenceInfo) info = NULL;
  SfbXmlNode *root;

  if (xml == NULL)
    return NULL;
  root = sfb_xml_doc_root (xml);
  if (!sfb_svc_xml_is (root, "categories"))
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_FAILED,
                           "The server's presence document is not a categories document");
      return NULL;
    }
  info = read_categories (root);
  if (info->uri == NULL)
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_FAILED,
                           "The server's presence document names no valid address");
      return NULL;
    }
  return g_steal_pointer (&info);
}

static gboolean
parse_rlmi_tree (SfbPresenceNotify *notify, const char *data, gsize length, GError **error)
{
  g_autoptr (SfbXmlDoc) xml = sfb_svc_xml_parse (data, length, "presence list (rlmi)", error);
  g_autoptr (SfbPresenceNotify) none = sfb_presence_notify_new ();
  SfbXmlNode *root;

  if (xml == NULL)
    return FALSE;
  root = sfb_xml_doc_root (xml);
  if (!sfb_svc_xml_is (root, "list"))
    {
      g_set_error_literal (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The server's rlmi document is not a list");
      return FALSE;
    }
  for (SfbXmlNode *r = sfb_svc_xml_child (root, "resource"); r != NULL;
       r = sfb_svc_xml_next (r, "resource"))
    {
      g_autofree char *raw_uri = sfb_svc_xml_attr (r, "uri");
      SfbXmlNode *instance = sfb_svc_xml_child (r, "instance");
      g_autofree char *state = NULL;
      g_autofree char *pool = NULL;

      if (instance != NULL)
        {
          state = sfb_svc_xml_attr (instance, "state");
          pool = sfb_svc_xml_attr (instance, "poolFqdn");
        }
      sfb_presence_notify_add_resource (notify, none, raw_uri, instance != NULL, state, pool);
    }
  return TRUE;
}

static const SfbPresencePartReaders tree_readers = {
  parse_rlmi_tree,
  sfb_presence_parse_categories_tree,
};

SfbPresenceNotify *
sfb_presence_notify_parse_tree (const char *content_type,
                                const char *data,
                                gsize length,
                                GError **error)
{
  return sfb_presence_notify_parse_with (&tree_readers, content_type, data, length, error);
}

static gboolean
rlmi_expat (SfbPresenceNotify *notify, const char *data, gsize length, GError **error)
{
  return sfb_presence_parse_rlmi_with (SFB_PRESENCE_READ_EXPAT, notify, data, length, error);
}

static SfbPresenceInfo *
categories_expat (const char *data, gsize length, GError **error)
{
  return sfb_presence_parse_categories_with (SFB_PRESENCE_READ_EXPAT, data, length, error);
}

SfbPresenceNotify *
sfb_presence_notify_parse_expat (const char *content_type,
                                 const char *data,
                                 gsize length,
                                 GError **error)
{
  static const SfbPresencePartReaders expat_readers = { rlmi_expat, categories_expat };

  return sfb_presence_notify_parse_with (&expat_readers, content_type, data, length, error);
}
