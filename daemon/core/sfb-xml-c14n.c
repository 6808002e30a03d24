/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Exclusive XML Canonicalization 1.0 written from events (sfb-xml-c14n.h).
 *
 * The rules (W3C "Canonical XML 1.0" and "Exclusive XML Canonicalization
 * 1.0"), as applied here:
 * - an element renders the namespace declarations it visibly utilises (its
 *   own prefix, or the default namespace when it has none, and its
 *   attributes' prefixes) unless the nearest output ancestor rendering that
 *   prefix rendered the same URI; the xml prefix is never declared;
 * - an element without a namespace utilises the default one as empty: it
 *   renders xmlns="" only when the nearest output ancestor rendering a
 *   default namespace rendered a non-empty one;
 * - declarations come first, sorted by prefix (the default one first), then
 *   attributes sorted by namespace URI (none first), then local name; byte
 *   order of UTF-8 is code point order;
 * - empty elements are written as start and end tags; text escapes & < >
 *   and CR, attribute values & < " TAB LF and CR;
 * - xml:* attributes of the apex's ancestors are not inherited.
 */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-xml-c14n.h"

#include <stdlib.h>
#include <string.h>

#define XML_NS_PREFIX "xml"
#define XMLNS_URI "http://www.w3.org/2000/xmlns/"

/* A namespace declaration rendered by an open element, and the URI it
 * hides until the element ends */
typedef struct
{
  char *prefix;   /* "" for the default namespace */
  char *previous; /* NULL: none was rendered */
} Rendered;

typedef struct
{
  char *qname;
  guint n_rendered; /* rendered->len before this element's own */
} OpenElement;

/* A prefix an element visibly utilises, @order telling the element's own
 * (0) from its attributes' */
typedef struct
{
  const char *prefix;
  const char *uri;
  guint order;
} Utilized;

struct _SfbXmlC14n
{
  GString *out;
  GHashTable *in_scope; /* prefix → URI rendered by the nearest output ancestor */
  GArray *rendered;     /* Rendered, outermost element's first */
  GArray *open;         /* OpenElement, the apex first */
  gboolean started;     /* the apex was opened */
  gboolean broken;      /* an event came outside the apex, or made no sense */
};

static const char *
or_empty (const char *s)
{
  return s != NULL ? s : "";
}

static void
clear_rendered (gpointer data)
{
  Rendered *r = data;

  g_free (r->prefix);
  g_free (r->previous);
}

static void
clear_open_element (gpointer data)
{
  OpenElement *e = data;

  g_free (e->qname);
}

SfbXmlC14n *
sfb_xml_c14n_new (void)
{
  SfbXmlC14n *c = g_new0 (SfbXmlC14n, 1);

  c->out = g_string_new (NULL);
  c->in_scope = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  c->rendered = g_array_new (FALSE, FALSE, sizeof (Rendered));
  g_array_set_clear_func (c->rendered, clear_rendered);
  c->open = g_array_new (FALSE, FALSE, sizeof (OpenElement));
  g_array_set_clear_func (c->open, clear_open_element);
  return c;
}

void
sfb_xml_c14n_free (SfbXmlC14n *c)
{
  if (c == NULL)
    return;
  if (c->out != NULL)
    g_string_free (c->out, TRUE);
  g_hash_table_unref (c->in_scope);
  g_array_unref (c->rendered);
  g_array_unref (c->open);
  g_free (c);
}

/* Escapes @length bytes of @s: text (& < > CR) or an attribute value
 * (& < " TAB LF CR).  Plain runs are copied whole. */
static void
append_escaped (GString *out, const char *s, gsize length, gboolean attribute)
{
  gsize run = 0;

  for (gsize i = 0; i < length; i++)
    {
      const char *entity = NULL;

      switch (s[i])
        {
        case '&':
          entity = "&amp;";
          break;
        case '<':
          entity = "&lt;";
          break;
        case '>':
          entity = attribute ? NULL : "&gt;";
          break;
        case '"':
          entity = attribute ? "&quot;" : NULL;
          break;
        case '\t':
          entity = attribute ? "&#x9;" : NULL;
          break;
        case '\n':
          entity = attribute ? "&#xA;" : NULL;
          break;
        case '\r':
          entity = "&#xD;";
          break;
        default:
          break;
        }
      if (entity == NULL)
        continue;
      g_string_append_len (out, s + run, i - run);
      g_string_append (out, entity);
      run = i + 1;
    }
  g_string_append_len (out, s + run, length - run);
}

static void
append_attribute (GString *out, const char *prefix, const char *name, const char *value)
{
  g_string_append_c (out, ' ');
  if (prefix != NULL && prefix[0] != '\0')
    g_string_append_printf (out, "%s:", prefix);
  g_string_append_printf (out, "%s=\"", name);
  append_escaped (out, value, strlen (value), TRUE);
  g_string_append_c (out, '"');
}

/* A declaration given as an attribute: the writer derives its own */
static gboolean
is_declaration (const SfbXmlC14nAttr *a)
{
  const char *prefix = or_empty (a->prefix);

  return strcmp (prefix, "xmlns") == 0 || strcmp (or_empty (a->ns_uri), XMLNS_URI) == 0
         || (prefix[0] == '\0' && strcmp (a->local_name, "xmlns") == 0);
}

static int
compare_utilized (const void *a, const void *b)
{
  const Utilized *x = a;
  const Utilized *y = b;
  int by_prefix = strcmp (x->prefix, y->prefix);

  return by_prefix != 0 ? by_prefix : (x->order > y->order) - (x->order < y->order);
}

/* Records @prefix → @uri until the element ends */
static void
declare (SfbXmlC14n *c, const char *prefix, const char *uri)
{
  Rendered r = { g_strdup (prefix), g_strdup (g_hash_table_lookup (c->in_scope, prefix)) };

  g_array_append_val (c->rendered, r);
  g_hash_table_insert (c->in_scope, g_strdup (prefix), g_strdup (uri));
}

/* Undoes the declarations of the element that ends */
static void
undeclare (SfbXmlC14n *c, guint n_rendered)
{
  while (c->rendered->len > n_rendered)
    {
      Rendered *r = &g_array_index (c->rendered, Rendered, c->rendered->len - 1);

      if (r->previous != NULL)
        g_hash_table_insert (c->in_scope, g_strdup (r->prefix), g_steal_pointer (&r->previous));
      else
        g_hash_table_remove (c->in_scope, r->prefix);
      g_array_set_size (c->rendered, c->rendered->len - 1);
    }
}

/* Writes and records the declarations the element visibly utilises and no
 * output ancestor rendered with the same URI.  One prefix with two URIs
 * (which no namespace-aware parser gives) is declared once, the element's. */
static void
render_namespaces (SfbXmlC14n *c,
                   const char *prefix,
                   const char *ns_uri,
                   const SfbXmlC14nAttr *attrs,
                   guint n_attrs)
{
  g_autofree Utilized *used = g_new (Utilized, (gsize) n_attrs + 1);
  guint n = 0;

  used[n++] = (Utilized){ or_empty (prefix), or_empty (ns_uri), 0 };
  for (guint i = 0; i < n_attrs; i++)
    if (attrs[i].prefix != NULL && attrs[i].prefix[0] != '\0' && !is_declaration (&attrs[i]))
      {
        used[n] = (Utilized){ attrs[i].prefix, or_empty (attrs[i].ns_uri), n };
        n++;
      }
  qsort (used, n, sizeof (Utilized), compare_utilized);

  for (guint i = 0; i < n; i++)
    {
      const Utilized *u = &used[i];
      const char *in_scope = g_hash_table_lookup (c->in_scope, u->prefix);

      if (strcmp (u->prefix, XML_NS_PREFIX) == 0
          || (i > 0 && strcmp (u->prefix, used[i - 1].prefix) == 0))
        continue;
      /* nothing rendered for the default namespace means none: xmlns="" */
      if (in_scope == NULL && u->prefix[0] == '\0')
        in_scope = "";
      if (in_scope != NULL && strcmp (in_scope, u->uri) == 0)
        continue;
      append_attribute (c->out,
                        u->prefix[0] != '\0' ? "xmlns" : NULL,
                        u->prefix[0] != '\0' ? u->prefix : "xmlns",
                        u->uri);
      declare (c, u->prefix, u->uri);
    }
}

static int
compare_attributes (const void *a, const void *b)
{
  const SfbXmlC14nAttr *x = *(const SfbXmlC14nAttr *const *) a;
  const SfbXmlC14nAttr *y = *(const SfbXmlC14nAttr *const *) b;
  int by_uri = strcmp (or_empty (x->ns_uri), or_empty (y->ns_uri));

  return by_uri != 0 ? by_uri : strcmp (x->local_name, y->local_name);
}

static void
render_attributes (SfbXmlC14n *c, const SfbXmlC14nAttr *attrs, guint n_attrs)
{
  g_autofree const SfbXmlC14nAttr **sorted = g_new (const SfbXmlC14nAttr *, n_attrs);
  guint n = 0;

  for (guint i = 0; i < n_attrs; i++)
    if (!is_declaration (&attrs[i]))
      sorted[n++] = &attrs[i];
  if (n > 1)
    qsort (sorted, n, sizeof (*sorted), compare_attributes);
  for (guint i = 0; i < n; i++)
    append_attribute (
        c->out, sorted[i]->prefix, sorted[i]->local_name, or_empty (sorted[i]->value));
}

/* An event outside the apex, or one no parser gives */
static gboolean
refuse (SfbXmlC14n *c, gboolean bad)
{
  if (bad || c->open->len == 0)
    c->broken = TRUE;
  return c->broken;
}

void
sfb_xml_c14n_start_element (SfbXmlC14n *c,
                            const char *prefix,
                            const char *local_name,
                            const char *ns_uri,
                            const SfbXmlC14nAttr *attrs,
                            guint n_attrs)
{
  OpenElement element;

  if (c->broken)
    return;
  if (!c->started && local_name != NULL)
    c->started = TRUE; /* the apex: open->len 0 is fine this once */
  else if (refuse (c, local_name == NULL))
    return;
  for (guint i = 0; i < n_attrs; i++)
    if (attrs == NULL || attrs[i].local_name == NULL)
      {
        c->broken = TRUE;
        return;
      }

  element.n_rendered = c->rendered->len;
  element.qname = prefix != NULL && prefix[0] != '\0' ? g_strconcat (prefix, ":", local_name, NULL)
                                                      : g_strdup (local_name);
  g_string_append_printf (c->out, "<%s", element.qname);
  render_namespaces (c, prefix, ns_uri, attrs, n_attrs);
  render_attributes (c, attrs, n_attrs);
  g_string_append_c (c->out, '>');
  g_array_append_val (c->open, element);
}

void
sfb_xml_c14n_text (SfbXmlC14n *c, const char *text, gsize length)
{
  /* a NUL is no XML character, and would cut the canonical text short */
  if (refuse (c, (text == NULL && length > 0) || (length > 0 && memchr (text, '\0', length))))
    return;
  if (length > 0)
    append_escaped (c->out, text, length, FALSE);
}

void
sfb_xml_c14n_processing_instruction (SfbXmlC14n *c, const char *target, const char *data)
{
  if (refuse (c, target == NULL))
    return;
  g_string_append_printf (c->out, "<?%s", target);
  if (data != NULL && data[0] != '\0')
    g_string_append_printf (c->out, " %s", data);
  g_string_append (c->out, "?>");
}

void
sfb_xml_c14n_end_element (SfbXmlC14n *c)
{
  OpenElement *element;

  if (refuse (c, FALSE))
    return;
  element = &g_array_index (c->open, OpenElement, c->open->len - 1);
  g_string_append_printf (c->out, "</%s>", element->qname);
  undeclare (c, element->n_rendered);
  g_array_set_size (c->open, c->open->len - 1);
}

char *
sfb_xml_c14n_finish (SfbXmlC14n *c)
{
  char *text = NULL;

  if (c->started && !c->broken && c->open->len == 0)
    text = g_string_free (g_steal_pointer (&c->out), FALSE);
  sfb_xml_c14n_free (c);
  return text;
}
