/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the presence documents the server sends.  The first
 * byte chooses the parser: 0 roaming-self, 1 a 409 fault, 2 a presence
 * notification (multipart/related with rlmi and categories, boundary "b"),
 * 3 a categories document (read as an rlmi list too).  Notifications and
 * categories documents are read without a tree, by our own reader
 * (sfb_xml_read_fast()) else expat, as the daemon reads them, and by
 * expat alone; each is read with the tree too
 * (tests/oracle/sfb-presence-tree.h), and any difference aborts.  expat
 * and libxml2 must accept the same with the same callbacks (namespace
 * errors aside), and whatever our reader accepts, expat must accept, the
 * tree reader must read the same, and the callbacks must have seen the
 * same (tests/oracle/sfb-xml-events.h).
 */
#include "sfb-presence-tree.h"
#include "sfb-xml-events.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

static void
check_string (const char *s)
{
  if (s == NULL)
    return;
  if (!g_utf8_validate (s, -1, NULL))
    abort ();
  for (const char *p = s; *p; p++)
    if ((guchar) *p < 0x20)
      abort ();
}

static void
check_info (const SfbPresenceInfo *info)
{
  check_string (info->uri);
  check_string (info->activity);
  check_string (info->note);
  check_string (info->display_name);
  check_string (info->title);
  check_string (info->company);
  check_string (info->email);
  if (sfb_availability_from_code (info->availability, info->activity) == NULL)
    abort ();
}

static void
same_string (const char *a, const char *b)
{
  if (g_strcmp0 (a, b) != 0)
    abort ();
}

static void
same_info (const SfbPresenceInfo *a, const SfbPresenceInfo *b)
{
  same_string (a->uri, b->uri);
  same_string (a->activity, b->activity);
  same_string (a->note, b->note);
  same_string (a->display_name, b->display_name);
  same_string (a->title, b->title);
  same_string (a->company, b->company);
  same_string (a->email, b->email);
  if (a->availability != b->availability || a->automaton != b->automaton
      || a->has_card != b->has_card)
    abort ();
}

static void
same_error (const GError *a, const GError *b)
{
  if ((a == NULL) != (b == NULL) || (a != NULL && g_strcmp0 (a->message, b->message) != 0))
    abort ();
}

static void
same_notify (const SfbPresenceNotify *a, const SfbPresenceNotify *b)
{
  if ((a == NULL) != (b == NULL))
    abort ();
  if (a == NULL)
    return;
  if (a->presences->len != b->presences->len || a->resubscribe->len != b->resubscribe->len
      || a->terminated->len != b->terminated->len)
    abort ();
  for (guint i = 0; i < a->presences->len; i++)
    same_info (a->presences->pdata[i], b->presences->pdata[i]);
  for (guint i = 0; i < a->resubscribe->len; i++)
    {
      const SfbPresenceResubscribe *x = a->resubscribe->pdata[i];
      const SfbPresenceResubscribe *y = b->resubscribe->pdata[i];

      same_string (x->uri, y->uri);
      same_string (x->pool, y->pool);
    }
  for (guint i = 0; i < a->terminated->len; i++)
    same_string (a->terminated->pdata[i], b->terminated->pdata[i]);
}

/* Ours accepts only what libxml2 accepts, with the same callbacks. */
static void
same_events (const char *doc, gsize len)
{
  if (sfb_xml_events_compare (doc, len, &sfb_xml_events_svc_limits) == SFB_XML_EVENTS_DIFFERENT)
    abort ();
}

static void
same_categories (const SfbPresenceInfo *info,
                 const GError *error,
                 const SfbPresenceInfo *tree,
                 const GError *tree_error)
{
  if ((info == NULL) == (error == NULL))
    abort ();
  same_error (error, tree_error);
  if ((info == NULL) != (tree == NULL))
    abort ();
  if (info != NULL)
    same_info (info, tree);
}

