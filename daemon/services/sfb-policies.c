/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-policies.h"

#include "sfb-error.h"
#include "sfb-log.h"
#include "sfb-xml.h"

#include <string.h>

#define NS_REQUEST "http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist"

/* MS-SIPREGE 2.2.2.4 plus persistentChatConfiguration (SIPE) and
 * mobilityPolicy (UCMA) */
static const char *const all_groups[] = {
  "ServerConfiguration",
  "meetingPolicy",
  "ucPolicy",
  "publicationGrammar",
  "userSetting",
  "endpointConfiguration",
  "locationPolicy",
  "mediaConfiguration",
  "presencePolicyV2",
  "privacyPublicationGrammar",
  "publicProviders",
  "persistentChatConfiguration",
  "mobilityPolicy",
};

GBytes *
sfb_policies_request_body (void)
{
  GString *body = g_string_new ("<provisioningGroupList xmlns=\"" NS_REQUEST "\">");

  for (guint i = 0; i < G_N_ELEMENTS (all_groups); i++)
    g_string_append_printf (body, "<provisioningGroup name=\"%s\"/>", all_groups[i]);
  g_string_append (body, "</provisioningGroupList>");
  return g_string_free_to_bytes (body);
}

static gboolean
is_element (SfbXmlNode *node, const char *name)
{
  return node->type == SFB_XML_NODE_ELEMENT
         && (name == NULL || strcmp ((const char *) node->name, name) == 0);
}

static gboolean
has_element_children (SfbXmlNode *node)
{
  for (SfbXmlNode *c = node->children; c != NULL; c = c->next)
    if (c->type == SFB_XML_NODE_ELEMENT)
      return TRUE;
  return FALSE;
}

static const SfbXmlLimits limits = {
  .max_document = SFB_POLICIES_MAX_DOCUMENT,
  .max_depth = SFB_POLICIES_MAX_DEPTH,
};

static char *
text_of (SfbXmlNode *node)
{
  char *text = g_strstrip (sfb_xml_node_text (node));

  if (!g_utf8_validate (text, -1, NULL))
    {
      char *valid = g_utf8_make_valid (text, -1);

      g_free (text);
      return valid;
    }
  return text;
}

static gboolean
over_limit (GError **error, const char *what, guint limit)
{
  g_set_error (error,
               SFB_ERROR,
               SFB_ERROR_SERVER_REJECTED,
               "The provisioning document has more than %u %s",
               limit,
               what);
  return FALSE;
}

/* PublicProviders (MS-SIPREGE 2.2.2.5.12), carried as text */
static GVariant *
parse_public_providers (const char *text)
{
  g_autoptr (SfbXmlDoc) doc = NULL;
  SfbXmlNode *root;
  GVariantBuilder providers;
  SfbXmlVerdict verdict;
  guint n = 0;

  doc = sfb_xml_read (text, strlen (text), &limits, &verdict);
  if (doc == NULL || !is_element (root = sfb_xml_doc_root (doc), "PublicProviders"))
    return NULL;
  g_variant_builder_init (&providers, G_VARIANT_TYPE ("aa{sv}"));
  for (SfbXmlNode *p = root->children; p != NULL; p = p->next)
    {
      GVariantBuilder provider;
      guint n_keys = 0;

      if (!is_element (p, NULL))
        continue;
      if (++n > SFB_POLICIES_MAX_PROVIDERS)
        {
          g_variant_builder_clear (&providers);
          return NULL;
        }
      g_variant_builder_init (&provider, G_VARIANT_TYPE_VARDICT);
      for (SfbXmlNode *c = p->children; c != NULL; c = c->next)
        {
          g_autofree char *value = NULL;

          if (!is_element (c, NULL) || ++n_keys > SFB_POLICIES_MAX_PROPERTIES)
            continue;
          value = text_of (c);
          g_variant_builder_add (
              &provider, "{sv}", (const char *) c->name, g_variant_new_string (value));
        }
      g_variant_builder_add_value (&providers, g_variant_builder_end (&provider));
    }
  return g_variant_builder_end (&providers);
}

