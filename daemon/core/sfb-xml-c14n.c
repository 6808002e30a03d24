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
 * - an unqualified element renders xmlns="" only when an output ancestor
 *   rendered a non-empty default namespace;
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

/* A namespace declaration rendered by an open element */
typedef struct
{
  char *prefix; /* "" for the default namespace */
  char *uri;
} Binding;

typedef struct
{
  char *qname;
  guint n_bindings; /* bindings->len before this element's own */
} OpenElement;

struct _SfbXmlC14n
{
  GString *out;
  GArray *bindings; /* Binding, outermost element's first */
  GArray *open;     /* OpenElement, the apex first */
  gboolean started; /* the apex was opened */
  gboolean broken;  /* an event came outside the apex, or made no sense */
};

static const char *
or_empty (const char *s)
{
  return s != NULL ? s : "";
}

static void
clear_binding (gpointer data)
{
  Binding *b = data;

  g_free (b->prefix);
  g_free (b->uri);
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
  c->bindings = g_array_new (FALSE, FALSE, sizeof (Binding));
  g_array_set_clear_func (c->bindings, clear_binding);
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
  g_array_unref (c->bindings);
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

/* The URI an output ancestor rendered for @prefix, the nearest one's;
 * NULL when none did */
static const char *
rendered_uri (SfbXmlC14n *c, const char *prefix)
{
  for (guint i = c->bindings->len; i > 0; i--)
    {
      const Binding *b = &g_array_index (c->bindings, Binding, i - 1);

      if (strcmp (b->prefix, prefix) == 0)
        return b->uri;
    }
  return NULL;
}

/* A declaration given as an attribute: the writer derives its own */
static gboolean
is_declaration (const SfbXmlC14nAttr *a)
{
  const char *prefix = or_empty (a->prefix);

  return strcmp (prefix, "xmlns") == 0 || strcmp (or_empty (a->ns_uri), XMLNS_URI) == 0
         || (prefix[0] == '\0' && strcmp (a->local_name, "xmlns") == 0);
}

/* Adds @prefix → @uri to @needed unless the prefix is there already (an
 * element and its attributes share one scope) */
static void
add_utilized (GArray *needed, const char *prefix, const char *uri)
{
  Binding b = { (char *) prefix, (char *) uri };

  if (strcmp (prefix, XML_NS_PREFIX) == 0)
    return;
  for (guint i = 0; i < needed->len; i++)
    if (strcmp (g_array_index (needed, Binding, i).prefix, prefix) == 0)
      return;
  g_array_append_val (needed, b);
}

static int
compare_bindings (const void *a, const void *b)
{
  return strcmp (((const Binding *) a)->prefix, ((const Binding *) b)->prefix);
}

/* Writes and records the declarations the element visibly utilises and no
 * output ancestor rendered with the same URI */
static void
render_namespaces (SfbXmlC14n *c,
                   const char *prefix,
                   const char *ns_uri,
                   const SfbXmlC14nAttr *attrs,
                   guint n_attrs)
{
  g_autoptr (GArray) needed = g_array_new (FALSE, FALSE, sizeof (Binding));

  add_utilized (needed, or_empty (prefix), or_empty (ns_uri));
  for (guint i = 0; i < n_attrs; i++)
    if (attrs[i].prefix != NULL && attrs[i].prefix[0] != '\0' && !is_declaration (&attrs[i]))
      add_utilized (needed, attrs[i].prefix, or_empty (attrs[i].ns_uri));
  qsort (needed->data, needed->len, sizeof (Binding), compare_bindings);

  for (guint i = 0; i < needed->len; i++)
    {
      const Binding *b = &g_array_index (needed, Binding, i);
      const char *in_scope = rendered_uri (c, b->prefix);
      Binding rendered;

      /* nothing rendered for the default namespace means none: xmlns="" */
      if (in_scope == NULL && b->prefix[0] == '\0')
        in_scope = "";
      if (in_scope != NULL && strcmp (in_scope, b->uri) == 0)
        continue;
      append_attribute (c->out,
                        b->prefix[0] != '\0' ? "xmlns" : NULL,
                        b->prefix[0] != '\0' ? b->prefix : "xmlns",
                        b->uri);
      rendered.prefix = g_strdup (b->prefix);
      rendered.uri = g_strdup (b->uri);
      g_array_append_val (c->bindings, rendered);
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

  element.n_bindings = c->bindings->len;
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
  g_array_set_size (c->bindings, element->n_bindings);
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
