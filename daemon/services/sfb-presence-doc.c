/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-presence-doc-private.h"

#include "sfb-contact-list.h"
#include "sfb-content-type.h"
#include "sfb-error.h"

#include "sfb-text.h"

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

/* ---- a presence as D-Bus sends it ---- */

typedef struct
{
  const char *key;
  const char *string; /* NULL: the value is the "u" below */
  guint32 number;
} Entry;

static GVariant *
entry_variant (const Entry *e)
{
  return g_variant_new_dict_entry (g_variant_new_string (e->key),
                                   g_variant_new_variant (e->string != NULL
                                                              ? g_variant_new_string (e->string)
                                                              : g_variant_new_uint32 (e->number)));
}

#define SHARED_ENTRIES_MAX 64 /* per key */

/* A reference to entry @e, the @index'th of a contact's a{sv}: the same
 * {sv} value for the same key and value, made once (the first
 * SHARED_ENTRIES_MAX values of each key) and shared; GVariant values are
 * immutable and their references atomic. */
static GVariant *
shared_entry (gsize index, const Entry *e)
{
  static GMutex lock;
  static GHashTable *shared[4]; /* per key: the string, or the number -> {sv} */
  gconstpointer value
      = e->string != NULL ? (gconstpointer) e->string : GUINT_TO_POINTER (e->number);
  GVariant *entry;

  g_assert (index < G_N_ELEMENTS (shared));
  g_mutex_lock (&lock);
  if (shared[index] == NULL)
    shared[index]
        = e->string != NULL
              ? g_hash_table_new_full (
                  g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref)
              : g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_variant_unref);
  entry = g_hash_table_lookup (shared[index], value);
  if (entry != NULL)
    g_variant_ref (entry);
  else
    {
      entry = g_variant_ref_sink (entry_variant (e));
      if (g_hash_table_size (shared[index]) < SHARED_ENTRIES_MAX)
        g_hash_table_insert (shared[index],
                             e->string != NULL ? g_strdup (e->string) : (gpointer) value,
                             g_variant_ref (entry));
    }
  g_mutex_unlock (&lock);
  return entry;
}

/* Each contact's a{sv} is a tree whose {sv} entries are shared when they
 * repeat (availability, code, activity, an empty note): one container per
 * value.  GDBus writes a signal by walking its value child by child; a
 * tree's children are taken by reference, where a serialised a{sv} has
 * each of its sixteen made anew as a GVariant (2.5 times the cost per
 * contact, docs/benchmarks.md).  A note's text is not kept beyond the
 * contact's own value. */
static GVariant *
build_variant (const SfbPresenceInfo *info)
{
  const Entry entries[] = {
    { "Availability", sfb_availability_from_code (info->availability, info->activity), 0 },
    { "AvailabilityCode", NULL, info->availability },
    { "Activity", info->activity != NULL ? info->activity : "", 0 },
    { "Note", info->note != NULL ? info->note : "", 0 },
  };
  GVariant *built[G_N_ELEMENTS (entries)];
  GVariant *array;

  /* what g_variant_new_string() takes (the kept strings are cleaned so) */
  if (!g_utf8_validate (entries[2].string, -1, NULL)
      || !g_utf8_validate (entries[3].string, -1, NULL))
    {
      for (gsize i = 0; i < G_N_ELEMENTS (entries); i++)
        built[i] = entry_variant (&entries[i]);
      return g_variant_take_ref (
          g_variant_new_array (G_VARIANT_TYPE ("{sv}"), built, G_N_ELEMENTS (built)));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (entries); i++)
    built[i] = i != 3 || *entries[i].string == '\0'
                   ? shared_entry (i, &entries[i])
                   : g_variant_ref_sink (entry_variant (&entries[i]));
  /* the element type from the first entry: G_VARIANT_TYPE() checks its string each time */
  array = g_variant_take_ref (g_variant_new_array (NULL, built, G_N_ELEMENTS (built)));
  for (gsize i = 0; i < G_N_ELEMENTS (built); i++)
    g_variant_unref (built[i]); /* the array holds its own references */
  return array;
}

#define SHARED_PRESENCES_MAX 32

typedef struct
{
  guint code;
  char *activity; /* "" for none */
  GVariant *value;
} SharedPresence;

/* Without a note, a presence is its code and activity: contacts share
 * the few values there are (a storm of 1,000 updates to "busy" builds
 * one), the first SHARED_PRESENCES_MAX of them made once and kept; the
 * others, and a presence with a note, are built each time. */
