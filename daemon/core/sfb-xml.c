/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-core"

#include "sfb-xml.h"

#include "sfb-xml-c14n.h"

#include <expat.h>
#include <string.h>

/* Between a namespace name, a local name and a prefix in the names expat
 * hands over: a byte XML 1.0 allows nowhere, not even as a reference, so
 * it never occurs in a name (expat refuses a namespace name holding it). */
#define NS_SEPARATOR '\x01'

/* ---- the tree's memory: one arena per document ---- */

#define ARENA_FIRST 2048
#define ARENA_MAX (64 * 1024)

typedef struct Block Block;
struct Block
{
  Block *next;
  gsize size;
  gsize used;
  char data[]; /* 8-aligned: the header is three words */
};

struct _SfbXmlDoc
{
  SfbXmlNode *root;
  Block *blocks;
};

static gpointer
arena_alloc (SfbXmlDoc *doc, gsize size)
{
  Block *head = doc->blocks;
  Block *block;
  gsize want;

  size = (size + 7) & ~(gsize) 7;
  if (head != NULL && head->size - head->used >= size)
    {
      head->used += size;
      return head->data + head->used - size;
    }
  want = head == NULL ? ARENA_FIRST : MIN (head->size * 2, ARENA_MAX);
  block = g_malloc (sizeof (Block) + MAX (want, size));
  block->size = MAX (want, size);
  block->used = size;
  if (head != NULL && size > want / 2)
    {
      /* a large piece gets a block of its own, behind the one in use */
      block->next = head->next;
      head->next = block;
    }
  else
    {
      block->next = head;
      doc->blocks = block;
    }
  return block->data;
}

static char *
arena_strndup (SfbXmlDoc *doc, const char *s, gsize length)
{
  char *copy = arena_alloc (doc, length + 1);

  memcpy (copy, s, length);
  copy[length] = '\0';
  return copy;
}

void
sfb_xml_doc_free (SfbXmlDoc *doc)
{
  if (doc == NULL)
    return;
  while (doc->blocks != NULL)
    {
      Block *next = doc->blocks->next;

      g_free (doc->blocks);
      doc->blocks = next;
    }
  g_free (doc);
}

SfbXmlNode *
sfb_xml_doc_root (const SfbXmlDoc *doc)
{
  return doc->root;
}

/* ---- reading ---- */

/* The encoding is forced to UTF-8 when parsing, so this byte search cannot
 * be dodged with another encoding.  One pass over the "<!" in the
 * document, not one per declaration looked for. */
static gboolean
has_markup_declaration (const char *data, gsize length)
{
  static const char *const names[] = { "DOCTYPE", "ENTITY", "doctype", "entity" };
  const char *end = data + length;

  /* memchr, not memmem: glibc's memmem is slow for a two-byte needle */
  for (const char *p = memchr (data, '<', length); p != NULL;
       p = memchr (p + 1, '<', end - (p + 1)))
    {
      gsize rest = end - (p + 1);

      if (rest == 0 || p[1] != '!')
        continue;
      for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
        {
          gsize n = strlen (names[i]);

          if (rest - 1 >= n && memcmp (p + 2, names[i], n) == 0)
            return TRUE;
        }
    }
  return FALSE;
}

/* expat reads a document starting with a UTF-16 byte order mark, or with
 * "<" and a NUL, as UTF-16 even when told UTF-8: none of those is UTF-8
 * XML, so none is read at all. */
static gboolean
looks_utf16 (const char *data, gsize length)
{
  static const char *const starts[] = { "\xfe\xff", "\xff\xfe", "<\0", "\0<" };

  for (gsize i = 0; i < G_N_ELEMENTS (starts); i++)
    if (length >= 2 && memcmp (data, starts[i], 2) == 0)
      return TRUE;
  return FALSE;
}

static SfbXmlVerdict
check_input (const char *data, gsize length, const SfbXmlLimits *limits)
{
  if (data == NULL || length == 0)
    return SFB_XML_EMPTY;
  if (length > limits->max_document || length > G_MAXINT)
    return SFB_XML_TOO_LARGE;
  if (has_markup_declaration (data, length))
    return SFB_XML_DTD;
  if (looks_utf16 (data, length))
    return SFB_XML_MALFORMED;
  return SFB_XML_OK;
}

