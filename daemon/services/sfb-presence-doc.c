/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-presence-doc-private.h"

#include "sfb-contact-list.h"
#include "sfb-content-type.h"
#include "sfb-error.h"

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
  if (rank < ranks->state_rank || (ranks->own && rank < 2))
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
void
sfb_presence_read_category (SfbPresenceInfo *info, CategoryRanks *ranks, const xmlNode *category)
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
  CategoryRanks ranks = { 0, 0, FALSE };
  guint n = 0;

  info->uri = sfb_contact_normalize_uri (raw_uri != NULL ? raw_uri : uri_fallback);
  for (xmlNode *c = sfb_svc_xml_child (categories, "category");
       c != NULL && n < SFB_PRESENCE_MAX_CATEGORIES;
       c = sfb_svc_xml_next (c, "category"), n++)
    sfb_presence_read_category (info, &ranks, c);
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

static const char *
find_bytes (const char *hay, gsize hay_len, const char *needle, gsize needle_len)
{
  return memmem (hay, hay_len, needle, needle_len);
}

/* One part of a multipart notification: its headers from @head to @sep,
 * its body from @body to @body_end. */
static void
parse_part (SfbPresenceNotify *notify,
            const char *head,
            const char *sep,
            const char *body,
            const char *body_end)
{
  g_autofree char *headers = NULL;
  g_autofree char *part_type = NULL;
  g_auto (GStrv) lines = NULL;

  headers = g_strndup (head, sep - head);
  lines = g_strsplit (headers, "\r\n", 64);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_ascii_strncasecmp (lines[i], "Content-Type:", 13) == 0 && part_type == NULL)
      part_type = sfb_content_type_media (lines[i] + 13);
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
}

static gboolean
parse_multipart (SfbPresenceNotify *notify,
                 const char *content_type,
                 const char *data,
                 gsize length,
                 GError **error)
{
  g_autofree char *boundary = sfb_content_type_param (content_type, "boundary");
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
      parse_part (notify, head, sep, body, body_end);
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
  type = sfb_content_type_media (content_type);
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
