/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sfb_xml_read_fast() (sfb-xml.h): a reader of our own for the plain
 * documents a presence notification carries, many per second in a storm,
 * where a general parser's tokeniser was most of the cost of each.
 *
 * It reads a strict subset of XML and gives up on anything else, leaving
 * the document to expat (sfb_xml_read_sax()), which then gives the
 * verdict and the error: so it never has to word one, and it accepts only
 * what expat accepts, calling the callbacks as that path calls them.  It
 * gives up on: a byte order mark, a DOCTYPE or any other "<!" than a plain
 * comment, CDATA, processing instructions (an XML declaration at the
 * start saying version 1.0, UTF-8 and standalone is read), names that are
 * not ASCII, prefixes that are not declared,
 * references other than the five predefined entities and character
 * references to XML characters, control characters in attribute values,
 * bytes that are not UTF-8 XML characters, duplicate attributes or
 * declarations, the reserved xml and xmlns namespaces, and anything over
 * its own limits or the caller's (then expat reports the limit).
 *
 * Every pointer it advances stays within [data, data + length): each read
 * checks the bytes left first.
 */
#define G_LOG_DOMAIN "sfbd-core"

#include "sfb-xml.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define FAST_MAX_DEPTH 64
#define FAST_MAX_NAME 128 /* bytes of a qualified name, NUL included */
#define FAST_MAX_ATTRIBUTES 32
#define FAST_MAX_NAMESPACES 32 /* declarations in scope */
#define FAST_NAMES 4096        /* local names of the open elements */
#define FAST_URIS 4096         /* namespace names in scope */
#define FAST_SCRATCH 8192      /* one start tag's attribute names and decoded values */

#define XML_NS "http://www.w3.org/XML/1998/namespace"
#define XMLNS_NS "http://www.w3.org/2000/xmlns/"

typedef struct
{
  const char *qname; /* in the document: the end tag must repeat it */
  gsize qname_len;
  guint name_at; /* its NUL-terminated local name in names[] */
  guint n_ns;    /* declarations in scope before it */
  guint uris_used;
} Open;

typedef struct
{
  const char *prefix; /* in the document; NULL: the default namespace */
  gsize prefix_len;
  const char *uri; /* NUL-terminated, in uris[]; NULL: none (xmlns="") */
} Ns;

typedef struct
{
  const char *prefix, *local, *value, *value_end;
  gsize prefix_len, local_len;
  gboolean has_reference;
} RawAttr;

typedef struct
{
  const char *p;
  const char *end;
  const SfbXmlLimits *limits;
  const SfbXmlSax *sax;
  gpointer user_data;
  guint depth;
  guint count;
  gboolean root_done;
  Open open[FAST_MAX_DEPTH + 1]; /* by depth, the root at 1 */
  Ns ns[FAST_MAX_NAMESPACES];
  guint n_ns;
  guint names_used;
  guint uris_used;
  char names[FAST_NAMES];
  char uris[FAST_URIS];
  char scratch[FAST_SCRATCH];
} Fast;

/* What each byte is, for the scanning loops (one table look-up a byte). */
enum
{
  NAME_START = 1 << 0, /* ASCII letters and "_" */
  NAME_CHAR = 1 << 1,  /* those, digits, "-", "." */
  BLANK = 1 << 2,      /* space, tab, LF, CR */
  IN_TEXT = 1 << 3,    /* to look at in text: "<", "&", "]", CR, controls, not ASCII */
  IN_VALUE = 1 << 4,   /* in an attribute value: quotes, "<", "&", controls, not ASCII */
  HIGH = 1 << 5,       /* not ASCII */
};

#define NS (NAME_START | NAME_CHAR)
#define CTRL (IN_TEXT | IN_VALUE)
#define HI (IN_TEXT | IN_VALUE | HIGH)