static GVariant *
property_value (SfbXmlNode *property, const char *name, GError **error)
{
  g_autofree char *text = NULL;

  if (has_element_children (property))
    {
      GVariantBuilder values;
      guint n = 0;
      gboolean elements = FALSE;

      for (SfbXmlNode *c = property->children; c != NULL; c = c->next)
        elements = elements || is_element (c, "element");
      if (elements)
        {
          g_variant_builder_init (&values, G_VARIANT_TYPE_STRING_ARRAY);
          for (SfbXmlNode *c = property->children; c != NULL; c = c->next)
            {
              g_autofree char *value = NULL;

              if (!is_element (c, "element"))
                continue;
              if (++n > SFB_POLICIES_MAX_VALUES)
                {
                  g_variant_builder_clear (&values);
                  over_limit (error, "values in one property", SFB_POLICIES_MAX_VALUES);
                  return NULL;
                }
              value = text_of (c);
              g_variant_builder_add (&values, "s", value);
            }
          return g_variant_builder_end (&values);
        }
    }
  text = text_of (property);
  if (g_strcmp0 (name, "publicProviders") == 0)
    {
      GVariant *providers = parse_public_providers (text);

      if (providers != NULL)
        return providers;
    }
  return g_variant_new_string (text);
}

static gboolean
add_property (
    GVariantBuilder *group, GHashTable *seen, const char *name, SfbXmlNode *node, GError **error)
{
  GVariant *value;

  if (name == NULL || *name == '\0' || !g_utf8_validate (name, -1, NULL)
      || g_hash_table_contains (seen, name))
    return TRUE; /* nameless or repeated: the first one counts */
  if (g_hash_table_size (seen) >= SFB_POLICIES_MAX_PROPERTIES)
    return over_limit (error, "properties in one group", SFB_POLICIES_MAX_PROPERTIES);
  value = property_value (node, name, error);
  if (value == NULL)
    return FALSE;
  g_hash_table_add (seen, g_strdup (name));
  g_variant_builder_add (group, "{sv}", name, value);
  return TRUE;
}

static gboolean
add_property_list (GVariantBuilder *group, GHashTable *seen, SfbXmlNode *holder, GError **error)
{
  for (SfbXmlNode *p = holder->children; p != NULL; p = p->next)
    {
      if (!is_element (p, "property"))
        continue;
      if (!add_property (group, seen, sfb_xml_node_attr_any_ns (p, "name"), p, error))
        return FALSE;
    }
  return TRUE;
}

static GVariant *
parse_group (SfbXmlNode *node, GError **error)
{
  GVariantBuilder group;
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_variant_builder_init (&group, G_VARIANT_TYPE_VARDICT);
  for (SfbXmlNode *c = node->children; c != NULL; c = c->next)
    {
      gboolean ok;

      if (!is_element (c, NULL))
        continue;
      if (is_element (c, "instance") || is_element (c, "propertyEntryList"))
        ok = add_property_list (&group, seen, c, error);
      else
        ok = add_property (&group, seen, (const char *) c->name, c, error);
      if (!ok)
        {
          g_variant_builder_clear (&group);
          return NULL;
        }
    }
  return g_variant_builder_end (&group);
}

/* Kept for the session: as one serialised block, not a tree of an
 * instance, its bytes and its string for each value (~45 kB for a usual
 * provisioning document, ~8 kB serialised) */
static GVariant *
serialised (GVariant *value)
{
  g_variant_get_data (value);
  return value;
}