/* A name as expat hands it over: "local", "uri<sep>local" or
 * "uri<sep>local<sep>prefix", split in place (not NUL-terminated). */
typedef struct
{
  const char *uri, *local, *prefix; /* uri, prefix: NULL when none */
  gsize uri_len, local_len, prefix_len;
} Name;

static void
split_name (const char *s, Name *n)
{
  const char *first = strchr (s, NS_SEPARATOR);
  const char *second = first != NULL ? strchr (first + 1, NS_SEPARATOR) : NULL;

  memset (n, 0, sizeof *n);
  if (first == NULL)
    {
      n->local = s;
      n->local_len = strlen (s);
      return;
    }
  n->uri = s;
  n->uri_len = first - s;
  n->local = first + 1;
  n->local_len = second != NULL ? (gsize) (second - n->local) : strlen (n->local);
  if (second != NULL)
    {
      n->prefix = second + 1;
      n->prefix_len = strlen (n->prefix);
    }
}

typedef struct
{
  XML_Parser parser;
  const SfbXmlLimits *limits;
  guint depth;
  guint count;
  /* the first limit exceeded, the DTD or another XML version met: the
   * reading stopped there */
  SfbXmlVerdict stopped;
  /* a tree */
  SfbXmlDoc *doc;
  SfbXmlNode *current;      /* the open element, NULL before the root */
  SfbXmlNode *last;         /* its last child so far */
  SfbXmlNode *last_element; /* its last element child so far */
  GString *text;            /* text not yet in a node */
  /* or callbacks */
  const SfbXmlSax *sax;
  gpointer user_data;
  GString *scratch;
} Reader;

static void
stop (Reader *r, SfbXmlVerdict verdict)
{
  if (r->stopped == SFB_XML_OK)
    r->stopped = verdict;
  XML_StopParser (r->parser, XML_FALSE);
}

/* FALSE (and the reading stopped) when the element opened now exceeds a
 * limit: the callbacks never see an element beyond the limits. */
static gboolean
count_element (Reader *r)
{
  r->depth++;
  r->count++;
  if (r->depth > 1 && r->depth > r->limits->max_depth)
    stop (r, SFB_XML_TOO_DEEP);
  else if (r->depth > 1 && r->limits->max_elements != 0 && r->count > r->limits->max_elements)
    stop (r, SFB_XML_TOO_MANY_ELEMENTS);
  return r->stopped == SFB_XML_OK;
}

static void XMLCALL
on_doctype (void *user_data,
            const XML_Char *name,
            const XML_Char *system_id,
            const XML_Char *public_id,
            int has_internal_subset)
{
  stop (user_data, SFB_XML_DTD);
}

static void XMLCALL
on_entity_declaration (void *user_data,
                       const XML_Char *name,
                       int is_parameter_entity,
                       const XML_Char *value,
                       int value_length,
                       const XML_Char *base,
                       const XML_Char *system_id,
                       const XML_Char *public_id,
                       const XML_Char *notation_name)
{
  stop (user_data, SFB_XML_DTD);
}

/* XML 1.0 says VersionNum is "1." and digits; expat takes any name there.
 * Another version is not a document read as XML 1.0, so none is read. */
static void XMLCALL
on_xml_declaration (void *user_data,
                    const XML_Char *version,
                    const XML_Char *encoding,
                    int standalone)
{
  if (version != NULL
      && !(g_str_has_prefix (version, "1.") && version[2] != '\0'
           && strspn (version + 2, "0123456789") == strlen (version + 2)))
    stop (user_data, SFB_XML_MALFORMED);
}

static XML_Parser
new_parser (Reader *r)
{
  /* "UTF-8" over whatever the document declares: no detection from the
   * first bytes, a UTF-8 byte order mark skipped */
  XML_Parser parser = XML_ParserCreateNS ("UTF-8", NS_SEPARATOR);

  if (parser == NULL)
    return NULL;
  XML_SetReturnNSTriplet (parser, XML_TRUE);
  XML_SetParamEntityParsing (parser, XML_PARAM_ENTITY_PARSING_NEVER);
  XML_SetXmlDeclHandler (parser, on_xml_declaration);
  XML_SetStartDoctypeDeclHandler (parser, on_doctype);
  XML_SetEntityDeclHandler (parser, on_entity_declaration);
  XML_SetUserData (parser, r);
  r->parser = parser;
  return parser;
}