static const guint8 byte_class[256] = {
  [0x00 ... 0x08] = CTRL,
  ['\t'] = BLANK | IN_VALUE,
  ['\n'] = BLANK | IN_VALUE,
  [0x0B ... 0x0C] = CTRL,
  ['\r'] = BLANK | IN_TEXT | IN_VALUE,
  [0x0E ... 0x1F] = CTRL,
  [' '] = BLANK,
  ['"'] = IN_VALUE,
  ['\''] = IN_VALUE,
  ['&'] = IN_TEXT | IN_VALUE,
  ['<'] = IN_TEXT | IN_VALUE,
  [']'] = IN_TEXT,
  ['-'] = NAME_CHAR,
  ['.'] = NAME_CHAR,
  ['0' ... '9'] = NAME_CHAR,
  ['A' ... 'Z'] = NS,
  ['a' ... 'z'] = NS,
  ['_'] = NS,
  [0x80 ... 0xFF] = HI,
};

#undef NS
#undef CTRL
#undef HI

static inline gboolean
has_class (char c, guint8 class)
{
  return (byte_class[(guchar) c] & class) != 0;
}

static inline gboolean
is_blank (char c)
{
  return has_class (c, BLANK);
}

static inline gboolean
is_name_char (char c)
{
  return has_class (c, NAME_CHAR);
}

static inline gboolean
is_xml_char (guint32 c)
{
  return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF)
         || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* The length of the shortest-form UTF-8 sequence of an XML character at
 * @p (a byte >= 0x80), 0 when it is not one. */
static gsize
utf8_char (const char *p, const char *end)
{
  const guchar *u = (const guchar *) p;
  guint32 c;
  gsize n;

  if (u[0] < 0xC2)
    return 0;
  if (u[0] < 0xE0)
    n = 2, c = u[0] & 0x1F;
  else if (u[0] < 0xF0)
    n = 3, c = u[0] & 0x0F;
  else if (u[0] < 0xF5)
    n = 4, c = u[0] & 0x07;
  else
    return 0;
  if ((gsize) (end - p) < n)
    return 0;
  for (gsize i = 1; i < n; i++)
    {
      if ((u[i] & 0xC0) != 0x80)
        return 0;
      c = (c << 6) | (u[i] & 0x3F);
    }
  if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || !is_xml_char (c))
    return 0;
  return n;
}

/* The character a reference at @p ("&") stands for and its length in
 * *@len; 0 when it is not one of the five predefined entities or a
 * character reference to an XML character. */
static guint32
read_reference (const char *p, const char *end, gsize *len)
{
  static const struct
  {
    const char *name; /* after "&", ";" included */
    gsize len;
    guint32 c;
  } predefined[] = {
    { "amp;", 4, '&' },  { "lt;", 3, '<' },    { "gt;", 3, '>' },
    { "quot;", 5, '"' }, { "apos;", 5, '\'' },
  };
  const char *q = p + 1;
  gsize rest = end - q;

  if (rest >= 1 && *q == '#')
    {
      gboolean hex = rest >= 2 && q[1] == 'x';
      const char *d = q + (hex ? 2 : 1);
      guint32 value = 0;
      guint digits = 0;

      /* at most 8 digits: no overflow, and U+10FFFF needs 7 */
      for (; d < end && digits < 9; d++, digits++)
        {
          int x = hex ? g_ascii_xdigit_value (*d) : g_ascii_digit_value (*d);

          if (x < 0)
            break;
          value = value * (hex ? 16 : 10) + (guint32) x;
        }
      if (digits == 0 || digits > 8 || d >= end || *d != ';' || !is_xml_char (value))
        return 0;
      *len = d + 1 - p;
      return value;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (predefined); i++)
    if (rest >= predefined[i].len && memcmp (q, predefined[i].name, predefined[i].len) == 0)
      {
        *len = 1 + predefined[i].len;
        return predefined[i].c;
      }
  return 0;
}

/* Blocks of 16 bytes, compared all at once with GCC/clang vector
 * extensions; as signed bytes, the controls and the bytes not ASCII are
 * those below 0x20. */
