/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-media"

#include "config.h"

#include "sfb-pw-parse.h"

#include <json-glib/json-glib.h>
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
 * The node name in a default-device metadata value, {"name":"alsa_output…"};
 * NULL when the value is not such an object.
 */
char *
sfb_pw_parse_default_name (const char *json)
{
  g_autoptr (JsonParser) parser = NULL;
  JsonNode *root;
  JsonObject *object;
  JsonNode *member;
  const char *name;

  if (json == NULL || strnlen (json, SFB_PW_MAX_JSON + 1) > SFB_PW_MAX_JSON)
    return NULL;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, json, -1, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  object = json_node_get_object (root);
  member = json_object_get_member (object, "name");
  if (member == NULL || !JSON_NODE_HOLDS_VALUE (member)
      || json_node_get_value_type (member) != G_TYPE_STRING)
    return NULL;
  name = json_node_get_string (member);
  if (!sfb_pw_name_is_valid (name))
    return NULL;
  return g_strdup (name);
}