/* Reads the whole document with @r's handlers set: the verdict. */
static SfbXmlVerdict
run_parser (Reader *r, const char *data, gsize length)
{
  enum XML_Status status = XML_Parse (r->parser, data, (int) length, XML_TRUE);

  if (r->stopped != SFB_XML_OK)
    return r->stopped;
  if (status != XML_STATUS_OK)
    return SFB_XML_MALFORMED;
  return r->count == 0 ? SFB_XML_NO_ROOT : SFB_XML_OK;
}

/* ---- building a tree ---- */

static gboolean
says (const char *stored, const char *s, gsize length)
{
  return stored != NULL && strncmp (stored, s, length) == 0 && stored[length] == '\0';
}

/* @s (@length bytes, a name or namespace name) in the arena: @like's or
 * @or_like's copy when one says the same (siblings mostly share their
 * names, children their parent's namespace name), else a copy.  No table
 * of every name: the document would choose the names that collide in its
 * hash (113 000 element names equal under g_str_hash() took 165 s). */
static const char *
share_or_copy (Reader *r, const char *s, gsize length, const char *like, const char *or_like)
{
  if (says (like, s, length))
    return like;
  if (says (or_like, s, length))
    return or_like;
  return arena_strndup (r->doc, s, length);
}

#define PART(node, field) ((node) != NULL ? (node)->field : NULL)

static SfbXmlNode *
append_node (Reader *r, SfbXmlNodeType type)
{
  SfbXmlNode *node = arena_alloc (r->doc, sizeof (SfbXmlNode));

  memset (node, 0, sizeof *node);
  node->type = type;
  node->parent = r->current;
  if (r->last != NULL)
    r->last->next = node;
  else if (r->current != NULL)
    r->current->children = node;
  r->last = node;
  return node;
}

static void
flush_text (Reader *r)
{
  SfbXmlNode *node;

  if (r->text->len == 0)
    return;
  node = append_node (r, SFB_XML_NODE_TEXT);
  node->content = arena_strndup (r->doc, r->text->str, r->text->len);
  node->content_length = r->text->len;
  g_string_truncate (r->text, 0);
}

static void XMLCALL
tree_start (void *user_data, const XML_Char *name, const XML_Char **atts)
{
  Reader *r = user_data;
  const SfbXmlNode *sibling = r->last_element;
  SfbXmlNode *node;
  SfbXmlAttr *attrs;
  guint n = 0;
  Name split;

  if (!count_element (r))
    return;
  flush_text (r);
  node = append_node (r, SFB_XML_NODE_ELEMENT);
  split_name (name, &split);
  node->name = share_or_copy (r, split.local, split.local_len, PART (sibling, name), NULL);
  node->prefix = split.prefix == NULL ? NULL
                                      : share_or_copy (r,
                                                       split.prefix,
                                                       split.prefix_len,
                                                       PART (sibling, prefix),
                                                       PART (r->current, prefix));
  node->ns_uri
      = split.uri == NULL
            ? NULL
            : share_or_copy (
                r, split.uri, split.uri_len, PART (sibling, ns_uri), PART (r->current, ns_uri));
  while (atts[2 * n] != NULL)
    n++;
  attrs = n > 0 ? arena_alloc (r->doc, n * sizeof (SfbXmlAttr)) : NULL;
  for (guint i = 0; i < n; i++)
    {
      SfbXmlAttr *a = &attrs[i];
      /* siblings mostly have the same attributes in the same order */
      const SfbXmlAttr *like = sibling != NULL && i < sibling->n_attrs ? &sibling->attrs[i] : NULL;

      split_name (atts[2 * i], &split);
      a->name = share_or_copy (r, split.local, split.local_len, PART (like, name), NULL);
      a->prefix
          = split.prefix == NULL
                ? NULL
                : share_or_copy (r, split.prefix, split.prefix_len, PART (like, prefix), NULL);
      a->ns_uri = split.uri == NULL
                      ? NULL
                      : share_or_copy (r, split.uri, split.uri_len, PART (like, ns_uri), NULL);
      a->value_length = strlen (atts[2 * i + 1]);
      a->value = arena_strndup (r->doc, atts[2 * i + 1], a->value_length);
    }
  node->attrs = attrs;
  node->n_attrs = n;
  if (r->doc->root == NULL)
    r->doc->root = node;
  r->current = node;
  r->last = NULL;
  r->last_element = NULL;
}