typedef signed char Bytes __attribute__ ((vector_size (16)));
typedef unsigned char UBytes __attribute__ ((vector_size (16)));

/* How many of the 16 bytes before the first lane set in @hit (16: none).
 * With SSE2 one instruction gathers a bit a lane; elsewhere lane i is
 * byte i of two 64-bit words on a little-endian machine, and on another
 * any hit gives 0: the caller's byte loop then finds it. */
static inline gsize
lanes_before_hit (Bytes hit)
{
#ifdef __SSE2__
  guint mask = (guint) _mm_movemask_epi8 ((__m128i) hit);

  return __builtin_ctz (mask | 0x10000);
#else
  guint64 lanes[2];

  memcpy (lanes, &hit, sizeof lanes);
  if ((lanes[0] | lanes[1]) == 0)
    return 16;
  if (G_BYTE_ORDER != G_LITTLE_ENDIAN)
    return 0;
  return lanes[0] != 0 ? __builtin_ctzll (lanes[0]) / 8 : 8 + __builtin_ctzll (lanes[1]) / 8;
#endif
}

/* Past the bytes at @p that are not IN_VALUE, 16 at a time while 16 are
 * left (the values of a presence document are mostly namespace names,
 * URIs and times: many bytes, none to look at), then one at a time. */
static const char *
skip_plain_value (const char *p, const char *end)
{
  while (end - p >= 16)
    {
      Bytes v, hit;
      gsize plain;

      memcpy (&v, p, sizeof v);
      hit = (v < 0x20) | (v == '"') | (v == '\'') | (v == '&') | (v == '<');
      p += plain = lanes_before_hit (hit);
      if (plain < 16)
        break;
    }
  while (p < end && !has_class (*p, IN_VALUE))
    p++;
  return p;
}

/* The lanes of @u within [@lo, @hi]: shifted so that @lo is -128, one
 * signed compare (unsigned lanes wrap, as C defines). */
#define IN_RANGE(u, lo, hi)                                                                        \
  ((Bytes) ((u) + (guchar) (0x80 - (lo))) < (signed char) ((hi) - (lo) + 1 - 0x80))

/* Past the NAME_CHAR bytes at @p, 16 at a time while 16 are left, then
 * one at a time: a start tag is mostly names.  Letters are "a" to "z"
 * once bit 0x20 is set; "-", "." and the digits are "-" to "9" but "/". */
static const char *
skip_name_chars (const char *p, const char *end)
{
  while (end - p >= 16)
    {
      UBytes u;
      Bytes name;
      gsize plain;

      memcpy (&u, p, sizeof u);
      name = IN_RANGE (u | 0x20, 'a', 'z') | (IN_RANGE (u, '-', '9') & (Bytes) (u != '/'))
             | (Bytes) (u == '_');
      p += plain = lanes_before_hit (~name);
      if (plain < 16)
        break;
    }
  while (p < end && is_name_char (*p))
    p++;
  return p;
}

#undef IN_RANGE

/* The scanning loops below work on a local pointer: f->p is stored in
 * memory a char read may alias, so the compiler would store and reload it
 * per byte. */

static gsize
skip_blanks (Fast *f)
{
  const char *start = f->p;
  const char *p = start;
  const char *end = f->end;

  while (p < end && is_blank (*p))
    p++;
  f->p = p;
  return p - start;
}

/* The end of an NCName of ASCII letters, digits, "_", "-", "." at @p;
 * @p when there is none, or when a byte >= 0x80 follows it (a name we do
 * not read). */
static inline const char *
ncname_end (const char *p, const char *end)
{
  const char *q;

  if (p >= end || !has_class (*p, NAME_START))
    return p;
  q = skip_name_chars (p + 1, end);
  return q < end && has_class (*q, HIGH) ? p : q;
}

/* An NCName at f->p (see ncname_end()): its length, 0 when none. */
static gsize
read_ncname (Fast *f)
{
  const char *start = f->p;

  f->p = ncname_end (start, f->end);
  return f->p - start;
}

