/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "sfb-xml-events.h"

#include "sfb-svc-xml.h"

#include <string.h>

#include <libxml/parser.h>

static void
put_escaped (GString *out, const char *text, gsize length)
{
  for (gsize i = 0; i < length; i++)
    {
      guchar c = text[i];

      if (c < 0x20 || c == '\\' || c == '|' || c == '}')
        g_string_append_printf (out, "\\%02x", c);
      else
        g_string_append_c (out, c);
    }
}

static void
put_attribute (GString *out,
               const char *name,
               const char *prefix,
               const char *ns_uri,
               const char *value,
               gsize length)
{
  g_string_append_printf (
      out, " %s|%s|%s|", name, prefix ? prefix : "(none)", ns_uri ? ns_uri : "(none)");
  put_escaped (out, value, length);
}

static void
on_start (gpointer user_data, const char *name, const SfbXmlAttr *attrs, guint n)
{
  GString *out = user_data;

  g_string_append_printf (out, "}<%s", name);
  for (guint i = 0; i < n; i++)
    put_attribute (out,
                   attrs[i].name,
                   attrs[i].prefix,
                   attrs[i].ns_uri,
                   attrs[i].value,
                   attrs[i].value_length);
  g_string_append (out, ">{");
}

static void
on_end (gpointer user_data, const char *name)
{
  g_string_append_printf (user_data, "}</%s>{", name);
}

static void
on_text (gpointer user_data, const char *text, gsize length)
{
  put_escaped (user_data, text, length);
}

static const SfbXmlSax recorder = { on_start, on_end, on_text };

char *
sfb_xml_events_fast (const char *data, gsize length, const SfbXmlLimits *limits)
{
  GString *out = g_string_new ("{");

  if (!sfb_xml_read_fast (data, length, limits, &recorder, out))
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return g_string_free (out, FALSE);
}

char *
sfb_xml_events_expat (const char *data,
                      gsize length,
                      const SfbXmlLimits *limits,
                      SfbXmlVerdict *verdict)
{
  GString *out = g_string_new ("{");

  sfb_xml_read_sax (data, length, limits, &recorder, out, verdict);
  return g_string_free (out, FALSE);
}

/* ---- libxml2's SAX2 ---- */

typedef struct
{
  GString *out;
  const SfbXmlLimits *limits;
  guint depth;
  guint count;
  gboolean dtd;
  SfbXmlVerdict shape; /* the first limit exceeded: no event after it */
} LibxmlRun;

/* libxml2 leaves "&#38;" for "&" in attribute values, for its tree
 * builder to resolve; and in namespace names, where nothing resolves it
 * (its tree holds "a&#38;b" for xmlns:p="a&amp;b": expat's "a&b" is
 * right).  Only "&" becomes "&#38;", so turning each back is exact. */
static char *
resolve_amp (const char *value, gsize length)
{
  g_autofree char *copy = g_strndup (value, length);
  g_auto (GStrv) parts = g_strsplit (copy, "&#38;", -1);

  return g_strjoinv ("&", parts);
}

/* libxml2 names an element or attribute whose prefix is not declared
 * "prefix:name", in no namespace */
static char *
libxml_name (const xmlChar *local_name, const xmlChar *prefix, const xmlChar *uri)
{
  if (prefix != NULL && uri == NULL)
    return g_strconcat ((const char *) prefix, ":", (const char *) local_name, NULL);
  return g_strdup ((const char *) local_name);
}

static void
libxml_start (void *ctx,
              const xmlChar *local_name,
              const xmlChar *prefix,
              const xmlChar *uri,
              int n_namespaces,
              const xmlChar **namespaces,
              int n_attributes,
              int n_defaulted,
              const xmlChar **attributes)
{
  LibxmlRun *run = ctx;
  g_autofree char *name = libxml_name (local_name, prefix, uri);

  run->depth++;
  run->count++;
  if (run->shape == SFB_XML_OK && run->depth > 1)
    {
      if (run->depth > run->limits->max_depth)
        run->shape = SFB_XML_TOO_DEEP;
      else if (run->limits->max_elements != 0 && run->count > run->limits->max_elements)
        run->shape = SFB_XML_TOO_MANY_ELEMENTS;
    }
  if (run->shape != SFB_XML_OK)
    return;
  g_string_append_printf (run->out, "}<%s", name);
  for (int i = 0; i < n_attributes; i++)
    {
      /* local name, prefix, URI, value, value end */
      const char **a = (const char **) attributes + 5 * i;
      g_autofree char *value = resolve_amp (a[3], a[4] - a[3]);
      g_autofree char *ns_uri = a[2] != NULL ? resolve_amp (a[2], strlen (a[2])) : NULL;

      put_attribute (run->out, a[0], a[1], ns_uri, value, strlen (value));
    }
  g_string_append (run->out, ">{");
}

static void
libxml_end (void *ctx, const xmlChar *local_name, const xmlChar *prefix, const xmlChar *uri)
{
  LibxmlRun *run = ctx;
  g_autofree char *name = libxml_name (local_name, prefix, uri);

  run->depth--;
  if (run->shape == SFB_XML_OK)
    g_string_append_printf (run->out, "}</%s>{", name);
}

static void
libxml_characters (void *ctx, const xmlChar *text, int length)
{
  LibxmlRun *run = ctx;

  if (run->depth > 0 && run->shape == SFB_XML_OK)
    put_escaped (run->out, (const char *) text, length);
}

static void
libxml_internal_subset (void *ctx,
                        const xmlChar *name,
                        const xmlChar *external_id,
                        const xmlChar *system_id)
{
  ((LibxmlRun *) ctx)->dtd = TRUE;
}

