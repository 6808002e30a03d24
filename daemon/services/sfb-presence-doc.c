/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-presence-doc.h"

#include "sfb-contact-list.h"
#include "sfb-error.h"
#include "sfb-svc-xml.h"

#include <string.h>

#define NS_XSI "http://www.w3.org/2001/XMLSchema-instance"

/* ---- availability ---- */

const char *
sfb_availability_from_code (guint code, const char *activity)
{
  if (code >= 3000 && code < 6000)
    return code < 4500 ? "online" : "away"; /* 4500..5999: idle */
  if (code >= 6000 && code < 9000)
    return "busy";
  if (code >= 9000 && code < 12000)
    return "do-not-disturb";
  if (code >= 12000 && code < 15000)
    return "be-right-back";
  if (code >= 15000 && code < 18000)
    return g_strcmp0 (activity, "off-work") == 0 ? "off-work" : "away";
  return "offline";
}

gboolean
sfb_availability_to_code (const char *availability, guint *code, const char **activity)
{
  static const struct
  {
    const char *name;
    guint code;
    const char *activity;
  } table[] = {
    { "online", 3500, NULL },          { "busy", 6500, NULL },  { "do-not-disturb", 9500, NULL },
    { "be-right-back", 12500, NULL },  { "away", 15500, NULL }, { "off-work", 15500, "off-work" },
    { "appear-offline", 18000, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    if (g_strcmp0 (availability, table[i].name) == 0)
      {
        *code = table[i].code;
        *activity = table[i].activity;
        return TRUE;
      }
  return FALSE;
}

/* ---- categories ---- */

void
sfb_presence_info_free (SfbPresenceInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->uri);
  g_free (info->activity);
  g_free (info->note);
  g_free (info->display_name);
  g_free (info->title);
  g_free (info->company);
  g_free (info->email);
  g_free (info);
}

static char *
child_text (const xmlNode *node, const char *name)
{
  g_autofree char *raw = sfb_svc_xml_text (sfb_svc_xml_child (node, name));

  return raw != NULL && *raw != '\0' ? sfb_svc_clean_string (raw) : NULL;
}

static void
replace (char **field, char *value)
{
  g_free (*field);
  *field = value;
}

/* aggregateState beats userState beats machineState beats the rest. */
static int
state_rank (const char *type)
{
  if (type == NULL)
    return 0;
  if (g_str_equal (type, "aggregateState"))
    return 4;
  if (g_str_equal (type, "userState"))
    return 3;
  if (g_str_equal (type, "machineState"))
    return 2;
  return 1;
}

typedef struct
{
  int state_rank;
  int note_rank;
} CategoryRanks;

static void
read_state (SfbPresenceInfo *info, CategoryRanks *ranks, const xmlNode *state)
{
  g_autofree char *type = sfb_svc_xml_attr_ns (state, "type", NS_XSI);
  g_autofree char *avail = NULL;
  xmlNode *activity;
  guint64 code = 0;
  int rank;

  if (type == NULL)
    type = sfb_svc_xml_attr (state, "type");
  rank = state_rank (type);
  if (rank < ranks->state_rank)
    return;
  avail = sfb_svc_xml_text (sfb_svc_xml_child (state, "availability"));
  if (avail == NULL || !g_ascii_string_to_unsigned (avail, 10, 0, 99999, &code, NULL))
    return;
  ranks->state_rank = rank;
  info->availability = (guint) code;
  activity = sfb_svc_xml_child (state, "activity");
  replace (&info->activity, NULL);
  if (activity != NULL)
    {
      g_autofree char *token = sfb_svc_xml_attr (activity, "token");

      if (token != NULL && *token != '\0')
        info->activity = sfb_svc_clean_string (token);
    }
}

static void
read_note (SfbPresenceInfo *info, CategoryRanks *ranks, const xmlNode *note)
{
  xmlNode *chosen = NULL;
  int rank = 1;

  /* A personal note beats an out-of-office one, which beats the rest. */
  for (xmlNode *b = sfb_svc_xml_child (note, "body"); b != NULL; b = sfb_svc_xml_next (b, "body"))
    {
      g_autofree char *type = sfb_svc_xml_attr (b, "type");
      int r = g_strcmp0 (type, "personal") == 0 ? 3 : g_strcmp0 (type, "OOF") == 0 ? 2 : 1;

      if (chosen == NULL || r > rank)
        {
          chosen = b;
          rank = r;
        }
    }
  if (rank < ranks->note_rank)
    return;
  ranks->note_rank = rank;
  if (chosen == NULL)
    replace (&info->note, g_strdup (""));
  else
    {
      g_autofree char *raw = sfb_svc_xml_text (chosen);
      char *clean = sfb_svc_clean_string (raw);

      replace (&info->note, clean != NULL ? clean : g_strdup (""));
    }
}

static void
read_card (SfbPresenceInfo *info, const xmlNode *card)
{
  xmlNode *identity = sfb_svc_xml_child (card, "identity");
  xmlNode *name = sfb_svc_xml_child (identity, "name");
  char *value;

  info->has_card = TRUE;
  if ((value = child_text (name, "displayName")) != NULL)
    replace (&info->display_name, value);
  if ((value = child_text (identity, "email")) != NULL)
    replace (&info->email, value);
  if ((value = child_text (card, "title")) != NULL)
    replace (&info->title, value);
  if ((value = child_text (card, "company")) != NULL)
    replace (&info->company, value);
  if ((value = child_text (card, "automaton")) != NULL)
    {
      info->automaton = sfb_svc_xml_parse_bool (value);
      g_free (value);
    }
}

/* One <category>: what it says about the presentity. */
static void
read_category (SfbPresenceInfo *info, CategoryRanks *ranks, const xmlNode *category)
{
  g_autofree char *name = sfb_svc_xml_attr (category, "name");
  g_autofree char *instance = sfb_svc_xml_attr (category, "instance");
  xmlNode *content = sfb_svc_xml_child (category, NULL);

  if (name == NULL)
    return;
  if (g_str_equal (name, "note") && instance == NULL && content == NULL)
    {
      /* every note instance in that container is gone */
      if (ranks->note_rank == 0)
        replace (&info->note, g_strdup (""));
      return;
    }
  if (g_str_equal (name, "state") && sfb_svc_xml_is (content, "state"))
    read_state (info, ranks, content);
  else if (g_str_equal (name, "note") && sfb_svc_xml_is (content, "note"))
    read_note (info, ranks, content);
  else if (g_str_equal (name, "contactCard") && sfb_svc_xml_is (content, "contactCard"))
    read_card (info, content);
}

static SfbPresenceInfo *
read_categories (const xmlNode *categories, const char *uri_fallback)
{
  g_autoptr (SfbPresenceInfo) info = g_new0 (SfbPresenceInfo, 1);
  g_autofree char *raw_uri = sfb_svc_xml_attr (categories, "uri");
  CategoryRanks ranks = { 0, 0 };
  guint n = 0;

  info->uri = sfb_contact_normalize_uri (raw_uri != NULL ? raw_uri : uri_fallback);
  for (xmlNode *c = sfb_svc_xml_child (categories, "category");
       c != NULL && n < SFB_PRESENCE_MAX_CATEGORIES;
       c = sfb_svc_xml_next (c, "category"), n++)
    read_category (info, &ranks, c);
  return g_steal_pointer (&info);
}

SfbPresenceInfo *
sfb_presence_parse_categories (const char *data, gsize length, GError **error)
{
  g_autoptr (xmlDoc) xml = sfb_svc_xml_parse (data, length, "presence categories", error);
  g_autoptr (SfbPresenceInfo) info = NULL;
  xmlNode *root;

  if (xml == NULL)
    return NULL;
  root = xmlDocGetRootElement (xml);
  if (!sfb_svc_xml_is (root, "categories"))
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_FAILED,
                           "The server's presence document is not a categories document");
      return NULL;
    }
  info = read_categories (root, NULL);
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