/* A name, "prefix:local" or "local"; FALSE on anything else.  On a local
 * pointer, the two NCNames scanned inline: most of a start tag is names. */
static gboolean
read_qname (Fast *f, const char **prefix, gsize *prefix_len, const char **local, gsize *local_len)
{
  const char *start = f->p;
  const char *end = f->end;
  const char *p = ncname_end (start, end);

  if (p == start)
    return FALSE;
  *prefix = NULL;
  *prefix_len = 0;
  *local = start;
  *local_len = p - start;
  if (p < end && *p == ':')
    {
      const char *local_end = ncname_end (p + 1, end);

      if (local_end == p + 1)
        return FALSE;
      *prefix = start;
      *prefix_len = p - start;
      *local = p + 1;
      *local_len = local_end - (p + 1);
      p = local_end;
    }
  f->p = p;
  /* "a:b:c" and the like: expat refuses those */
  if (p < end && *p == ':')
    return FALSE;
  return (gsize) (p - start) < FAST_MAX_NAME;
}

static gboolean
name_is (const char *name, gsize len, const char *literal)
{
  return len == strlen (literal) && memcmp (name, literal, len) == 0;
}

/* The namespace name declared for @prefix (NULL: the default namespace)
 * in scope; *@found FALSE when none is. */
static const char *
lookup_ns (const Fast *f, const char *prefix, gsize prefix_len, gboolean *found)
{
  for (guint i = f->n_ns; i > 0; i--)
    {
      const Ns *ns = &f->ns[i - 1];

      if (prefix == NULL ? ns->prefix == NULL
                         : ns->prefix != NULL && ns->prefix_len == prefix_len
                               && memcmp (ns->prefix, prefix, prefix_len) == 0)
        {
          *found = TRUE;
          return ns->uri;
        }
    }
  *found = FALSE;
  return NULL;
}

/* '=' between optional blanks, then an opening quote: *@quote, f->p after it */
static gboolean
read_eq_quote (Fast *f, char *quote)
{
  const char *p = f->p;

  /* mostly '="', with no blanks to skip */
  if (f->end - p >= 2 && p[0] == '=' && (p[1] == '"' || p[1] == '\''))
    {
      *quote = p[1];
      f->p = p + 2;
      return TRUE;
    }
  skip_blanks (f);
  if (f->p >= f->end || *f->p != '=')
    return FALSE;
  f->p++;
  skip_blanks (f);
  if (f->p >= f->end || (*f->p != '"' && *f->p != '\''))
    return FALSE;
  *quote = *f->p++;
  return TRUE;
}

/* An attribute value from after its opening quote to the closing one:
 * XML characters, no "<", no control characters (expat turns tabs and
 * line ends into spaces: not done here), references checked later. */
static gboolean
read_value (Fast *f, char quote, RawAttr *a)
{
  const char *p = f->p;
  const char *end = f->end;
  gboolean has_reference = FALSE;

  a->value = p;
  for (;;)
    {
      gsize n;

      p = skip_plain_value (p, end);
      if (p >= end || *p == quote)
        break;
      if (has_class (*p, HIGH))
        {
          if ((n = utf8_char (p, end)) == 0)
            return FALSE;
          p += n;
          continue;
        }
      if (*p == '&')
        has_reference = TRUE;
      else if (*p != '"' && *p != '\'')
        return FALSE; /* "<", controls */
      p++;
    }
  if (p >= end)
    return FALSE;
  a->has_reference = has_reference;
  a->value_end = p;
  f->p = p + 1;
  return TRUE;
}

/* Copies the name of @len bytes at @src, in the document, and a NUL to
 * @out, which has @room bytes (more than @len).  Names are short: one
 * fixed move of 16 bytes, inlined, when the name is shorter and 16 bytes
 * are there to read and to write (those past the NUL are free space),
 * else a call to memcpy(). */