static SfbXmlVerdict
libxml_read (const char *data,
             gsize length,
             const SfbXmlLimits *limits,
             LibxmlRun *run,
             gboolean *namespace_error)
{
  static const char *const declarations[] = { "<!DOCTYPE", "<!ENTITY", "<!doctype", "<!entity" };
  xmlParserCtxt *ctxt;
  gboolean well_formed;

  *namespace_error = FALSE;
  if (data == NULL || length == 0)
    return SFB_XML_EMPTY;
  if (length > limits->max_document || length > G_MAXINT)
    return SFB_XML_TOO_LARGE;
  /* the byte search the daemon did before libxml2 read, as it does now */
  for (gsize i = 0; i < G_N_ELEMENTS (declarations); i++)
    if (g_strstr_len (data, length, declarations[i]) != NULL)
      return SFB_XML_DTD;
  ctxt = xmlNewParserCtxt ();
  g_assert_nonnull (ctxt);
  /* the context's own handler, edited: the context frees it */
  memset (ctxt->sax, 0, sizeof *ctxt->sax);
  ctxt->sax->initialized = XML_SAX2_MAGIC;
  ctxt->sax->startElementNs = libxml_start;
  ctxt->sax->endElementNs = libxml_end;
  ctxt->sax->characters = libxml_characters;
  ctxt->sax->ignorableWhitespace = libxml_characters;
  ctxt->sax->internalSubset = libxml_internal_subset;
  ctxt->userData = run;
  xmlCtxtReadMemory (ctxt,
                     data,
                     (int) length,
                     "server.xml",
                     "UTF-8",
                     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA
                         | XML_PARSE_IGNORE_ENC);
  well_formed = ctxt->wellFormed;
  *namespace_error = !ctxt->nsWellFormed;
  if (ctxt->myDoc != NULL)
    xmlFreeDoc (ctxt->myDoc);
  xmlFreeParserCtxt (ctxt);
  if (!well_formed)
    return SFB_XML_MALFORMED;
  if (run->dtd)
    return SFB_XML_DTD;
  if (run->count == 0)
    return SFB_XML_NO_ROOT;
  return run->shape;
}

char *
sfb_xml_events_libxml (const char *data,
                       gsize length,
                       const SfbXmlLimits *limits,
                       SfbXmlVerdict *verdict,
                       gboolean *namespace_error)
{
  LibxmlRun run = { g_string_new ("{"), limits, 0, 0, FALSE, SFB_XML_OK };

  *verdict = libxml_read (data, length, limits, &run, namespace_error);
  return g_string_free (run.out, FALSE);
}

const SfbXmlLimits sfb_xml_events_svc_limits = {
  SFB_SVC_XML_MAX_DOCUMENT,
  SFB_SVC_XML_MAX_DEPTH,
  SFB_SVC_XML_MAX_ELEMENTS,
  FALSE,
};

/* expat against libxml2 */
static gboolean
parsers_agree (const char *data, gsize length, const SfbXmlLimits *limits)
{
  SfbXmlVerdict expat_verdict = SFB_XML_OK, libxml_verdict = SFB_XML_OK;
  gboolean namespace_error = FALSE;
  g_autofree char *expat = sfb_xml_events_expat (data, length, limits, &expat_verdict);
  g_autofree char *libxml
      = sfb_xml_events_libxml (data, length, limits, &libxml_verdict, &namespace_error);
  gboolean expat_ok = expat_verdict == SFB_XML_OK;
  gboolean libxml_ok = libxml_verdict == SFB_XML_OK;

  /* both refuse: the verdicts may differ, expat stopping at the first
   * limit exceeded, libxml2 reading on to a later error */
  if (!expat_ok && !libxml_ok)
    return TRUE;
  if (expat_ok && libxml_ok && strcmp (expat, libxml) == 0)
    return TRUE;
  if (!expat_ok && libxml_ok && namespace_error && expat_verdict == SFB_XML_MALFORMED)
    return TRUE;
  /* libxml2 takes a NUL after the root element for the end of the
   * document, and ignores what follows; XML allows no NUL anywhere, and
   * expat refuses it (a NUL elsewhere, libxml2 refuses too) */
  if (!expat_ok && libxml_ok && expat_verdict == SFB_XML_MALFORMED
      && memchr (data, '\0', length) != NULL)
    return TRUE;
  g_printerr ("expat (verdict %d): %s\nlibxml2 (verdict %d%s): %s\n",
              (int) expat_verdict,
              expat,
              (int) libxml_verdict,
              namespace_error ? ", namespace error" : "",
              libxml);
  return FALSE;
}

SfbXmlEventsMatch
sfb_xml_events_compare (const char *data, gsize length, const SfbXmlLimits *limits)
{
  g_autofree char *fast = NULL;
  g_autofree char *expat = NULL;
  SfbXmlVerdict verdict = SFB_XML_OK;

  if (!parsers_agree (data, length, limits))
    return SFB_XML_EVENTS_DIFFERENT;
  fast = sfb_xml_events_fast (data, length, limits);
  if (fast == NULL)
    return SFB_XML_EVENTS_FAST_GAVE_UP;
  expat = sfb_xml_events_expat (data, length, limits, &verdict);
  if (verdict == SFB_XML_OK && strcmp (fast, expat) == 0)
    return SFB_XML_EVENTS_SAME;
  g_printerr ("fast reader: %s\nexpat (verdict %d): %s\n", fast, (int) verdict, expat);
  return SFB_XML_EVENTS_DIFFERENT;
}