static gboolean
is_blank (const SfbXmlNode *node)
{
  return node->type == SFB_XML_NODE_TEXT
         && strspn (node->content, " \t\r\n") == node->content_length;
}

/* drop_blanks: the whitespace of an element holding elements and no other
 * text is layout, not content */
static void
drop_blanks (SfbXmlNode *element)
{
  gboolean has_element = FALSE;
  SfbXmlNode **link = &element->children;

  for (SfbXmlNode *c = element->children; c != NULL; c = c->next)
    {
      if (c->type == SFB_XML_NODE_TEXT && !is_blank (c))
        return;
      has_element |= c->type == SFB_XML_NODE_ELEMENT;
    }
  if (!has_element)
    return;
  while (*link != NULL)
    {
      if (is_blank (*link))
        *link = (*link)->next;
      else
        link = &(*link)->next;
    }
}

static void XMLCALL
tree_end (void *user_data, const XML_Char *name)
{
  Reader *r = user_data;

  /* expat ends an empty element even when its start stopped the reading */
  if (r->stopped != SFB_XML_OK)
    return;
  flush_text (r);
  if (r->limits->drop_blanks)
    drop_blanks (r->current);
  r->depth--;
  r->last = r->last_element = r->current;
  r->current = r->current->parent;
}

static void XMLCALL
tree_text (void *user_data, const XML_Char *text, int length)
{
  Reader *r = user_data;

  if (r->current != NULL && r->stopped == SFB_XML_OK)
    g_string_append_len (r->text, text, length);
}

static void XMLCALL
tree_pi (void *user_data, const XML_Char *target, const XML_Char *data)
{
  Reader *r = user_data;
  SfbXmlNode *node;

  if (r->current == NULL || r->stopped != SFB_XML_OK)
    return;
  flush_text (r);
  node = append_node (r, SFB_XML_NODE_PI);
  node->name = arena_strndup (r->doc, target, strlen (target));
  node->content_length = strlen (data);
  node->content = arena_strndup (r->doc, data, node->content_length);
}

SfbXmlDoc *
sfb_xml_read (const char *data, gsize length, const SfbXmlLimits *limits, SfbXmlVerdict *verdict)
{
  Reader r = { .limits = limits };

  g_return_val_if_fail (limits != NULL && verdict != NULL, NULL);

  *verdict = check_input (data, length, limits);
  if (*verdict != SFB_XML_OK)
    return NULL;
  if (new_parser (&r) == NULL)
    {
      *verdict = SFB_XML_MALFORMED;
      return NULL;
    }
  r.doc = g_new0 (SfbXmlDoc, 1);
  r.text = g_string_new (NULL);
  XML_SetElementHandler (r.parser, tree_start, tree_end);
  XML_SetCharacterDataHandler (r.parser, tree_text);
  XML_SetProcessingInstructionHandler (r.parser, tree_pi);
  *verdict = run_parser (&r, data, length);
  XML_ParserFree (r.parser);
  g_string_free (r.text, TRUE);
  if (*verdict != SFB_XML_OK)
    g_clear_pointer (&r.doc, sfb_xml_doc_free);
  return r.doc;
}

/* ---- the tree, read ---- */

const char *
sfb_xml_node_attr (const SfbXmlNode *node, const char *name, const char *ns_uri)
{
  const SfbXmlAttr *a
      = node != NULL ? sfb_xml_attr_find (node->attrs, node->n_attrs, name, ns_uri) : NULL;

  return a != NULL ? a->value : NULL;
}