static inline void
copy_name (const Fast *f, char *out, gsize room, const char *src, gsize len)
{
  if (len < 16 && room >= 16 && f->end - src >= 16)
    memcpy (out, src, 16);
  else
    memcpy (out, src, len);
  out[len] = '\0';
}

/* Appends the name of @len bytes at @src and a NUL to the scratch space
 * at *@used; NULL when it is full. */
static inline const char *
scratch_copy (Fast *f, gsize *used, const char *src, gsize len)
{
  char *out = f->scratch + *used;
  gsize room = FAST_SCRATCH - *used;

  if (len >= room)
    return NULL;
  copy_name (f, out, room, src, len);
  *used += len + 1;
  return out;
}

/* A value with its references resolved, into the scratch space; FALSE
 * when full or on a reference we do not read. */
static gboolean
decode_value (Fast *f, gsize *used, const RawAttr *a, const char **value, const char **value_end)
{
  char *out = f->scratch + *used;
  char *out_end = f->scratch + FAST_SCRATCH;

  *value = out;
  for (const char *p = a->value; p < a->value_end;)
    {
      gsize len = 0;
      guint32 c;

      if (*p != '&')
        {
          if (out >= out_end)
            return FALSE;
          *out++ = *p++;
          continue;
        }
      c = read_reference (p, a->value_end, &len);
      if (c == 0 || out_end - out < 8)
        return FALSE;
      out += g_unichar_to_utf8 (c, out);
      p += len;
    }
  *value_end = out;
  *used = out - f->scratch;
  return TRUE;
}

/* Declares the namespace of "xmlns" or "xmlns:prefix" (@a). */
static gboolean
declare_ns (Fast *f, const RawAttr *a, guint first_new)
{
  const char *prefix = a->prefix != NULL ? a->local : NULL;
  gsize prefix_len = a->prefix != NULL ? a->local_len : 0;
  gsize len = a->value_end - a->value;
  Ns *ns;

  if (a->has_reference || f->n_ns >= FAST_MAX_NAMESPACES)
    return FALSE;
  if (prefix != NULL
      && (len == 0 || name_is (prefix, prefix_len, "xml") || name_is (prefix, prefix_len, "xmlns")))
    return FALSE;
  if (name_is (a->value, len, XML_NS) || name_is (a->value, len, XMLNS_NS))
    return FALSE;
  /* declared twice in this tag */
  for (guint i = first_new; i < f->n_ns; i++)
    if ((prefix == NULL) == (f->ns[i].prefix == NULL)
        && (prefix == NULL
            || (f->ns[i].prefix_len == prefix_len
                && memcmp (f->ns[i].prefix, prefix, prefix_len) == 0)))
      return FALSE;
  ns = &f->ns[f->n_ns];
  ns->prefix = prefix;
  ns->prefix_len = prefix_len;
  ns->uri = NULL;
  if (len > 0)
    {
      if (len >= FAST_URIS - f->uris_used)
        return FALSE;
      memcpy (f->uris + f->uris_used, a->value, len);
      f->uris[f->uris_used + len] = '\0';
      ns->uri = f->uris + f->uris_used;
      f->uris_used += len + 1;
    }
  f->n_ns++;
  return TRUE;
}

/* One of 64 bits for an attribute's local name, from its length and its
 * first and last bytes: equal names have the same, so a start tag's
 * attributes are compared with each other only when their bits meet. */
static inline guint64
local_name_bit (const RawAttr *a)
{
  guint sum = (guint) a->local_len + (guchar) a->local[0] + (guchar) a->local[a->local_len - 1];

  return G_GUINT64_CONSTANT (1) << (sum & 63);
}

/* Whether attribute @i (namespace name @uri) repeats one before it in
 * @raw, whose namespace names are in @out: the same name twice, or the
 * same local name in one namespace. */