/* ---- notifications ---- */

static void
resubscribe_free (SfbPresenceResubscribe *r)
{
  g_free (r->uri);
  g_free (r->pool);
  g_free (r);
}

void
sfb_presence_notify_free (SfbPresenceNotify *notify)
{
  if (notify == NULL)
    return;
  g_ptr_array_unref (notify->presences);
  g_ptr_array_unref (notify->resubscribe);
  g_ptr_array_unref (notify->terminated);
  g_free (notify);
}

static SfbPresenceNotify *
notify_new (void)
{
  SfbPresenceNotify *n = g_new0 (SfbPresenceNotify, 1);

  n->presences = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_presence_info_free);
  n->resubscribe = g_ptr_array_new_with_free_func ((GDestroyNotify) resubscribe_free);
  n->terminated = g_ptr_array_new_with_free_func (g_free);
  return n;
}

/* A DNS name for poolFqdn, else NULL. */
static char *
clean_fqdn (const char *value)
{
  gsize len = value != NULL ? strlen (value) : 0;

  if (len == 0 || len > 253)
    return NULL;
  for (const char *p = value; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      return NULL;
  return g_ascii_strdown (value, -1);
}

static gboolean
parse_rlmi (SfbPresenceNotify *notify, const char *data, gsize length, GError **error)
{
  g_autoptr (xmlDoc) xml = sfb_svc_xml_parse (data, length, "presence list (rlmi)", error);
  xmlNode *root;

  if (xml == NULL)
    return FALSE;
  root = xmlDocGetRootElement (xml);
  if (!sfb_svc_xml_is (root, "list"))
    {
      g_set_error_literal (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The server's rlmi document is not a list");
      return FALSE;
    }
  for (xmlNode *r = sfb_svc_xml_child (root, "resource"); r != NULL;
       r = sfb_svc_xml_next (r, "resource"))
    {
      g_autofree char *raw_uri = sfb_svc_xml_attr (r, "uri");
      g_autofree char *uri = sfb_contact_normalize_uri (raw_uri);
      xmlNode *instance = sfb_svc_xml_child (r, "instance");
      g_autofree char *state = NULL;

      if (uri == NULL || instance == NULL)
        continue;
      state = sfb_svc_xml_attr (instance, "state");
      if (g_strcmp0 (state, "resubscribe") == 0
          && notify->resubscribe->len < SFB_CONTACTS_MAX_CONTACTS)
        {
          g_autofree char *pool = sfb_svc_xml_attr (instance, "poolFqdn");
          SfbPresenceResubscribe *re = g_new0 (SfbPresenceResubscribe, 1);

          re->uri = g_steal_pointer (&uri);
          re->pool = clean_fqdn (pool);
          g_ptr_array_add (notify->resubscribe, re);
        }
      else if (g_strcmp0 (state, "terminated") == 0
               && notify->terminated->len < SFB_CONTACTS_MAX_CONTACTS)
        g_ptr_array_add (notify->terminated, g_steal_pointer (&uri));
    }
  return TRUE;
}

static gboolean
parse_categories_part (SfbPresenceNotify *notify, const char *data, gsize length, GError **error)
{
  g_autoptr (SfbPresenceInfo) info = sfb_presence_parse_categories (data, length, error);

  if (info == NULL)
    return FALSE;
  g_ptr_array_add (notify->presences, g_steal_pointer (&info));
  return TRUE;
}

/* Content-Type parameter @name (quotes removed), or NULL. */
static char *
content_type_param (const char *content_type, const char *name)
{
  g_auto (GStrv) params = g_strsplit (content_type, ";", 32);

  for (guint i = 1; params[i] != NULL; i++)
    {
      char *eq = strchr (params[i], '=');
      g_autofree char *key = NULL;
      char *value;
      gsize len;

      if (eq == NULL)
        continue;
      key = g_strstrip (g_strndup (params[i], eq - params[i]));
      if (g_ascii_strcasecmp (key, name) != 0)
        continue;
      value = g_strstrip (g_strdup (eq + 1));
      len = strlen (value);
      if (len >= 2 && value[0] == '"' && value[len - 1] == '"')
        {
          memmove (value, value + 1, len - 2);
          value[len - 2] = '\0';
        }
      return value;
    }
  return NULL;
}

/* The media type, lower case, without parameters. */
static char *
media_type (const char *content_type)
{
  const char *semi = strchr (content_type, ';');
  g_autofree char *type = g_strndup (
      content_type, semi != NULL ? (gsize) (semi - content_type) : strlen (content_type));

  return g_ascii_strdown (g_strstrip (type), -1);
}

static const char *
find_bytes (const char *hay, gsize hay_len, const char *needle, gsize needle_len)
{
  return memmem (hay, hay_len, needle, needle_len);
}

static gboolean
parse_multipart (SfbPresenceNotify *notify,
                 const char *content_type,
                 const char *data,
                 gsize length,
                 GError **error)
{
  g_autofree char *boundary = content_type_param (content_type, "boundary");
  g_autofree char *delim = NULL;
  gsize delim_len;
  const char *end = data + length;
  const char *p;
  guint parts = 0;

  if (boundary == NULL || *boundary == '\0' || strlen (boundary) > 200)
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_FAILED,
                           "The server's multipart presence notification has no boundary");
      return FALSE;
    }
  delim = g_strconcat ("--", boundary, NULL);
  delim_len = strlen (delim);
  p = find_bytes (data, length, delim, delim_len);
  while (p != NULL)
    {
      const char *head = p + delim_len;
      const char *body;
      const char *next;
      const char *body_end;
      g_autofree char *headers = NULL;
      g_autofree char *part_type = NULL;
      g_auto (GStrv) lines = NULL;
      const char *sep;

      if (end - head >= 2 && head[0] == '-' && head[1] == '-')
        break; /* closing delimiter */
      if (++parts > SFB_PRESENCE_MAX_PARTS)
        {
          g_set_error_literal (error,
                               SFB_ERROR,
                               SFB_ERROR_FAILED,
                               "The server's multipart presence notification has too many parts");
          return FALSE;
        }
      sep = find_bytes (head, end - head, "\r\n\r\n", 4);
      if (sep == NULL)
        break;
      body = sep + 4;
      next = find_bytes (body, end - body, delim, delim_len);
      body_end = next != NULL ? next : end;
      /* The CRLF before a delimiter belongs to it; servers add an empty
       * line too (sfbsim documents.multipart_related): XML ignores it. */
      if (body_end - body >= 2 && body_end[-2] == '\r' && body_end[-1] == '\n')
        body_end -= 2;
      headers = g_strndup (head, sep - head);
      lines = g_strsplit (headers, "\r\n", 64);
      for (guint i = 0; lines[i] != NULL; i++)
        if (g_ascii_strncasecmp (lines[i], "Content-Type:", 13) == 0 && part_type == NULL)
          part_type = media_type (lines[i] + 13);
      if (part_type != NULL && body_end > body)
        {
          g_autoptr (GError) local = NULL;
          gboolean ok = TRUE;

          if (g_str_equal (part_type, SFB_CT_RLMI))
            ok = parse_rlmi (notify, body, body_end - body, &local);
          else if (g_str_equal (part_type, SFB_CT_EVENT_CATEGORIES))
            ok = parse_categories_part (notify, body, body_end - body, &local);
          /* One bad part must not hide everyone else's presence. */
          if (!ok)
            g_debug ("Skipping a presence part: %s", local->message);
        }
      p = next;
    }
  return TRUE;
}