const char *
sfb_xml_node_attr_any_ns (const SfbXmlNode *node, const char *name)
{
  for (guint i = 0; node != NULL && i < node->n_attrs; i++)
    if (strcmp (node->attrs[i].name, name) == 0)
      return node->attrs[i].value;
  return NULL;
}

char *
sfb_xml_node_text (const SfbXmlNode *node)
{
  GString *out;
  const SfbXmlNode *n;

  g_return_val_if_fail (node != NULL, NULL);

  if (node->type != SFB_XML_NODE_ELEMENT)
    return g_strndup (node->content, node->content_length);
  out = g_string_new (NULL);
  /* pre-order, without recursion */
  n = node->children;
  while (n != NULL)
    {
      if (n->type == SFB_XML_NODE_TEXT)
        g_string_append_len (out, n->content, n->content_length);
      if (n->type == SFB_XML_NODE_ELEMENT && n->children != NULL)
        {
          n = n->children;
          continue;
        }
      while (n != NULL && n->next == NULL)
        n = n->parent != node ? n->parent : NULL;
      if (n != NULL)
        n = n->next;
    }
  return g_string_free (out, FALSE);
}

static void
canonicalize_start (SfbXmlC14n *c, const SfbXmlNode *element, GArray *attrs)
{
  g_array_set_size (attrs, element->n_attrs);
  for (guint i = 0; i < element->n_attrs; i++)
    {
      const SfbXmlAttr *a = &element->attrs[i];

      g_array_index (attrs, SfbXmlC14nAttr, i)
          = (SfbXmlC14nAttr){ a->prefix, a->name, a->ns_uri, a->value };
    }
  /* through gconstpointer, as g_array_index() does: GArray keeps its
   * data aligned for any type, gchar * says nothing of it (-Wcast-align) */
  sfb_xml_c14n_start_element (c,
                              element->prefix,
                              element->name,
                              element->ns_uri,
                              (const SfbXmlC14nAttr *) (gconstpointer) attrs->data,
                              element->n_attrs);
}

char *
sfb_xml_canonicalize (const SfbXmlNode *element)
{
  g_autoptr (GArray) attrs = g_array_new (FALSE, FALSE, sizeof (SfbXmlC14nAttr));
  SfbXmlC14n *c;
  const SfbXmlNode *n = element;

  g_return_val_if_fail (element != NULL && element->type == SFB_XML_NODE_ELEMENT, NULL);

  c = sfb_xml_c14n_new ();
  /* pre-order, without recursion: each element ends once its last child
   * has been given */
  while (n != NULL)
    {
      if (n->type == SFB_XML_NODE_ELEMENT)
        {
          canonicalize_start (c, n, attrs);
          if (n->children != NULL)
            {
              n = n->children;
              continue;
            }
          sfb_xml_c14n_end_element (c);
        }
      else if (n->type == SFB_XML_NODE_TEXT)
        sfb_xml_c14n_text (c, n->content, n->content_length);
      else
        sfb_xml_c14n_processing_instruction (c, n->name, n->content);
      while (n != element && n->next == NULL)
        {
          n = n->parent;
          sfb_xml_c14n_end_element (c);
        }
      n = n != element ? n->next : NULL;
    }
  return sfb_xml_c14n_finish (c);
}

/* ---- without a tree ---- */

/* The parts of @name NUL-terminated in r->scratch, at the offsets given
 * (G_MAXSIZE: none); pointers are made once the scratch stops growing. */
typedef struct
{
  gsize local, prefix, uri;
} NameAt;

static gsize
scratch_add (Reader *r, const char *s, gsize length)
{
  gsize at = r->scratch->len;

  g_string_append_len (r->scratch, s, length);
  g_string_append_c (r->scratch, '\0');
  return at;
}

static void
scratch_name (Reader *r, const char *name, NameAt *at)
{
  Name split;

  split_name (name, &split);
  at->local = scratch_add (r, split.local, split.local_len);
  at->prefix = split.prefix != NULL ? scratch_add (r, split.prefix, split.prefix_len) : G_MAXSIZE;
  at->uri = split.uri != NULL ? scratch_add (r, split.uri, split.uri_len) : G_MAXSIZE;
}

static const char *
scratch_at (Reader *r, gsize at)
{
  return at != G_MAXSIZE ? r->scratch->str + at : NULL;
}