GVariant *
sfb_presence_info_dup_variant (const SfbPresenceInfo *info)
{
  static GMutex lock;
  static SharedPresence shared[SHARED_PRESENCES_MAX];
  static guint n_shared;
  const char *activity = info->activity != NULL ? info->activity : "";
  GVariant *value = NULL;

  if (info->note != NULL && *info->note != '\0')
    return build_variant (info);
  g_mutex_lock (&lock);
  for (guint i = 0; i < n_shared && value == NULL; i++)
    if (shared[i].code == info->availability && strcmp (shared[i].activity, activity) == 0)
      value = g_variant_ref (shared[i].value);
  if (value == NULL)
    {
      value = build_variant (info);
      if (n_shared < SHARED_PRESENCES_MAX && g_utf8_validate (activity, -1, NULL))
        shared[n_shared++]
            = (SharedPresence){ info->availability, g_strdup (activity), g_variant_ref (value) };
    }
  g_mutex_unlock (&lock);
  return value;
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

/* A child's text as kept: NULL when empty (takes @raw). */
static char *
kept_text (char *raw)
{
  char *kept = raw != NULL && *raw != '\0' ? sfb_svc_clean_string (raw) : NULL;

  g_free (raw);
  return kept;
}

static char *
child_text (const SfbXmlNode *node, const char *name)
{
  return kept_text (sfb_svc_xml_text (sfb_svc_xml_child (node, name)));
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

/* What a state category says, from its xsi:type's (else type's)
 * state_rank(), its first
 * <availability>'s text and its first <activity>'s token (values as
 * sfb_svc_xml_value() leaves them). */
static void
apply_state (SfbPresenceInfo *info,
             CategoryRanks *ranks,
             int rank,
             const char *avail,
             gboolean has_activity,
             const char *token)
{
  guint64 code = 0;

  if (rank < ranks->state_rank || (ranks->own && rank < 2))
    return;
  if (avail == NULL || !g_ascii_string_to_unsigned (avail, 10, 0, 99999, &code, NULL))
    return;
  ranks->state_rank = rank;
  info->availability = (guint) code;
  replace (&info->activity, NULL);
  if (has_activity && token != NULL && *token != '\0')
    info->activity = sfb_svc_clean_string (token);
}

static void
read_state (SfbPresenceInfo *info, CategoryRanks *ranks, const SfbXmlNode *state)
{
  g_autofree char *type = sfb_svc_xml_attr_ns (state, "type", NS_XSI);
  g_autofree char *avail = NULL;
  g_autofree char *token = NULL;
  SfbXmlNode *activity;

  if (type == NULL)
    type = sfb_svc_xml_attr (state, "type");
  avail = sfb_svc_xml_text (sfb_svc_xml_child (state, "availability"));
  activity = sfb_svc_xml_child (state, "activity");
  if (activity != NULL)
    token = sfb_svc_xml_attr (activity, "token");
  apply_state (info, ranks, state_rank (type), avail, activity != NULL, token);
}

/* A personal note beats an out-of-office one, which beats the rest. */
static int
body_rank (const char *type)
{
  return g_strcmp0 (type, "personal") == 0 ? 3 : g_strcmp0 (type, "OOF") == 0 ? 2 : 1;
}

/* What a note category says: @rank is its chosen body's (1 without one),
 * @raw that body's text (NULL without one, or too long). */
static void
apply_note (SfbPresenceInfo *info, CategoryRanks *ranks, int rank, const char *raw)
{
  char *clean;

  if (rank < ranks->note_rank)
    return;
  ranks->note_rank = rank;
  clean = sfb_svc_clean_string (raw);
  replace (&info->note, clean != NULL ? clean : g_strdup (""));
}

static void
read_note (SfbPresenceInfo *info, CategoryRanks *ranks, const SfbXmlNode *note)
{
  SfbXmlNode *chosen = NULL;
  g_autofree char *raw = NULL;
  int rank = 1;

  for (SfbXmlNode *b = sfb_svc_xml_child (note, "body"); b != NULL;
       b = sfb_svc_xml_next (b, "body"))
    {
      g_autofree char *type = sfb_svc_xml_attr (b, "type");
      int r = body_rank (type);

      if (chosen == NULL || r > rank)
        {
          chosen = b;
          rank = r;
        }
    }
  if (chosen != NULL)
    raw = sfb_svc_xml_text (chosen);
  apply_note (info, ranks, rank, raw);
}

/* What a contactCard says; each value as kept_text() leaves it (taken). */
static void
apply_card (SfbPresenceInfo *info,
            char *display_name,
            char *email,
            char *title,
            char *company,
            char *automaton)
{
  info->has_card = TRUE;
  if (display_name != NULL)
    replace (&info->display_name, display_name);
  if (email != NULL)
    replace (&info->email, email);
  if (title != NULL)
    replace (&info->title, title);
  if (company != NULL)
    replace (&info->company, company);
  if (automaton != NULL)
    {
      info->automaton = sfb_svc_xml_parse_bool (automaton);
      g_free (automaton);
    }
}

static void
read_card (SfbPresenceInfo *info, const SfbXmlNode *card)
{
  SfbXmlNode *identity = sfb_svc_xml_child (card, "identity");
  SfbXmlNode *name = sfb_svc_xml_child (identity, "name");

  apply_card (info,
              child_text (name, "displayName"),
              child_text (identity, "email"),
              child_text (card, "title"),
              child_text (card, "company"),
              child_text (card, "automaton"));
}

/* One <category>: what it says about the presentity. */
void
sfb_presence_read_category (SfbPresenceInfo *info, CategoryRanks *ranks, const SfbXmlNode *category)
{
  g_autofree char *name = sfb_svc_xml_attr (category, "name");
  g_autofree char *instance = sfb_svc_xml_attr (category, "instance");
  SfbXmlNode *content = sfb_svc_xml_child (category, NULL);

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

/* ---- categories without a tree ----
 *
 * What the tree reader took from the tree (sfb_presence_read_category()
 * on each <category>; it is kept for the tests, tests/oracle/), gathered
 * from the callbacks of sfb_xml_read_fast(), else, when that gives up,
 * of expat (sfb_svc_xml_parse_sax()): a presence notification is parsed
 * for each contact's change, and building then freeing a tree, then a
 * general parser's tokeniser, were most of its cost.  Each element gets a role
 * from its parent's role and its name, as the tree code picks children
 * ("the first <identity> of the card"); at the end of each <category>
 * what it held is applied as sfb_presence_read_category() applies it.
 * tests/unit/test-presence-sax.c and fuzz-presence compare both readers
 * with the tree on every input. */

#define ATTR_OTHER (-1)  /* a value, none of the words */
#define ATTR_ABSENT (-2) /* attr_value() gives NULL */

typedef enum
{
  ROLE_NONE,
  ROLE_ROOT,
  ROLE_CATEGORY,
  ROLE_STATE,
  ROLE_AVAILABILITY,
  ROLE_ACTIVITY,
  ROLE_NOTE,
  ROLE_BODY,
  ROLE_CARD,
  ROLE_IDENTITY,
  ROLE_NAME,
  ROLE_TEXT, /* a card's text field: its text goes to *text_field */
} Role;

/* The <category> being read; "first" flags: the tree reads the first
 * child of each name only. */
typedef struct
{
  int name;              /* in category_names, or ATTR_OTHER or ATTR_ABSENT */
  gboolean has_instance; /* as attr_value() keeps it: not NULL */
  gboolean has_content;
  /* state */
  int type_rank; /* state_rank() of its xsi:type, else type */
  char *availability;
  gboolean has_availability;
  gboolean has_activity;
  char *token;
  /* note */
  gboolean has_body;
  int body_rank;
  char *body;
  /* contactCard */
  gboolean has_identity, has_name;
  gboolean has_display_name, has_email, has_title, has_company, has_automaton;
  char *display_name, *email, *title, *company, *automaton;
} Category;

typedef struct
{
  SfbPresenceInfo *info;
  CategoryRanks ranks;
  gboolean is_categories;
  guint n_categories;
  guint depth; /* at most SFB_SVC_XML_MAX_DEPTH */
  guint overflow;
  Role roles[SFB_SVC_XML_MAX_DEPTH + 1]; /* by depth, the root at 1 */
  Category category;
  /* text being gathered: an element's, descendants included */
  GString *text;
  guint text_depth; /* 0: none */
  gboolean text_too_long;
  char **text_field;
} CategoriesReader;

static void
category_clear (Category *c)
{
  g_free (c->availability);
  g_free (c->token);
  g_free (c->body);
  g_free (c->display_name);
  g_free (c->email);
  g_free (c->title);
  g_free (c->company);
  g_free (c->automaton);
  memset (c, 0, sizeof *c);
  c->name = ATTR_ABSENT;
}

static char *
attr_value (const SfbXmlAttr *attributes, guint n, const char *name, const char *ns_uri)
{
  return sfb_svc_xml_value (sfb_xml_attr_dup (attributes, n, name, ns_uri));
}

static int
word_index (const char *value, gsize len, const char *const *words, int n_words)
{
  for (int i = 0; i < n_words; i++)
    if (strlen (words[i]) == len && memcmp (words[i], value, len) == 0)
      return i;
  return ATTR_OTHER;
}

/* Which of @words the value attr_value() gives is, read in place: most
 * attributes are only compared, and a copy per attribute was a large
 * part of reading a storm's documents. */
static int
attr_word (const SfbXmlAttr *attributes,
           guint n,
           const char *name,
           const char *ns_uri,
           const char *const *words,
           int n_words)
{
  const SfbXmlAttr *found = sfb_xml_attr_find (attributes, n, name, ns_uri);
  const char *value, *end;

  if (found == NULL)
    return ATTR_ABSENT;
  value = found->value;
  end = value + found->value_length;
  /* as sfb_svc_xml_value(): too long is absent, then stripped */
  if (found->value_length > SFB_SVC_XML_MAX_VALUE)
    return ATTR_ABSENT;
  while (value < end && g_ascii_isspace (*value))
    value++;
  while (end > value && g_ascii_isspace (end[-1]))
    end--;
  return word_index (value, end - value, words, n_words);
}

static const char *const category_names[] = { "state", "note", "contactCard" };
enum
{
  CATEGORY_STATE,
  CATEGORY_NOTE,
  CATEGORY_CARD
};

/* state_rank() of a state's xsi:type, else of its type */
static int
attr_state_rank (const SfbXmlAttr *a, guint n)
{
  static const char *const types[] = { "aggregateState", "userState", "machineState" };
  int i = attr_word (a, n, "type", NS_XSI, types, G_N_ELEMENTS (types));

  if (i == ATTR_ABSENT)
    i = attr_word (a, n, "type", NULL, types, G_N_ELEMENTS (types));
  return i == ATTR_ABSENT  ? state_rank (NULL)
         : i == ATTR_OTHER ? state_rank ("")
                           : state_rank (types[i]);
}

/* body_rank() of a body's type */
static int
attr_body_rank (const SfbXmlAttr *a, guint n)
{
  static const char *const types[] = { "personal", "OOF" };
  int i = attr_word (a, n, "type", NULL, types, G_N_ELEMENTS (types));

  return body_rank (i >= 0 ? types[i] : NULL);
}

/* Gathers the text of the element starting at @depth into *@field. */
static void
start_text (CategoriesReader *r, char **field)
{
  g_string_truncate (r->text, 0);
  r->text_depth = r->depth;
  r->text_too_long = FALSE;
  r->text_field = field;
}

static Role
category_child_role (
    CategoriesReader *r, Role parent, const char *name, const SfbXmlAttr *a, guint n)
{
  Category *c = &r->category;

  switch (parent)
    {
    case ROLE_ROOT:
      if (!g_str_equal (name, "category") || r->n_categories >= SFB_PRESENCE_MAX_CATEGORIES)
        return ROLE_NONE;
      r->n_categories++;
      category_clear (c);
      c->name = attr_word (a, n, "name", NULL, category_names, G_N_ELEMENTS (category_names));
      c->has_instance = attr_word (a, n, "instance", NULL, NULL, 0) != ATTR_ABSENT;
      return ROLE_CATEGORY;
    case ROLE_CATEGORY:
      if (c->has_content)
        return ROLE_NONE;
      c->has_content = TRUE;
      /* only these three are read, and only under a category of their name */
      if (c->name < 0 || !g_str_equal (category_names[c->name], name))
        return ROLE_NONE;
      if (c->name == CATEGORY_STATE)
        {
          c->type_rank = attr_state_rank (a, n);
          return ROLE_STATE;
        }
      return c->name == CATEGORY_NOTE ? ROLE_NOTE : ROLE_CARD;
    case ROLE_STATE:
      if (g_str_equal (name, "availability") && !c->has_availability)
        {
          c->has_availability = TRUE;
          start_text (r, &c->availability);
          return ROLE_AVAILABILITY;
        }
      if (g_str_equal (name, "activity") && !c->has_activity)
        {
          c->has_activity = TRUE;
          c->token = attr_value (a, n, "token", NULL);
          return ROLE_ACTIVITY;
        }
      return ROLE_NONE;
    case ROLE_NOTE:
      if (g_str_equal (name, "body"))
        {
          int rank = attr_body_rank (a, n);

          if (c->has_body && rank <= c->body_rank)
            return ROLE_NONE;
          c->has_body = TRUE;
          c->body_rank = rank;
          start_text (r, &c->body);
          return ROLE_BODY;
        }
      return ROLE_NONE;
    case ROLE_CARD:
      if (g_str_equal (name, "identity") && !c->has_identity)
        return (c->has_identity = TRUE), ROLE_IDENTITY;
      if (g_str_equal (name, "title") && !c->has_title)
        return (c->has_title = TRUE), start_text (r, &c->title), ROLE_TEXT;
      if (g_str_equal (name, "company") && !c->has_company)
        return (c->has_company = TRUE), start_text (r, &c->company), ROLE_TEXT;
      if (g_str_equal (name, "automaton") && !c->has_automaton)
        return (c->has_automaton = TRUE), start_text (r, &c->automaton), ROLE_TEXT;
      return ROLE_NONE;
    case ROLE_IDENTITY:
      if (g_str_equal (name, "name") && !c->has_name)
        return (c->has_name = TRUE), ROLE_NAME;
      if (g_str_equal (name, "email") && !c->has_email)
        return (c->has_email = TRUE), start_text (r, &c->email), ROLE_TEXT;
      return ROLE_NONE;
    case ROLE_NAME:
      if (g_str_equal (name, "displayName") && !c->has_display_name)
        return (c->has_display_name = TRUE), start_text (r, &c->display_name), ROLE_TEXT;
      return ROLE_NONE;
    default:
      return ROLE_NONE;
    }
}

static void
categories_start (gpointer user_data, const char *name, const SfbXmlAttr *attributes, guint n)
{
  CategoriesReader *r = user_data;
  Role parent = r->depth > 0 ? r->roles[r->depth] : ROLE_NONE;
  Role role;

  if (r->depth >= SFB_SVC_XML_MAX_DEPTH || r->overflow > 0)
    {
      /* not reached: sfb_xml_read_sax() passes on nothing deeper */
      r->overflow++;
      return;
    }
  if (r->depth == 0)
    {
      r->is_categories = g_str_equal (name, "categories");
      r->depth++;
      r->roles[r->depth] = r->is_categories ? ROLE_ROOT : ROLE_NONE;
      if (r->is_categories)
        {
          g_autofree char *uri = attr_value (attributes, n, "uri", NULL);

          r->info->uri = sfb_contact_normalize_uri (uri);
        }
      return;
    }
  r->depth++;
  role = parent == ROLE_NONE ? ROLE_NONE : category_child_role (r, parent, name, attributes, n);
  r->roles[r->depth] = role;
}

static void
end_category (CategoriesReader *r)
{
  Category *c = &r->category;

  /* an empty note category: every note instance in that container is gone */
  if (c->name == CATEGORY_NOTE && !c->has_instance && !c->has_content && r->ranks.note_rank == 0)
    replace (&r->info->note, g_strdup (""));
}

/* The text gathered as sfb_svc_xml_text() gives it (stripped, NULL when
 * too long); with @kept as kept_text() then keeps it, in one copy. */
static char *
gathered_text (CategoriesReader *r, gboolean kept)
{
  const char *s = r->text->str;
  const char *e = s + strlen (s); /* as g_strdup() copies it */

  if (r->text_too_long)
    return NULL;
  while (s < e && g_ascii_isspace (*s))
    s++;
  while (e > s && g_ascii_isspace (e[-1]))
    e--;
  if (!kept)
    return g_strndup (s, e - s);
  return s < e ? sfb_svc_clean_string_len (s, e - s) : NULL;
}

static void
categories_end (gpointer user_data, const char *name)
{
  CategoriesReader *r = user_data;
  Role role = r->roles[r->depth];
  Category *c = &r->category;

  if (r->overflow > 0)
    {
      r->overflow--;
      return;
    }
  if (r->text_depth == r->depth)
    {
      g_free (*r->text_field);
      *r->text_field = gathered_text (r, role == ROLE_TEXT);
      r->text_depth = 0;
    }
  switch (role)
    {
    case ROLE_STATE:
      apply_state (r->info, &r->ranks, c->type_rank, c->availability, c->has_activity, c->token);
      break;
    case ROLE_NOTE:
      apply_note (r->info, &r->ranks, c->has_body ? c->body_rank : 1, c->body);
      break;
    case ROLE_CARD:
      apply_card (r->info,
                  g_steal_pointer (&c->display_name),
                  g_steal_pointer (&c->email),
                  g_steal_pointer (&c->title),
                  g_steal_pointer (&c->company),
                  g_steal_pointer (&c->automaton));
      break;
    case ROLE_CATEGORY:
      end_category (r);
      category_clear (c);
      break;
    default:
      break;
    }
  r->depth--;
}

static void
categories_characters (gpointer user_data, const char *text, gsize length)
{
  CategoriesReader *r = user_data;

  if (r->text_depth == 0 || r->text_too_long)
    return;
  if (r->text->len + length > SFB_SVC_XML_MAX_VALUE)
    r->text_too_long = TRUE;
  else
    g_string_append_len (r->text, text, length);
}

static const SfbXmlSax categories_sax = {
  categories_start,
  categories_end,
  categories_characters,
};

static const SfbXmlLimits fast_limits = {
  .max_document = SFB_SVC_XML_MAX_DOCUMENT,
  .max_depth = SFB_SVC_XML_MAX_DEPTH,
  .max_elements = SFB_SVC_XML_MAX_ELEMENTS,
};

/* One reading of a document by @sax: with sfb_xml_read_fast() (@fast),
 * else expat.  FALSE when the fast reader gave up (its callbacks' results
 * are then to be dropped); else *@ok says whether the document was
 * accepted, @error why not. */
static gboolean
read_pass (const char *data,
           gsize length,
           const char *what,
           gboolean fast,
           const SfbXmlSax *sax,
           gpointer reader,
           gboolean *ok,
           GError **error)
{
  if (fast)
    return *ok = sfb_xml_read_fast (data, length, &fast_limits, sax, reader);
  *ok = sfb_svc_xml_parse_sax (data, length, what, sax, reader, error);
  return TRUE;
}

/* FALSE when the fast reader gave up; else *@out is the result, or NULL
 * with @error set. */
static gboolean
categories_pass (
    const char *data, gsize length, gboolean fast, SfbPresenceInfo **out, GError **error)
{
  g_autoptr (SfbPresenceInfo) info = g_new0 (SfbPresenceInfo, 1);
  CategoriesReader r = { 0 };
  gboolean read, ok;

  *out = NULL;
  r.info = info;
  r.text = g_string_sized_new (64);
  read = read_pass (data, length, "presence categories", fast, &categories_sax, &r, &ok, error);
  category_clear (&r.category);
  g_string_free (r.text, TRUE);
  if (!read || !ok)
    return read;
  if (!r.is_categories)
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_FAILED,
                           "The server's presence document is not a categories document");
      return TRUE;
    }
  if (info->uri == NULL)
    {
      g_set_error_literal (error,
                           SFB_ERROR,
                           SFB_ERROR_FAILED,
                           "The server's presence document names no valid address");
      return TRUE;
    }
  *out = g_steal_pointer (&info);
  return TRUE;
}

SfbPresenceInfo *
sfb_presence_parse_categories_with (SfbPresenceRead how,
                                    const char *data,
                                    gsize length,
                                    GError **error)
{
  SfbPresenceInfo *info = NULL;

  if (how != SFB_PRESENCE_READ_EXPAT && categories_pass (data, length, TRUE, &info, error))
    return info;
  if (how != SFB_PRESENCE_READ_FAST)
    categories_pass (data, length, FALSE, &info, error);
  return info;
}

SfbPresenceInfo *
sfb_presence_parse_categories (const char *data, gsize length, GError **error)
{
  return sfb_presence_parse_categories_with (SFB_PRESENCE_READ_AUTO, data, length, error);
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

SfbPresenceNotify *
sfb_presence_notify_new (void)
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

/* One <resource> of an rlmi list: its uri, whether it has an <instance>,
 * and the first instance's state and poolFqdn (values as
 * sfb_svc_xml_value() leaves them).  @limit_base: what the arrays'
 * lengths count against SFB_CONTACTS_MAX_CONTACTS besides their own. */
void
sfb_presence_notify_add_resource (SfbPresenceNotify *notify,
                                  const SfbPresenceNotify *limit_base,
                                  const char *raw_uri,
                                  gboolean has_instance,
                                  const char *state,
                                  const char *pool)
{
  gboolean resubscribe, terminated;
  char *uri;

  if (!has_instance)
    return;
  resubscribe
      = g_strcmp0 (state, "resubscribe") == 0
        && limit_base->resubscribe->len + notify->resubscribe->len < SFB_CONTACTS_MAX_CONTACTS;
  terminated = !resubscribe && g_strcmp0 (state, "terminated") == 0
               && limit_base->terminated->len + notify->terminated->len < SFB_CONTACTS_MAX_CONTACTS;
  /* only then: most resources (every one of a presence update) are active */
  if (!resubscribe && !terminated)
    return;
  uri = sfb_contact_normalize_uri (raw_uri);
  if (uri == NULL)
    return;
  if (resubscribe)
    {
      SfbPresenceResubscribe *re = g_new0 (SfbPresenceResubscribe, 1);

      re->uri = uri;
      re->pool = clean_fqdn (pool);
      g_ptr_array_add (notify->resubscribe, re);
    }
  else
    g_ptr_array_add (notify->terminated, uri);
}

/* The rlmi list without a tree, as the tree reader read it; what it
 * finds goes to @found (made for the first resource it keeps), added to
 * the notification once the document is accepted.  Only a resubscription
 * or a termination is kept, so the state is compared in place and the
 * poolFqdn copied for a resubscription only. */
typedef struct
{
  const SfbPresenceNotify *notify;
  SfbPresenceNotify *found;
  gboolean is_list;
  guint depth;
  gboolean in_resource;
  gboolean has_instance;
  char *uri;
  int state; /* in rlmi_states, or ATTR_OTHER or ATTR_ABSENT */
  char *pool;
} RlmiReader;

static const char *const rlmi_states[] = { "resubscribe", "terminated" };

static void
rlmi_start (gpointer user_data, const char *name, const SfbXmlAttr *attributes, guint n)
{
  RlmiReader *r = user_data;

  r->depth++;
  if (r->depth == 1)
    r->is_list = g_str_equal (name, "list");
  else if (r->depth == 2 && r->is_list && g_str_equal (name, "resource"))
    {
      r->in_resource = TRUE;
      r->uri = attr_value (attributes, n, "uri", NULL);
    }
  else if (r->depth == 3 && r->in_resource && !r->has_instance && g_str_equal (name, "instance"))
    {
      r->has_instance = TRUE;
      r->state = attr_word (attributes, n, "state", NULL, rlmi_states, G_N_ELEMENTS (rlmi_states));
      if (r->state == 0)
        r->pool = attr_value (attributes, n, "poolFqdn", NULL);
    }
}

static void
rlmi_clear (RlmiReader *r)
{
  r->in_resource = FALSE;
  r->has_instance = FALSE;
  r->state = ATTR_ABSENT;
  g_clear_pointer (&r->uri, g_free);
  g_clear_pointer (&r->pool, g_free);
}

static void
rlmi_end (gpointer user_data, const char *name)
{
  RlmiReader *r = user_data;

  if (r->depth == 2 && r->in_resource)
    {
      /* sfb_presence_notify_add_resource() adds nothing in other states */
      if (r->has_instance && r->state >= 0)
        {
          if (r->found == NULL)
            r->found = sfb_presence_notify_new ();
          sfb_presence_notify_add_resource (
              r->found, r->notify, r->uri, TRUE, rlmi_states[r->state], r->pool);
        }
      rlmi_clear (r);
    }
  r->depth--;
}

static const SfbXmlSax rlmi_sax = { rlmi_start, rlmi_end, NULL };

static void
move_all (GPtrArray *to, GPtrArray *from)
{
  gsize n = 0;
  g_autofree gpointer *items = g_ptr_array_steal (from, &n);

  for (gsize i = 0; i < n; i++)
    g_ptr_array_add (to, items[i]);
}

/* FALSE when the fast reader gave up; else *@ok (@error). */
static gboolean
rlmi_pass (SfbPresenceNotify *notify,
           const char *data,
           gsize length,
           gboolean fast,
           gboolean *ok,
           GError **error)
{
  g_autoptr (SfbPresenceNotify) found = NULL;
  RlmiReader r = { notify, NULL };
  gboolean read;

  read = read_pass (data, length, "presence list (rlmi)", fast, &rlmi_sax, &r, ok, error);
  rlmi_clear (&r);
  found = r.found;
  if (!read || !*ok)
    return read;
  if (!r.is_list)
    {
      g_set_error_literal (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The server's rlmi document is not a list");
      *ok = FALSE;
      return TRUE;
    }
  if (found != NULL)
    {
      move_all (notify->resubscribe, found->resubscribe);
      move_all (notify->terminated, found->terminated);
    }
  return TRUE;
}

gboolean
sfb_presence_parse_rlmi_with (
    SfbPresenceRead how, SfbPresenceNotify *notify, const char *data, gsize length, GError **error)
{
  gboolean ok = FALSE;

  if (how != SFB_PRESENCE_READ_EXPAT && rlmi_pass (notify, data, length, TRUE, &ok, error))
    return ok;
  if (how != SFB_PRESENCE_READ_FAST)
    rlmi_pass (notify, data, length, FALSE, &ok, error);
  return ok;
}

static gboolean
parse_rlmi (SfbPresenceNotify *notify, const char *data, gsize length, GError **error)
{
  return sfb_presence_parse_rlmi_with (SFB_PRESENCE_READ_AUTO, notify, data, length, error);
}

static const SfbPresencePartReaders part_readers = {
  parse_rlmi,
  sfb_presence_parse_categories,
};

static gboolean
parse_categories_part (const SfbPresencePartReaders *readers,
                       SfbPresenceNotify *notify,
                       const char *data,
                       gsize length,
                       GError **error)
{
  g_autoptr (SfbPresenceInfo) info = readers->categories (data, length, error);

  if (info == NULL)
    return FALSE;
  g_ptr_array_add (notify->presences, g_steal_pointer (&info));
  return TRUE;
}

#define PART_MAX_LINES 64

/* @line starts with "Content-Type:" in any case (13 bytes there):
 * g_ascii_strncasecmp() costs several times this loop. */
static gboolean
is_content_type_name (const char *line)
{
  static const char name[] = "content-type:";

  for (gsize i = 0; i < sizeof name - 1; i++)
    {
      char c = line[i];

      /* g_ascii_tolower() inline */
      if ((c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c) != name[i])
        return FALSE;
    }
  return TRUE;
}

/* The media type of the first Content-Type among a part's header lines
 * from @head to @sep (up to a NUL; past PART_MAX_LINES - 1 line ends, the
 * rest is one line), or NULL; read in place, without copying the lines. */
static char *
part_media_type (const char *head, const char *sep)
{
  const char *nul = memchr (head, '\0', sep - head);
  const char *end = nul != NULL ? nul : sep;
  const char *line = head;

  for (guint i = 0; line != NULL; i++)
    {
      const char *next
          = i + 1 < PART_MAX_LINES ? sfb_text_find_bytes (line, end - line, "\r\n", 2) : NULL;
      const char *line_end = next != NULL ? next : end;

      if (line_end - line >= 13 && is_content_type_name (line))
        return sfb_content_type_media_len (line + 13, line_end - (line + 13));
      line = next != NULL ? next + 2 : NULL;
    }
  return NULL;
}

/* One part of a multipart notification: its headers from @head to @sep,
 * its body from @body to @body_end. */
static void
parse_part (SfbPresenceNotify *notify,
            const char *head,
            const char *sep,
            const char *body,
            const char *body_end,
            const SfbPresencePartReaders *readers)
{
  g_autofree char *part_type = part_media_type (head, sep);
  if (part_type != NULL && body_end > body)
    {
      g_autoptr (GError) local = NULL;
      gboolean ok = TRUE;

      if (g_str_equal (part_type, SFB_CT_RLMI))
        ok = readers->rlmi (notify, body, body_end - body, &local);
      else if (g_str_equal (part_type, SFB_CT_EVENT_CATEGORIES))
        ok = parse_categories_part (readers, notify, body, body_end - body, &local);
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
                 const SfbPresencePartReaders *readers,
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
  p = sfb_text_find_bytes (data, length, delim, delim_len);
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
      sep = sfb_text_find_bytes (head, end - head, "\r\n\r\n", 4);
      if (sep == NULL)
        break;
      body = sep + 4;
      next = sfb_text_find_bytes (body, end - body, delim, delim_len);
      body_end = next != NULL ? next : end;
      /* The CRLF before a delimiter belongs to it; servers add an empty
       * line too (sfbsim documents.multipart_related): XML ignores it. */
      if (body_end - body >= 2 && body_end[-2] == '\r' && body_end[-1] == '\n')
        body_end -= 2;
      parse_part (notify, head, sep, body, body_end, readers);
      p = next;
    }
  return TRUE;
}

SfbPresenceNotify *
sfb_presence_notify_parse_with (const SfbPresencePartReaders *readers,
                                const char *content_type,
                                const char *data,
                                gsize length,
                                GError **error)
{
  g_autoptr (SfbPresenceNotify) notify = sfb_presence_notify_new ();
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
      if (!parse_multipart (notify, content_type, data, length, readers, error))
        return NULL;
    }
  else if (g_str_equal (type, SFB_CT_EVENT_CATEGORIES))
    {
      if (!parse_categories_part (readers, notify, data, length, error))
        return NULL;
    }
  else if (g_str_equal (type, SFB_CT_RLMI))
    {
      if (!readers->rlmi (notify, data, length, error))
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

SfbPresenceNotify *
sfb_presence_notify_parse (const char *content_type, const char *data, gsize length, GError **error)
{
  return sfb_presence_notify_parse_with (&part_readers, content_type, data, length, error);
}