SfbPresenceNotify *
sfb_presence_notify_parse (const char *content_type, const char *data, gsize length, GError **error)
{
  g_autoptr (SfbPresenceNotify) notify = notify_new ();
  g_autofree char *type = NULL;

  if (content_type == NULL)
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_FAILED,
                           "The server's presence notification has no Content-Type");
      return NULL;
    }
  if (length > SFB_SVC_XML_MAX_DOCUMENT * 4)
    {
      g_set_error_literal (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The server's presence notification is too large");
      return NULL;
    }
  type = media_type (content_type);
  if (g_str_equal (type, "multipart/related") || g_str_equal (type, "multipart/mixed"))
    {
      if (!parse_multipart (notify, content_type, data, length, error))
        return NULL;
    }
  else if (g_str_equal (type, SFB_CT_EVENT_CATEGORIES))
    {
      if (!parse_categories_part (notify, data, length, error))
        return NULL;
    }
  else if (g_str_equal (type, SFB_CT_RLMI))
    {
      if (!parse_rlmi (notify, data, length, error))
        return NULL;
    }
  else
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "The server's presence notification has an unsupported type (%s)",
                   type);
      return NULL;
    }
  return g_steal_pointer (&notify);
}

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

static void
read_self_categories (SfbRoamingSelf *self, const xmlNode *categories)
{
  g_autoptr (SfbPresenceInfo) info = g_new0 (SfbPresenceInfo, 1);
  CategoryRanks ranks = { 0, 0 };

  self->has_categories = TRUE;
  for (xmlNode *c = sfb_svc_xml_child (categories, "category");
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

      /* The own aggregate comes from the server's aggregateState; the
       * note from the containers watchers see. */
      read_category (info, &ranks, c);
    }
  self->self = g_steal_pointer (&info);
}