GVariant *
sfb_policies_parse (const char *data, gsize length, GError **error)
{
  g_autoptr (SfbXmlDoc) doc = NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GVariantBuilder groups;
  SfbXmlVerdict verdict;
  SfbXmlNode *root;

  doc = sfb_xml_read (data, length, &limits, &verdict);
  if (verdict == SFB_XML_TOO_LARGE)
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_SERVER_REJECTED,
                   "The provisioning document is larger than %u bytes",
                   SFB_POLICIES_MAX_DOCUMENT);
      return NULL;
    }
  if (verdict == SFB_XML_DTD)
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_SERVER_REJECTED,
                           "The provisioning document has a DTD, which is not accepted");
      return NULL;
    }
  if (verdict == SFB_XML_TOO_DEEP)
    {
      over_limit (error, "levels of elements", SFB_POLICIES_MAX_DEPTH);
      return NULL;
    }
  root = doc != NULL ? sfb_xml_doc_root (doc) : NULL;
  if (root == NULL || !is_element (root, "provisionGroupList"))
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_SERVER_REJECTED,
                           "The provisioning document is not a provisionGroupList");
      return NULL;
    }
  g_variant_builder_init (&groups, G_VARIANT_TYPE ("a{sa{sv}}"));
  for (SfbXmlNode *g = root->children; g != NULL; g = g->next)
    {
      const char *name;
      GVariant *group;

      if (!is_element (g, "provisionGroup"))
        continue;
      name = sfb_xml_node_attr_any_ns (g, "name");
      if (name == NULL || *name == '\0' || !g_utf8_validate (name, -1, NULL)
          || g_hash_table_contains (seen, name))
        continue;
      if (g_hash_table_size (seen) >= SFB_POLICIES_MAX_GROUPS)
        {
          g_variant_builder_clear (&groups);
          over_limit (error, "groups", SFB_POLICIES_MAX_GROUPS);
          return NULL;
        }
      g_hash_table_add (seen, g_strdup (name));
      group = parse_group (g, error);
      if (group == NULL)
        {
          g_variant_builder_clear (&groups);
          return NULL;
        }
      g_variant_builder_add (&groups, "{s@a{sv}}", name, group);
    }
  return serialised (g_variant_ref_sink (g_variant_builder_end (&groups)));
}

char *
sfb_policies_dup_string (GVariant *policies, const char *group, const char *name)
{
  g_autoptr (GVariant) values = NULL;
  g_autoptr (GVariant) value = NULL;

  if (policies == NULL)
    return NULL;
  values = g_variant_lookup_value (policies, group, G_VARIANT_TYPE_VARDICT);
  if (values == NULL)
    return NULL;
  value = g_variant_lookup_value (values, name, G_VARIANT_TYPE_STRING);
  if (value == NULL)
    return NULL;
  return g_variant_dup_string (value, NULL);
}

GVariant *
sfb_policies_merge (GVariant *base, GVariant *update)
{
  GVariantBuilder merged;
  GVariantIter iter;
  const char *name;
  GVariant *group;

  if (base == NULL)
    return g_variant_ref (update);
  g_variant_builder_init (&merged, G_VARIANT_TYPE ("a{sa{sv}}"));
  g_variant_iter_init (&iter, base);
  while (g_variant_iter_next (&iter, "{&s@a{sv}}", &name, &group))
    {
      g_autoptr (GVariant) newer = g_variant_lookup_value (update, name, G_VARIANT_TYPE_VARDICT);

      g_variant_builder_add (&merged, "{s@a{sv}}", name, newer != NULL ? newer : group);
      g_variant_unref (group);
    }
  g_variant_iter_init (&iter, update);
  while (g_variant_iter_next (&iter, "{&s@a{sv}}", &name, &group))
    {
      g_autoptr (GVariant) older = g_variant_lookup_value (base, name, G_VARIANT_TYPE_VARDICT);

      if (older == NULL)
        g_variant_builder_add (&merged, "{s@a{sv}}", name, group);
      g_variant_unref (group);
    }
  return g_variant_ref_sink (g_variant_builder_end (&merged));
}
