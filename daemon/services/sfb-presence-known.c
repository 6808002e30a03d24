/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-presence-known.h"

#include <string.h>

/* The strings kept in an entry's own block lie between its uri and the
 * end of the display name stored after it; they are never freed alone. */
static gboolean
in_block (const SfbPresenceInfo *known, const char *field)
{
  guintptr start = (guintptr) known->uri;
  guintptr p = (guintptr) field;

  return p > start && p <= start + strlen (known->uri) + 1;
}

static void
release (const SfbPresenceInfo *known, char **field)
{
  if (*field != NULL && !in_block (known, *field))
    g_free (*field);
  *field = NULL;
}

/* "sip:bob@contoso.test" holds "bob@contoso.test" */
static char *
email_in_uri (const SfbPresenceInfo *known, const char *email)
{
  return email != NULL && g_str_has_prefix (known->uri, "sip:")
                 && g_str_equal (known->uri + 4, email)
             ? known->uri + 4
             : NULL;
}

static void
known_free (SfbPresenceInfo *known)
{
  g_clear_pointer (&known->activity, g_ref_string_release);
  g_free (known->note);
  release (known, &known->display_name);
  g_clear_pointer (&known->title, g_ref_string_release);
  g_clear_pointer (&known->company, g_ref_string_release);
  release (known, &known->email);
  g_free (known);
}

/* The entry whose uri this is: the uri follows its entry (known_new) */
static SfbPresenceInfo *
known_of_uri (gpointer uri)
{
  return (SfbPresenceInfo *) uri - 1;
}

static void
known_free_by_uri (gpointer uri)
{
  known_free (known_of_uri (uri));
}

GHashTable *
sfb_presence_known_new (void)
{
  /* a set of the entries' uris (each its own value: no values array),
   * hashed as strings like any uri table, at the same cost per lookup */
  return g_hash_table_new_full (g_str_hash, g_str_equal, known_free_by_uri, NULL);
}

const SfbPresenceInfo *
sfb_presence_known_lookup (GHashTable *known, const char *normalized_uri)
{
  gpointer uri = normalized_uri != NULL ? g_hash_table_lookup (known, normalized_uri) : NULL;

  return uri != NULL ? known_of_uri (uri) : NULL;
}

/* The uri and the first display name in one block with the entry */
static SfbPresenceInfo *
known_new (const SfbPresenceInfo *update)
{
  const char *name = update->has_card ? update->display_name : NULL;
  gsize uri_size = strlen (update->uri) + 1;
  gsize name_size = name != NULL ? strlen (name) + 1 : 0;
  SfbPresenceInfo *known = g_malloc0 (sizeof (SfbPresenceInfo) + uri_size + name_size);

  known->uri = memcpy (known + 1, update->uri, uri_size);
  if (name != NULL)
    known->display_name = memcpy (known->uri + uri_size, name, name_size);
  return known;
}

static gboolean
replace_if (char **field, const char *value)
{
  if (value == NULL || g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static gboolean
differs (const char *field, const char *value)
{
  return value != NULL && g_strcmp0 (field, value) != 0;
}

/* A card field that may be kept in the entry's block: set to @value */
static void
replace_card (SfbPresenceInfo *known, char **field, const char *value)
{
  release (known, field);
  *field = field == &known->email ? email_in_uri (known, value) : NULL;
  if (*field == NULL)
    *field = g_strdup (value);
}

/* The same for a field holding a GRefString, interned: the activity
 * token, the card's title and company repeat from contact to contact. */
static gboolean
replace_interned_if (char **field, const char *value)
{
  if (value == NULL || g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_clear_pointer (field, g_ref_string_release);
  *field = g_ref_string_new_intern (value);
  return TRUE;
}

/* The card of @update into @known; TRUE when a field changed. */
static gboolean
merge_card (SfbPresenceInfo *known, const SfbPresenceInfo *update)
{
  gboolean changed = !known->has_card || known->automaton != update->automaton;

  known->has_card = TRUE;
  known->automaton = update->automaton;
  changed = replace_interned_if (&known->title, update->title) || changed;
  changed = replace_interned_if (&known->company, update->company) || changed;
  /* a storm's updates bring the same card again: compared here, not in a call */
  if (differs (known->display_name, update->display_name))
    {
      replace_card (known, &known->display_name, update->display_name);
      changed = TRUE;
    }
  if (differs (known->email, update->email))
    {
      replace_card (known, &known->email, update->email);
      changed = TRUE;
    }
  return changed;
}

SfbPresenceInfo *
sfb_presence_known_merge (GHashTable *table, const SfbPresenceInfo *update, guint64 *version)
{
  SfbPresenceInfo *known = (SfbPresenceInfo *) sfb_presence_known_lookup (table, update->uri);
  gboolean changed = FALSE;
  gboolean card_changed;

  if (known == NULL)
    {
      known = known_new (update);
      g_hash_table_add (table, known->uri);
      changed = TRUE;
    }
  if (update->availability != 0
      && (update->availability != known->availability
          || g_strcmp0 (update->activity, known->activity) != 0))
    {
      known->availability = update->availability;
      g_clear_pointer (&known->activity, g_ref_string_release);
      if (update->activity != NULL)
        known->activity = g_ref_string_new_intern (update->activity);
      changed = TRUE;
    }
  changed = replace_if (&known->note, update->note) || changed;
  card_changed = update->has_card && merge_card (known, update);
  if (changed || card_changed)
    known->version = (guint32)++ * version;
  return changed ? known : NULL;
}