SfbRoamingSelf *
sfb_roaming_self_parse (const char *data, gsize length, GError **error)
{
  g_autoptr (xmlDoc) xml = sfb_svc_xml_parse (data, length, "roaming-self", error);
  g_autoptr (SfbRoamingSelf) self = NULL;
  xmlNode *root;
  xmlNode *node;

  if (xml == NULL)
    return NULL;
  root = xmlDocGetRootElement (xml);
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
      for (xmlNode *s = sfb_svc_xml_child (node, "subscriber");
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

/* ---- publishing ---- */

typedef struct
{
  char *name;
  guint32 instance;
  guint container;
  guint version;
  char *expire_type;
  char *content;
} Publication;

struct _SfbPublish
{
  char *uri;
  GPtrArray *publications;
};

static void
publication_free (Publication *p)
{
  g_free (p->name);
  g_free (p->expire_type);
  g_free (p->content);
  g_free (p);
}

SfbPublish *
sfb_publish_new (const char *uri)
{
  SfbPublish *publish = g_new0 (SfbPublish, 1);

  publish->uri = g_strdup (uri);
  publish->publications = g_ptr_array_new_with_free_func ((GDestroyNotify) publication_free);
  return publish;
}

void
sfb_publish_free (SfbPublish *publish)
{
  if (publish == NULL)
    return;
  g_free (publish->uri);
  g_ptr_array_unref (publish->publications);
  g_free (publish);
}

void
sfb_publish_add (SfbPublish *publish,
                 const char *name,
                 guint32 instance,
                 guint container,
                 guint version,
                 const char *expire_type,
                 const char *content)
{
  Publication *p = g_new0 (Publication, 1);

  p->name = g_strdup (name);
  p->instance = instance;
  p->container = container;
  p->version = version;
  p->expire_type = g_strdup (expire_type);
  p->content = g_strdup (content);
  g_ptr_array_add (publish->publications, p);
}

guint
sfb_publish_get_length (SfbPublish *publish)
{
  return publish->publications->len;
}

const char *
sfb_publish_get_key (SfbPublish *publish, guint index, guint32 *instance, guint *container)
{
  const Publication *p;

  if (index == 0 || index > publish->publications->len)
    return NULL;
  p = publish->publications->pdata[index - 1];
  *instance = p->instance;
  *container = p->container;
  return p->name;
}

GBytes *
sfb_publish_to_bytes (SfbPublish *publish)
{
  GString *out = g_string_new (NULL);
  g_autofree char *uri = g_markup_escape_text (publish->uri, -1);

  g_string_append_printf (out,
                          "<publish xmlns=\"http://schemas.microsoft.com/2006/09/sip/"
                          "rich-presence\"><publications uri=\"%s\">",
                          uri);
  for (guint i = 0; i < publish->publications->len; i++)
    {
      const Publication *p = publish->publications->pdata[i];

      g_string_append_printf (out,
                              "<publication categoryName=\"%s\" instance=\"%u\" "
                              "container=\"%u\" version=\"%u\" expireType=\"%s\"",
                              p->name,
                              p->instance,
                              p->container,
                              p->version,
                              p->expire_type);
      if (p->content == NULL)
        g_string_append (out, " expires=\"0\"/>");
      else
        g_string_append_printf (out, ">%s</publication>", p->content);
    }
  g_string_append (out, "</publications></publish>");
  return g_string_free_to_bytes (out);
}

static guint32
epid_prefix (const char *epid)
{
  char hex[9] = { 0 };
  guint64 value = 0;

  if (epid != NULL)
    strncpy (hex, epid, 8);
  if (!g_ascii_string_to_unsigned (hex, 16, 0, G_MAXUINT32, &value, NULL))
    return 0;
  return (guint32) value;
}

guint32
sfb_presence_device_instance (const char *epid)
{
  return epid_prefix (epid);
}

guint32
sfb_presence_machine_state_instance (const char *epid)
{
  return 0x30000000u | (epid_prefix (epid) >> 4);
}

char *
sfb_presence_device_xml (const char *uri,
                         const char *instance_uuid,
                         const char *machine_name,
                         const char *time_zone)
{
  g_autofree char *u = g_markup_escape_text (uri, -1);
  g_autofree char *id = g_markup_escape_text (instance_uuid != NULL ? instance_uuid : "", -1);
  g_autofree char *host = g_markup_escape_text (machine_name != NULL ? machine_name : "", -1);
  g_autofree char *tz = g_markup_escape_text (time_zone != NULL ? time_zone : "00:00:00+00:00", -1);

  return g_strdup_printf (
      "<device xmlns=\"http://schemas.microsoft.com/2006/09/sip/device\" endpointId=\"%s\">"
      "<capabilities preferred=\"false\" uri=\"%s\">"
      "<text capture=\"true\" render=\"true\" publish=\"false\"/>"
      "<gifInk capture=\"false\" render=\"true\" publish=\"false\"/>"
      "<isfInk capture=\"false\" render=\"true\" publish=\"false\"/>"
      "</capabilities><timezone>%s</timezone><machineName>%s</machineName></device>",
      id,
      u,
      tz,
      host);
}

char *
sfb_presence_state_xml (const char *type, gboolean manual, guint availability, const char *activity)
{
  g_autofree char *act = NULL;

  if (activity != NULL && *activity != '\0')
    {
      g_autofree char *token = g_markup_escape_text (activity, -1);
      act = g_strdup_printf ("<activity token=\"%s\"/>", token);
    }
  return g_strdup_printf (
      "<state xmlns=\"http://schemas.microsoft.com/2006/09/sip/state\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" manual=\"%s\" xsi:type=\"%s\">"
      "<availability>%u</availability>%s<endpointLocation/></state>",
      manual ? "true" : "false",
      type,
      availability,
      act != NULL ? act : "");
}

char *
sfb_presence_note_xml (const char *note)
{
  g_autofree char *text = g_markup_escape_text (note, -1);

  return g_strdup_printf ("<note xmlns=\"http://schemas.microsoft.com/2006/09/sip/note\">"
                          "<body type=\"personal\" uri=\"\">%s</body></note>",
                          text);
}

gboolean
sfb_presence_parse_fault (
    const char *data, gsize length, char **faultcode, GArray **operations, GError **error)
{
  g_autoptr (xmlDoc) xml = sfb_svc_xml_parse (data, length, "publication fault", error);
  g_autoptr (GArray) ops = NULL;
  xmlNode *root;

  if (xml == NULL)
    return FALSE;
  root = xmlDocGetRootElement (xml);
  if (!sfb_svc_xml_is (root, "Fault"))
    {
      g_set_error_literal (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The server's 409 body is not a Fault document");
      return FALSE;
    }
  ops = g_array_new (FALSE, FALSE, sizeof (SfbFaultOperation));
  for (xmlNode *o = sfb_svc_xml_child (sfb_svc_xml_child (root, "details"), "operation");
       o != NULL && ops->len < SFB_PRESENCE_MAX_CATEGORIES;
       o = sfb_svc_xml_next (o, "operation"))
    {
      guint64 index = 0, cur = 0;
      SfbFaultOperation op;

      if (!sfb_svc_xml_attr_uint (o, "index", G_MAXUINT32, &index)
          || !sfb_svc_xml_attr_uint (o, "curVersion", G_MAXUINT32, &cur))
        continue;
      op.index = (guint) index;
      op.cur_version = (guint) cur;
      g_array_append_val (ops, op);
    }
  if (faultcode != NULL)
    {
      g_autofree char *raw = sfb_svc_xml_text (sfb_svc_xml_child (root, "Faultcode"));
      *faultcode = sfb_svc_clean_string (raw);
    }
  if (operations != NULL)
    *operations = g_steal_pointer (&ops);
  return TRUE;
}

GBytes *
sfb_presence_batch_subscribe_body (const char *self_uri, const char *const *uris)
{
  GString *out = g_string_new (NULL);
  g_autofree char *me = g_markup_escape_text (self_uri, -1);

  g_string_append_printf (out,
                          "<batchSub xmlns=\"http://schemas.microsoft.com/2006/01/sip/"
                          "batch-subscribe\" uri=\"%s\" name=\"\">"
                          "<action name=\"subscribe\" id=\"%u\"><adhocList>",
                          me,
                          g_random_int_range (1, G_MAXINT));
  for (guint i = 0; uris != NULL && uris[i] != NULL; i++)
    {
      g_autofree char *u = g_markup_escape_text (uris[i], -1);
      g_string_append_printf (out, "<resource uri=\"%s\"/>", u);
    }
  g_string_append (out,
                   "</adhocList><categoryList xmlns=\"http://schemas.microsoft.com/2006/09/sip/"
                   "categorylist\"><category name=\"calendarData\"/>"
                   "<category name=\"contactCard\"/><category name=\"note\"/>"
                   "<category name=\"state\"/></categoryList></action></batchSub>");
  return g_string_free_to_bytes (out);
}

GBytes *
sfb_presence_set_subscribers_body (const char *const *users)
{
  GString *out = g_string_new ("<setSubscribers xmlns=\"http://schemas.microsoft.com/2006/09/sip/"
                               "presence-subscribers\">");

  for (guint i = 0; users != NULL && users[i] != NULL; i++)
    {
      g_autofree char *u = g_markup_escape_text (users[i], -1);
      g_string_append_printf (out, "<subscriber user=\"%s\" acknowledged=\"true\"/>", u);
    }
  g_string_append (out, "</setSubscribers>");
  return g_string_free_to_bytes (out);
}