static gboolean
is_duplicate (const RawAttr *raw, const SfbXmlAttr *out, guint i, const char *uri)
{
  const RawAttr *a = &raw[i];

  for (guint j = 0; j < i; j++)
    {
      const RawAttr *b = &raw[j];
      const char *b_uri = out[j].ns_uri;

      if (a->local_len == b->local_len && memcmp (a->local, b->local, a->local_len) == 0
          && (((a->prefix == NULL) == (b->prefix == NULL)
               && (a->prefix == NULL
                   || (a->prefix_len == b->prefix_len
                       && memcmp (a->prefix, b->prefix, a->prefix_len) == 0)))
              || (uri != NULL && b_uri != NULL && strcmp (uri, b_uri) == 0)))
        return TRUE;
    }
  return FALSE;
}

/* The attributes of a start tag whose declarations are in scope. */
static gboolean
build_attributes (Fast *f, const RawAttr *raw, guint n, SfbXmlAttr *out)
{
  gsize used = 0;
  guint64 seen = 0; /* local_name_bit() of the attributes before */
  guint64 bit;

  for (guint i = 0; i < n; i++)
    {
      const RawAttr *a = &raw[i];
      const char *uri = NULL;
      SfbXmlAttr *o = &out[i];
      const char *value_end;

      if (a->prefix != NULL)
        {
          gboolean found;

          if (name_is (a->prefix, a->prefix_len, "xml"))
            uri = XML_NS;
          else if ((uri = lookup_ns (f, a->prefix, a->prefix_len, &found)) == NULL)
            return FALSE; /* undeclared: a declared prefix has a name */
        }
      /* only a name whose bit is taken can be one before it */
      bit = local_name_bit (a);
      if ((seen & bit) != 0 && is_duplicate (raw, out, i, uri))
        return FALSE;
      seen |= bit;
      o->name = scratch_copy (f, &used, a->local, a->local_len);
      o->prefix = a->prefix != NULL ? scratch_copy (f, &used, a->prefix, a->prefix_len) : NULL;
      o->ns_uri = uri;
      if (o->name == NULL || (a->prefix != NULL && o->prefix == NULL))
        return FALSE;
      if (!a->has_reference)
        {
          o->value = a->value;
          value_end = a->value_end;
        }
      else if (!decode_value (f, &used, a, &o->value, &value_end))
        return FALSE;
      o->value_length = value_end - o->value;
    }
  return TRUE;
}

static void
pop_element (Fast *f)
{
  const Open *open = &f->open[f->depth];

  if (f->sax->end_element != NULL)
    f->sax->end_element (f->user_data, f->names + open->name_at);
  f->n_ns = open->n_ns;
  f->uris_used = open->uris_used;
  f->names_used = open->name_at;
  if (--f->depth == 0)
    f->root_done = TRUE;
}

