/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-media"

#include "config.h"

#include "sfb-pw-parse.h"

#include <math.h>
#include <spa/param/props.h>
#include <spa/pod/pod.h>
#include <string.h>

/* A pod header read without trusting the alignment of @data */
static gboolean
read_pod_header (const guint8 *data, gsize size, struct spa_pod *pod)
{
  if (size < sizeof (*pod))
    return FALSE;
  memcpy (pod, data, sizeof (*pod));
  return pod->size <= size - sizeof (*pod);
}

static gboolean
read_bool (const guint8 *value, const struct spa_pod *header, gboolean *out)
{
  gint32 v;

  if (header->type != SPA_TYPE_Bool || header->size < sizeof (v))
    return FALSE;
  memcpy (&v, value + sizeof (*header), sizeof (v));
  *out = v != 0;
  return TRUE;
}

static gboolean
read_float (const guint8 *value, const struct spa_pod *header, float *out)
{
  if (header->type != SPA_TYPE_Float || header->size < sizeof (*out))
    return FALSE;
  memcpy (out, value + sizeof (*header), sizeof (*out));
  return isfinite (*out) && *out >= 0.0f;
}

/* the loudest channel of a Float array, as PulseAudio reports a volume */
static gboolean
read_channel_volumes (const guint8 *value, const struct spa_pod *header, float *out)
{
  struct spa_pod child;
  gsize n_values;
  float loudest = 0.0f;

  if (header->type != SPA_TYPE_Array || header->size < sizeof (child))
    return FALSE;
  memcpy (&child, value + sizeof (*header), sizeof (child));
  if (child.type != SPA_TYPE_Float || child.size != sizeof (float))
    return FALSE;
  n_values = (header->size - sizeof (child)) / sizeof (float);
  if (n_values == 0 || n_values > SFB_PW_MAX_CHANNELS)
    return FALSE;
  for (gsize i = 0; i < n_values; i++)
    {
      float v;

      memcpy (&v, value + sizeof (*header) + sizeof (child) + i * sizeof (float), sizeof (v));
      if (!isfinite (v) || v < 0.0f)
        return FALSE;
      loudest = MAX (loudest, v);
    }
  *out = loudest;
  return TRUE;
}

/*
 * Reads volume and mute from a SPA_TYPE_OBJECT_Props pod of @size bytes.
 * channelVolumes wins over the single volume; both are linear amplitudes
 * and come out on the cubic scale.  Returns FALSE for anything that is not
 * a well-formed Props object; fields that are absent or malformed stay
 * unset.
 */
gboolean
sfb_pw_parse_props (const void *data, gsize size, SfbPwProps *props)
{
  const guint8 *bytes = data;
  struct spa_pod pod;
  struct spa_pod_object_body body;
  gsize offset;
  gsize end;
  gboolean have_channels = FALSE;
  float channels = 0.0f;
  gboolean have_single = FALSE;
  float single = 0.0f;

  g_return_val_if_fail (props != NULL, FALSE);
  memset (props, 0, sizeof (*props));

  if (data == NULL || !read_pod_header (bytes, size, &pod) || pod.type != SPA_TYPE_Object
      || pod.size < sizeof (body))
    return FALSE;
  memcpy (&body, bytes + sizeof (pod), sizeof (body));
  if (body.type != SPA_TYPE_OBJECT_Props)
    return FALSE;

  end = sizeof (pod) + pod.size;
  offset = sizeof (pod) + sizeof (body);
  while (end - offset >= sizeof (struct spa_pod_prop))
    {
      struct spa_pod_prop prop;
      const guint8 *value;

      memcpy (&prop, bytes + offset, sizeof (prop));
      if (prop.value.size > end - offset - sizeof (prop))
        break;
      value = bytes + offset + offsetof (struct spa_pod_prop, value);
      switch (prop.key)
        {
        case SPA_PROP_channelVolumes:
          have_channels = read_channel_volumes (value, &prop.value, &channels);
          break;
        case SPA_PROP_volume:
          have_single = read_float (value, &prop.value, &single);
          break;
        case SPA_PROP_mute:
          props->has_mute = read_bool (value, &prop.value, &props->mute);
          break;
        default:
          break;
        }
      offset += SPA_ROUND_UP_N (sizeof (prop) + (gsize) prop.value.size, 8);
      if (offset > end)
        break;
    }

  if (have_channels || have_single)
    {
      props->has_volume = TRUE;
      props->volume = cbrt (have_channels ? channels : single);
    }
  return TRUE;
}