#define SAX_STACK_ATTRS 16

static void XMLCALL
sax_start (void *user_data, const XML_Char *name, const XML_Char **atts)
{
  Reader *r = user_data;
  SfbXmlAttr stack_attrs[SAX_STACK_ATTRS];
  NameAt stack_at[SAX_STACK_ATTRS];
  g_autofree SfbXmlAttr *heap_attrs = NULL;
  g_autofree NameAt *heap_at = NULL;
  SfbXmlAttr *attrs = stack_attrs;
  NameAt *at = stack_at;
  NameAt element;
  guint n = 0;

  if (!count_element (r) || r->sax->start_element == NULL)
    return;
  while (atts[2 * n] != NULL)
    n++;
  if (n > SAX_STACK_ATTRS)
    {
      attrs = heap_attrs = g_new (SfbXmlAttr, n);
      at = heap_at = g_new (NameAt, n);
    }
  g_string_truncate (r->scratch, 0);
  scratch_name (r, name, &element);
  for (guint i = 0; i < n; i++)
    scratch_name (r, atts[2 * i], &at[i]);
  for (guint i = 0; i < n; i++)
    {
      attrs[i].name = scratch_at (r, at[i].local);
      attrs[i].prefix = scratch_at (r, at[i].prefix);
      attrs[i].ns_uri = scratch_at (r, at[i].uri);
      attrs[i].value = atts[2 * i + 1];
      attrs[i].value_length = strlen (atts[2 * i + 1]);
    }
  r->sax->start_element (r->user_data, scratch_at (r, element.local), attrs, n);
}

static void XMLCALL
sax_end (void *user_data, const XML_Char *name)
{
  Reader *r = user_data;
  Name split;

  r->depth--;
  /* expat ends an empty element even when its start stopped the reading */
  if (r->stopped != SFB_XML_OK || r->sax->end_element == NULL)
    return;
  split_name (name, &split);
  g_string_truncate (r->scratch, 0);
  scratch_add (r, split.local, split.local_len);
  r->sax->end_element (r->user_data, r->scratch->str);
}

static void XMLCALL
sax_characters (void *user_data, const XML_Char *text, int length)
{
  Reader *r = user_data;

  if (r->depth > 0 && r->stopped == SFB_XML_OK && r->sax->characters != NULL)
    r->sax->characters (r->user_data, text, length);
}

void
sfb_xml_read_sax (const char *data,
                  gsize length,
                  const SfbXmlLimits *limits,
                  const SfbXmlSax *sax,
                  gpointer user_data,
                  SfbXmlVerdict *verdict)
{
  Reader r = { .limits = limits, .sax = sax, .user_data = user_data };

  g_return_if_fail (limits != NULL && sax != NULL && verdict != NULL);

  *verdict = check_input (data, length, limits);
  if (*verdict != SFB_XML_OK)
    return;
  if (new_parser (&r) == NULL)
    {
      *verdict = SFB_XML_MALFORMED;
      return;
    }
  r.scratch = g_string_sized_new (256);
  XML_SetElementHandler (r.parser, sax_start, sax_end);
  XML_SetCharacterDataHandler (r.parser, sax_characters);
  *verdict = run_parser (&r, data, length);
  XML_ParserFree (r.parser);
  g_string_free (r.scratch, TRUE);
}

const SfbXmlAttr *
sfb_xml_attr_find (const SfbXmlAttr *attrs, guint n_attrs, const char *name, const char *ns_uri)
{
  for (guint i = 0; i < n_attrs; i++)
    {
      const SfbXmlAttr *a = &attrs[i];

      if (strcmp (a->name, name) != 0)
        continue;
      if (ns_uri == NULL ? a->ns_uri != NULL : g_strcmp0 (a->ns_uri, ns_uri) != 0)
        continue;
      return a;
    }
  return NULL;
}

char *
sfb_xml_attr_dup (const SfbXmlAttr *attrs, guint n_attrs, const char *name, const char *ns_uri)
{
  const SfbXmlAttr *a = sfb_xml_attr_find (attrs, n_attrs, name, ns_uri);

  return a != NULL ? g_strndup (a->value, a->value_length) : NULL;
}