/* "<name attributes>" or "<name attributes/>", f->p at "<". */
static gboolean
read_start_tag (Fast *f)
{
  const char *qname = ++f->p;
  const char *prefix, *local;
  gsize prefix_len, local_len;
  RawAttr raw[FAST_MAX_ATTRIBUTES];
  SfbXmlAttr attributes[FAST_MAX_ATTRIBUTES];
  guint n = 0;
  gboolean empty = FALSE;
  Open *open;

  if (f->root_done || !read_qname (f, &prefix, &prefix_len, &local, &local_len))
    return FALSE;
  if (f->depth + 1 > f->limits->max_depth || f->depth + 1 > FAST_MAX_DEPTH
      || (f->limits->max_elements != 0 && f->count + 1 > f->limits->max_elements))
    return FALSE;
  open = &f->open[f->depth + 1];
  open->qname = qname;
  open->qname_len = f->p - qname;
  open->n_ns = f->n_ns;
  open->uris_used = f->uris_used;
  open->name_at = f->names_used;
  for (;;)
    {
      gsize blanks = skip_blanks (f);
      RawAttr *a;
      char quote;

      if (f->p >= f->end)
        return FALSE;
      if (*f->p == '>' || *f->p == '/')
        {
          empty = *f->p == '/';
          if (empty && (f->end - f->p < 2 || f->p[1] != '>'))
            return FALSE;
          f->p += empty ? 2 : 1;
          break;
        }
      if (blanks == 0 || n >= FAST_MAX_ATTRIBUTES)
        return FALSE;
      a = &raw[n];
      if (!read_qname (f, &a->prefix, &a->prefix_len, &a->local, &a->local_len))
        return FALSE;
      if (!read_eq_quote (f, &quote))
        return FALSE;
      if (!read_value (f, quote, a))
        return FALSE;
      if (a->prefix == NULL ? name_is (a->local, a->local_len, "xmlns")
                            : name_is (a->prefix, a->prefix_len, "xmlns"))
        {
          if (!declare_ns (f, a, open->n_ns))
            return FALSE;
        }
      else
        n++;
    }
  if (prefix != NULL)
    {
      gboolean found;

      if (name_is (prefix, prefix_len, "xml") || name_is (prefix, prefix_len, "xmlns"))
        return FALSE;
      lookup_ns (f, prefix, prefix_len, &found);
      if (!found)
        return FALSE;
    }
  if (!build_attributes (f, raw, n, attributes))
    return FALSE;
  if (local_len >= FAST_NAMES - f->names_used)
    return FALSE;
  copy_name (f, f->names + f->names_used, FAST_NAMES - f->names_used, local, local_len);
  f->names_used += local_len + 1;
  f->depth++;
  f->count++;
  if (f->sax->start_element != NULL)
    f->sax->start_element (f->user_data, f->names + open->name_at, attributes, n);
  if (empty)
    pop_element (f);
  return TRUE;
}

/* "</name>", f->p at "<". */
static gboolean
read_end_tag (Fast *f)
{
  const Open *open = &f->open[f->depth];

  f->p += 2;
  if (f->depth == 0 || (gsize) (f->end - f->p) < open->qname_len
      || memcmp (f->p, open->qname, open->qname_len) != 0)
    return FALSE;
  f->p += open->qname_len;
  skip_blanks (f);
  if (f->p >= f->end || *f->p != '>')
    return FALSE; /* a longer name, or no ">" */
  f->p++;
  pop_element (f);
  return TRUE;
}

/* "<!-- comment -->" of printable ASCII, tabs and line feeds, f->p at "<". */
static gboolean
read_comment (Fast *f)
{
  if (f->end - f->p < 4 || memcmp (f->p, "<!--", 4) != 0)
    return FALSE;
  f->p += 4;
  if (f->p < f->end && *f->p == '-')
    return FALSE;
  for (; f->p < f->end; f->p++)
    {
      guchar c = *f->p;

      if (c == '-' && f->end - f->p >= 2 && f->p[1] == '-')
        {
          if (f->end - f->p < 3 || f->p[2] != '>')
            return FALSE;
          f->p += 3;
          return TRUE;
        }
      /* no "<": sfb_xml_read_sax() refuses "<!DOCTYPE" even in a comment */
      if ((c < 0x20 && c != '\t' && c != '\n') || c >= 0x7F || c == '<')
        return FALSE;
    }
  return FALSE;
}

static void
characters (Fast *f, const char *text, gsize length)
{
  if (length > 0 && f->sax->characters != NULL)
    f->sax->characters (f->user_data, text, length);
}

/* Text up to the next "<", f->p at its start; passed on inside the root
 * with line ends normalised and references resolved, as expat does. */