/* The document as an rlmi list read by ours alone, against the tree. */
static void
same_rlmi (const char *doc, gsize len)
{
  g_autoptr (SfbPresenceNotify) fast = sfb_presence_notify_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) tree_error = NULL;
  g_autoptr (SfbPresenceNotify) tree = NULL;
  gboolean ok = sfb_presence_parse_rlmi_with (SFB_PRESENCE_READ_FAST, fast, doc, len, &error);

  if (!ok && error == NULL)
    return; /* given up */
  tree = sfb_presence_notify_parse_tree ("application/rlmi+xml", doc, len, &tree_error);
  if (ok != (tree != NULL))
    abort ();
  if (ok)
    same_notify (fast, tree);
  else
    same_error (error, tree_error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  const char *doc = (const char *) data + 1;
  gsize len = size > 0 ? size - 1 : 0;

  if (size == 0)
    return 0;
  switch (data[0] % 4)
    {
    case 0:
      {
        g_autoptr (SfbRoamingSelf) self = sfb_roaming_self_parse (doc, len, &error);
        g_autoptr (GHashTable) versions = sfb_pub_versions_new ();

        if ((self == NULL) == (error == NULL))
          abort ();
        if (self == NULL)
          break;
        if (self->categories->len > SFB_PRESENCE_MAX_CATEGORIES)
          abort ();
        if (self->self != NULL)
          check_info (self->self);
        if (self->mwi.state > SFB_MWI_REMOVED || self->mwi.unread > SFB_PRESENCE_MAX_VOICEMAILS
            || (self->mwi.state != SFB_MWI_SET && self->mwi.unread != 0))
          abort ();
        sfb_pub_versions_apply (versions, self);
        for (guint i = 0; i < self->subscribers->len; i++)
          check_string (((SfbSubscriber *) self->subscribers->pdata[i])->display_name);
        break;
      }
    case 1:
      {
        g_autofree char *code = NULL;
        g_autoptr (GArray) ops = NULL;

        if (sfb_presence_parse_fault (doc, len, &code, &ops, &error))
          {
            if (error != NULL || ops == NULL)
              abort ();
            check_string (code);
          }
        else if (error == NULL)
          abort ();
        break;
      }
    case 2:
      {
        const char *type = "multipart/related; type=\"application/rlmi+xml\"; boundary=\"b\"";
        g_autoptr (SfbPresenceNotify) n = sfb_presence_notify_parse (type, doc, len, &error);
        g_autoptr (GError) tree_error = NULL;
        g_autoptr (SfbPresenceNotify) tree
            = sfb_presence_notify_parse_tree (type, doc, len, &tree_error);
        g_autoptr (GError) libxml_error = NULL;
        g_autoptr (SfbPresenceNotify) libxml
            = sfb_presence_notify_parse_expat (type, doc, len, &libxml_error);

        if ((n == NULL) == (error == NULL))
          abort ();
        same_error (error, tree_error);
        same_notify (n, tree);
        same_error (libxml_error, tree_error);
        same_notify (libxml, tree);
        if (n == NULL)
          break;
        for (guint i = 0; i < n->presences->len; i++)
          check_info (n->presences->pdata[i]);
        for (guint i = 0; i < n->resubscribe->len; i++)
          {
            const SfbPresenceResubscribe *r = n->resubscribe->pdata[i];

            check_string (r->uri);
            check_string (r->pool);
          }
        break;
      }
    default:
      {
        g_autoptr (SfbPresenceInfo) info = sfb_presence_parse_categories (doc, len, &error);
        g_autoptr (GError) tree_error = NULL;
        g_autoptr (SfbPresenceInfo) tree
            = sfb_presence_parse_categories_tree (doc, len, &tree_error);
        g_autoptr (GError) fast_error = NULL;
        g_autoptr (SfbPresenceInfo) fast
            = sfb_presence_parse_categories_with (SFB_PRESENCE_READ_FAST, doc, len, &fast_error);
        g_autoptr (GError) libxml_error = NULL;
        g_autoptr (SfbPresenceInfo) libxml
            = sfb_presence_parse_categories_with (SFB_PRESENCE_READ_EXPAT, doc, len, &libxml_error);

        same_categories (info, error, tree, tree_error);
        same_categories (libxml, libxml_error, tree, tree_error);
        if (fast != NULL || fast_error != NULL)
          same_categories (fast, fast_error, tree, tree_error);
        same_events (doc, len);
        same_rlmi (doc, len);
        if (info != NULL)
          check_info (info);
        break;
      }
    }
  return 0;
}