/* A node name sfbd accepts: bounded, UTF-8, printable */
gboolean
sfb_pw_name_is_valid (const char *name)
{
  gsize length;

  if (name == NULL)
    return FALSE;
  length = strnlen (name, SFB_PW_MAX_NAME + 1);
  if (length == 0 || length > SFB_PW_MAX_NAME || !g_utf8_validate (name, length, NULL))
    return FALSE;
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

/*
 * A strict reader of RFC 8259 JSON, just enough for the default-device
 * metadata values: an object whose "name" member is a string.  The whole
 * value is checked, the members skipped too: sfbd takes a name only out of
 * JSON, which every reader reads the same way.
 */
typedef struct
{
  const char *p;
  const char *end;
} JsonCursor;

static gboolean json_skip_value (JsonCursor *c, guint depth);

static void
json_skip_space (JsonCursor *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static gboolean
json_take (JsonCursor *c, char expected)
{
  json_skip_space (c);
  if (c->p == c->end || *c->p != expected)
    return FALSE;
  c->p++;
  return TRUE;
}

static gboolean
json_take_digits (JsonCursor *c)
{
  const char *start = c->p;

  while (c->p < c->end && g_ascii_isdigit (*c->p))
    c->p++;
  return c->p > start;
}

static gboolean
json_take_hex4 (JsonCursor *c, gunichar *out)
{
  *out = 0;
  if (c->end - c->p < 4)
    return FALSE;
  for (int i = 0; i < 4; i++, c->p++)
    {
      int digit = g_ascii_xdigit_value (*c->p);

      if (digit < 0)
        return FALSE;
      *out = *out << 4 | (gunichar) digit;
    }
  return TRUE;
}

/*
 * \uXXXX, after its "\u", with the low half when it is a surrogate pair.
 * Refused wherever they are: U+0000, where C strings end, and lone
 * surrogates, which have no UTF-8 (json-glib took some of them).
 */
static gboolean
json_take_unicode_escape (JsonCursor *c, GString *out)
{
  gunichar unit;
  gunichar low;

  if (!json_take_hex4 (c, &unit) || unit == 0 || (unit >= 0xDC00 && unit <= 0xDFFF))
    return FALSE;
  if (unit >= 0xD800 && unit <= 0xDBFF)
    {
      if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
        return FALSE;
      c->p += 2;
      if (!json_take_hex4 (c, &low) || low < 0xDC00 || low > 0xDFFF)
        return FALSE;
      unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
  if (out != NULL)
    {
      char utf8[6];

      g_string_append_len (out, utf8, g_unichar_to_utf8 (unit, utf8));
    }
  return TRUE;
}

static gboolean
json_take_escape (JsonCursor *c, GString *out)
{
  static const char escaped[] = "\"\\/bfnrt";
  static const char meant[] = "\"\\/\b\f\n\r\t";
  const char *found;

  if (c->p == c->end)
    return FALSE;
  if (*c->p == 'u')
    {
      c->p++;
      return json_take_unicode_escape (c, out);
    }
  found = *c->p != '\0' ? strchr (escaped, *c->p) : NULL;
  if (found == NULL)
    return FALSE;
  c->p++;
  if (out != NULL)
    g_string_append_c (out, meant[found - escaped]);
  return TRUE;
}

/*
 * A string, decoded into @out unless it is NULL.  Bytes from 0x80 are
 * copied as they are: the whole value was checked as UTF-8 first.
 */
static gboolean
json_take_string (JsonCursor *c, GString *out)
{
  if (!json_take (c, '"'))
    return FALSE;
  while (c->p < c->end)
    {
      const char *run = c->p;

      while (c->p < c->end && *c->p != '"' && *c->p != '\\' && (guchar) *c->p >= 0x20)
        c->p++;
      if (out != NULL)
        g_string_append_len (out, run, c->p - run);
      if (c->p == c->end || (guchar) *c->p < 0x20)
        return FALSE;
      if (*c->p++ == '"')
        return TRUE;
      if (!json_take_escape (c, out))
        return FALSE;
    }
  return FALSE;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static gboolean
json_skip_number (JsonCursor *c)
{
  if (c->p < c->end && *c->p == '-')
    c->p++;
  if (c->p < c->end && *c->p == '0')
    c->p++;
  else if (!json_take_digits (c))
    return FALSE;
  if (c->p < c->end && *c->p == '.')
    {
      c->p++;
      if (!json_take_digits (c))
        return FALSE;
    }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E'))
    {
      c->p++;
      if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
        c->p++;
      if (!json_take_digits (c))
        return FALSE;
    }
  return TRUE;
}

static gboolean
json_skip_word (JsonCursor *c, const char *word)
{
  gsize length = strlen (word);

  if ((gsize) (c->end - c->p) < length || memcmp (c->p, word, length) != 0)
    return FALSE;
  c->p += length;
  return TRUE;
}

/* The items of an array, after its '[' */
static gboolean
json_skip_items (JsonCursor *c, guint depth)
{
  json_skip_space (c);
  if (c->p < c->end && *c->p == ']')
    {
      c->p++;
      return TRUE;
    }
  do
    if (!json_skip_value (c, depth))
      return FALSE;
  while (json_take (c, ','));
  return json_take (c, ']');
}

/* The value of a "name" member: a string replaces *@name, anything else clears it */
static gboolean
json_read_name (JsonCursor *c, guint depth, char **name)
{
  g_autoptr (GString) value = NULL;

  g_clear_pointer (name, g_free);
  json_skip_space (c);
  if (c->p == c->end || *c->p != '"')
    return json_skip_value (c, depth);
  value = g_string_new (NULL);
  if (!json_take_string (c, value))
    return FALSE;
  *name = g_string_free (g_steal_pointer (&value), FALSE);
  return TRUE;
}

/*
 * The members of an object, after its '{'.  With @name, the last "name"
 * member counts (json-glib's choice among duplicates).
 */
static gboolean
json_read_members (JsonCursor *c, guint depth, char **name)
{
  g_autoptr (GString) key = g_string_new (NULL);

  json_skip_space (c);
  if (c->p < c->end && *c->p == '}')
    {
      c->p++;
      return TRUE;
    }
  do
    {
      gboolean is_name;

      g_string_truncate (key, 0);
      if (!json_take_string (c, key) || !json_take (c, ':'))
        return FALSE;
      is_name = name != NULL && key->len == 4 && memcmp (key->str, "name", 4) == 0;
      if (!(is_name ? json_read_name (c, depth, name) : json_skip_value (c, depth)))
        return FALSE;
    }
  while (json_take (c, ','));
  return json_take (c, '}');
}

static gboolean
json_skip_value (JsonCursor *c, guint depth)
{
  json_skip_space (c);
  if (c->p == c->end)
    return FALSE;
  switch (*c->p)
    {
    case '"':
      return json_take_string (c, NULL);
    case '{':
    case '[':
      if (depth == SFB_PW_MAX_JSON_DEPTH)
        return FALSE;
      return *c->p++ == '{' ? json_read_members (c, depth + 1, NULL)
                            : json_skip_items (c, depth + 1);
    case 't':
      return json_skip_word (c, "true");
    case 'f':
      return json_skip_word (c, "false");
    case 'n':
      return json_skip_word (c, "null");
    default:
      return json_skip_number (c);
    }
}

/*
 * The node name in a default-device metadata value, {"name":"alsa_output…"};
 * NULL when the value is not such an object.
 */
char *
sfb_pw_parse_default_name (const char *json)
{
  g_autofree char *name = NULL;
  JsonCursor c;
  gsize length;

  if (json == NULL)
    return NULL;
  length = strnlen (json, SFB_PW_MAX_JSON + 1);
  if (length > SFB_PW_MAX_JSON || !g_utf8_validate (json, length, NULL))
    return NULL;
  c = (JsonCursor){ json, json + length };
  if (!json_take (&c, '{') || !json_read_members (&c, 1, &name))
    return NULL;
  json_skip_space (&c);
  if (c.p != c.end || !sfb_pw_name_is_valid (name))
    return NULL;
  return g_steal_pointer (&name);
}