static gboolean
read_text (Fast *f)
{
  const char *run = f->p;

  if (f->depth == 0)
    {
      /* outside the root: blanks only, passed on to nobody */
      while (f->p < f->end && *f->p != '<')
        if (!is_blank (*f->p++))
          return FALSE;
      return TRUE;
    }
  for (;;)
    {
      const char *p = f->p;
      guchar c;
      gsize len = 0;
      guint32 ref;
      char utf8[8];

      while (p < f->end && !has_class (*p, IN_TEXT))
        p++;
      f->p = p;
      if (f->p >= f->end || *f->p == '<')
        break;
      c = *f->p;
      if (c >= 0x80)
        {
          if ((len = utf8_char (f->p, f->end)) == 0)
            return FALSE;
          f->p += len;
          continue;
        }
      if (c == ']')
        {
          if (f->end - f->p >= 3 && f->p[1] == ']' && f->p[2] == '>')
            return FALSE;
          f->p++;
          continue;
        }
      characters (f, run, f->p - run);
      if (c == '\r')
        {
          /* CR LF and a lone CR are a line feed */
          characters (f, "\n", 1);
          f->p++;
          if (f->p < f->end && *f->p == '\n')
            f->p++;
        }
      else if (c == '&' && (ref = read_reference (f->p, f->end, &len)) != 0)
        {
          characters (f, utf8, g_unichar_to_utf8 (ref, utf8));
          f->p += len;
        }
      else
        return FALSE;
      run = f->p;
    }
  characters (f, run, f->p - run);
  return TRUE;
}

/* At the very start: nothing, or <?xml version="1.0"?> with
 * encoding="UTF-8" (any case) and standalone="yes"/"no" if at all. */
static gboolean
read_declaration (Fast *f)
{
  static const char *const names[] = { "version", "encoding", "standalone" };
  guint next = 0;

  if (f->end - f->p < 5 || memcmp (f->p, "<?xml", 5) != 0)
    return TRUE;
  f->p += 5;
  for (;;)
    {
      gsize blanks = skip_blanks (f);
      const char *name = f->p;
      const char *value;
      gsize name_len, value_len;
      char quote;
      guint which;

      if (f->end - f->p >= 2 && f->p[0] == '?' && f->p[1] == '>')
        {
          f->p += 2;
          return next > 0;
        }
      if (blanks == 0 || (name_len = read_ncname (f)) == 0)
        return FALSE;
      for (which = next; which < G_N_ELEMENTS (names); which++)
        if (name_is (name, name_len, names[which]))
          break;
      /* version first, each at most once, in this order */
      if (which == G_N_ELEMENTS (names) || (next == 0 && which != 0))
        return FALSE;
      next = which + 1;
      if (!read_eq_quote (f, &quote))
        return FALSE;
      value = f->p;
      while (f->p < f->end && *f->p != quote && is_name_char (*f->p))
        f->p++;
      if (f->p >= f->end || *f->p != quote)
        return FALSE;
      value_len = f->p++ - value;
      if (which == 0   ? !name_is (value, value_len, "1.0")
          : which == 1 ? !(value_len == 5 && g_ascii_strncasecmp (value, "UTF-8", 5) == 0)
                       : !name_is (value, value_len, "yes") && !name_is (value, value_len, "no"))
        return FALSE;
    }
}

gboolean
sfb_xml_read_fast (const char *data,
                   gsize length,
                   const SfbXmlLimits *limits,
                   const SfbXmlSax *sax,
                   gpointer user_data)
{
  Fast f;

  g_return_val_if_fail (limits != NULL && sax != NULL, FALSE);

  if (data == NULL || length == 0 || length > limits->max_document || length > G_MAXINT)
    return FALSE;
  f.p = data;
  f.end = data + length;
  f.limits = limits;
  f.sax = sax;
  f.user_data = user_data;
  f.depth = 0;
  f.count = 0;
  f.root_done = FALSE;
  f.n_ns = 0;
  f.names_used = 0;
  f.uris_used = 0;
  if (!read_declaration (&f))
    return FALSE;
  while (f.p < f.end)
    {
      gboolean ok;

      if (*f.p != '<')
        ok = read_text (&f);
      else if (f.end - f.p < 2)
        ok = FALSE;
      else if (f.p[1] == '/')
        ok = read_end_tag (&f);
      else if (f.p[1] == '!')
        ok = read_comment (&f);
      else if (f.p[1] == '?')
        ok = FALSE;
      else
        ok = read_start_tag (&f);
      if (!ok)
        return FALSE;
    }
  return f.root_done && f.depth == 0;
}
