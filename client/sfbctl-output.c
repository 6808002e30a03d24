/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "sfbctl-output.h"

#include "sfb-error-view.h"
#include "sfb-presence-view.h"
#include "sfbd/sfb-names.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SFBCTL_NOT_RUNNING "sfbd is not running"
#define SFBCTL_START_HINT "Start it with: systemctl --user start sfbd"
#define SFBCTL_NO_REPLY "org.freedesktop.DBus.Error.NoReply"
#define SFBCTL_RESTART_HINT                                                                        \
  "See its log with: journalctl --user -u sfbd; restart it with: systemctl --user restart sfbd"

/* ---- styles ---- */

static gboolean
use_colour (void)
{
  static int colour = -1;

  if (colour < 0)
    colour = isatty (STDOUT_FILENO) && g_getenv ("NO_COLOR") == NULL
             && g_strcmp0 (g_getenv ("TERM"), "dumb") != 0;
  return colour;
}

static const char *
style_sequence (SfbctlStyle style)
{
  switch (style)
    {
    case SFBCTL_STYLE_BOLD:
      return "\033[1m";
    case SFBCTL_STYLE_GOOD:
      return "\033[32m";
    case SFBCTL_STYLE_BUSY:
      return "\033[33m";
    case SFBCTL_STYLE_BAD:
      return "\033[1;31m";
    case SFBCTL_STYLE_DIM:
      return "\033[2m";
    }
  return "";
}

const char *
sfbctl_style (SfbctlStyle style)
{
  return use_colour () ? style_sequence (style) : "";
}

const char *
sfbctl_style_reset (void)
{
  return use_colour () ? "\033[0m" : "";
}

/* ---- Key: value blocks ---- */

struct _SfbctlFields
{
  GPtrArray *keys;
  GPtrArray *values;
};

SfbctlFields *
sfbctl_fields_new (void)
{
  SfbctlFields *fields = g_new0 (SfbctlFields, 1);

  fields->keys = g_ptr_array_new_with_free_func (g_free);
  fields->values = g_ptr_array_new_with_free_func (g_free);
  return fields;
}

void
sfbctl_fields_free (SfbctlFields *fields)
{
  g_ptr_array_unref (fields->keys);
  g_ptr_array_unref (fields->values);
  g_free (fields);
}

void
sfbctl_fields_add (SfbctlFields *fields, const char *key, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (fields->values, g_strdup_vprintf (format, args));
  va_end (args);
  g_ptr_array_add (fields->keys, g_strdup_printf ("%s:", key));
}

static long
text_width (const char *text)
{
  return g_utf8_strlen (text, -1);
}

static void
print_padded (const char *text, long width)
{
  fputs (text, stdout);
  for (long i = text_width (text); i < width; i++)
    putchar (' ');
}

void
sfbctl_fields_print (SfbctlFields *fields)
{
  long width = 0;

  for (guint i = 0; i < fields->keys->len; i++)
    width = MAX (width, text_width (fields->keys->pdata[i]));

  for (guint i = 0; i < fields->keys->len; i++)
    {
      fputs (sfbctl_style (SFBCTL_STYLE_BOLD), stdout);
      print_padded (fields->keys->pdata[i], width + 1);
      fputs (sfbctl_style_reset (), stdout);
      printf ("%s\n", (const char *) fields->values->pdata[i]);
    }
  fflush (stdout);
}

/* ---- tables ---- */

struct _SfbctlTable
{
  guint n_columns;
  GPtrArray *rows; /* of GStrv; the first is the header */
};

static GStrv
collect_row (guint n_columns, const char *first_cell, va_list args)
{
  GStrv row = g_new0 (char *, n_columns + 1);

  for (guint i = 0; i < n_columns; i++)
    {
      const char *cell = i == 0 ? first_cell : va_arg (args, const char *);
      row[i] = g_strdup (cell != NULL ? cell : "");
    }
  return row;
}

SfbctlTable *
sfbctl_table_new (const char *first_header, ...)
{
  SfbctlTable *table = g_new0 (SfbctlTable, 1);
  va_list args;

  va_start (args, first_header);
  while (va_arg (args, const char *) != NULL)
    table->n_columns++;
  va_end (args);
  table->n_columns++;

  table->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  va_start (args, first_header);
  g_ptr_array_add (table->rows, collect_row (table->n_columns, first_header, args));
  va_end (args);
  return table;
}

void
sfbctl_table_free (SfbctlTable *table)
{
  g_ptr_array_unref (table->rows);
  g_free (table);
}

/* takes exactly as many cells as the table has columns; NULL is empty */
void
sfbctl_table_add_row (SfbctlTable *table, const char *first_cell, ...)
{
  va_list args;

  va_start (args, first_cell);
  g_ptr_array_add (table->rows, collect_row (table->n_columns, first_cell, args));
  va_end (args);
}

void
sfbctl_table_print (SfbctlTable *table)
{
  g_autofree long *widths = g_new0 (long, table->n_columns);

  for (guint r = 0; r < table->rows->len; r++)
    for (guint c = 0; c < table->n_columns; c++)
      widths[c] = MAX (widths[c], text_width (((GStrv) table->rows->pdata[r])[c]));

  for (guint r = 0; r < table->rows->len; r++)
    {
      GStrv row = table->rows->pdata[r];

      if (r == 0)
        fputs (sfbctl_style (SFBCTL_STYLE_BOLD), stdout);
      for (guint c = 0; c + 1 < table->n_columns; c++)
        print_padded (row[c], widths[c] + 2);
      printf ("%s%s\n", row[table->n_columns - 1], r == 0 ? sfbctl_style_reset () : "");
    }
  fflush (stdout);
}

/* ---- values ---- */

char *
sfbctl_format_value (GVariant *value)
{
  if (value == NULL)
    return g_strdup ("");
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    {
      g_autoptr (GVariant) inner = g_variant_get_variant (value);
      return sfbctl_format_value (inner);
    }
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_variant_dup_string (value, NULL);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    {
      g_autofree const char **strings = g_variant_get_strv (value, NULL);
      return g_strjoinv (", ", (char **) strings);
    }
  return g_variant_print (value, FALSE);
}

char *
sfbctl_format_time (guint64 usec_since_epoch)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (usec_since_epoch / G_USEC_PER_SEC);
  g_autoptr (GDateTime) local = NULL;

  if (utc == NULL)
    return g_strdup ("?");
  local = g_date_time_to_local (utc);
  return g_date_time_format (local, "%Y-%m-%d %H:%M:%S");
}

char *
sfbctl_format_duration (guint64 usec)
{
  if (usec < 1000)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " µs", usec);
  if (usec < G_USEC_PER_SEC)
    return g_strdup_printf ("%.1f ms", usec / 1000.0);
  return g_strdup_printf ("%.2f s", (double) usec / G_USEC_PER_SEC);
}

char *
sfbctl_format_next_retry (guint64 next_retry)
{
  gint64 left = (gint64) (next_retry / G_USEC_PER_SEC) - g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr (GDateTime) utc = NULL;
  g_autoptr (GDateTime) local = NULL;
  g_autofree char *clock = NULL;

  if (next_retry == 0)
    return NULL;
  utc = g_date_time_new_from_unix_utc ((gint64) (next_retry / G_USEC_PER_SEC));
  if (utc == NULL)
    return g_strdup ("?");
  local = g_date_time_to_local (utc);
  clock = g_date_time_format (local, "%H:%M:%S");
  if (left <= 0)
    return g_strdup_printf ("%s (now)", clock);
  if (left < 60)
    return g_strdup_printf ("%s (in %" G_GINT64_FORMAT " s)", clock, left);
  return g_strdup_printf (
      "%s (in %" G_GINT64_FORMAT " min %" G_GINT64_FORMAT " s)", clock, left / 60, left % 60);
}

/* the string at @key of an a{sv}, "" when absent */
char *
sfbctl_lookup_string (GVariant *dict, const char *key)
{
  g_autoptr (GVariant) value = g_variant_lookup_value (dict, key, NULL);

  return sfbctl_format_value (value);
}

/* ---- JSON ---- */

/* "internal_extension" -> "InternalExtension", as the API's dictionary keys */
char *
sfbctl_camel_case (const char *dbus_argument_name)
{
  GString *camel = g_string_new (NULL);
  gboolean upper = TRUE;

  for (const char *p = dbus_argument_name; *p != '\0'; p++)
    {
      if (*p == '_')
        {
          upper = TRUE;
          continue;
        }
      g_string_append_c (camel, upper ? g_ascii_toupper (*p) : *p);
      upper = FALSE;
    }
  return g_string_free (camel, FALSE);
}

JsonNode *
sfbctl_json_from_variant (GVariant *value)
{
  return json_gvariant_serialize (value);
}

/* every cached property of a generated proxy, in the order of the XML */
JsonNode *
sfbctl_json_from_properties (gpointer proxy)
{
  GDBusInterfaceInfo *info = g_dbus_proxy_get_interface_info (G_DBUS_PROXY (proxy));
  g_autoptr (JsonObject) object = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  for (guint i = 0; info->properties[i] != NULL; i++)
    {
      const char *name = info->properties[i]->name;
      g_autoptr (GVariant) value = g_dbus_proxy_get_cached_property (G_DBUS_PROXY (proxy), name);

      if (value != NULL)
        json_object_set_member (object, name, sfbctl_json_from_variant (value));
    }
  json_node_set_object (node, object);
  return node;
}

static JsonNode *valid_copy (JsonNode *node);

static JsonNode *
valid_object (JsonObject *object)
{
  JsonObject *copy = json_object_new ();
  JsonNode *node;
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      g_autofree char *valid_name = g_utf8_make_valid (name, -1);
      json_object_set_member (copy, valid_name, valid_copy (member));
    }
  node = json_node_init_object (json_node_alloc (), copy);
  json_object_unref (copy);
  return node;
}

/*
 * @node with every string and member name made valid UTF-8: json-glib
 * copies invalid bytes through, and a config file, an argument or a
 * future sfbd may carry some.  Control characters are escaped by
 * json-glib itself.
 */
static JsonNode *
valid_copy (JsonNode *node)
{
  JsonNode *copy;

  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return valid_object (json_node_get_object (node));
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        JsonArray *valid = json_array_sized_new (json_array_get_length (array));

        for (guint i = 0; i < json_array_get_length (array); i++)
          json_array_add_element (valid, valid_copy (json_array_get_element (array, i)));
        copy = json_node_init_array (json_node_alloc (), valid);
        json_array_unref (valid);
        return copy;
      }
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        {
          g_autofree char *text = g_utf8_make_valid (json_node_get_string (node), -1);
          return json_node_init_string (json_node_alloc (), text);
        }
      return json_node_copy (node);
    case JSON_NODE_NULL:
    default:
      return json_node_init_null (json_node_alloc ());
    }
}

static void
print_json_node (JsonNode *node, gboolean pretty)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) valid = valid_copy (node);
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, pretty);
  json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, valid);
  text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
  /* readers follow the output through pipes, line by line */
  fflush (stdout);
}

void
sfbctl_print_json (JsonNode *node)
{
  print_json_node (node, TRUE);
}

void
sfbctl_print_json_line (JsonNode *node)
{
  print_json_node (node, FALSE);
}

int
sfbctl_print_variant_json (GVariant *value)
{
  g_autoptr (JsonNode) node = sfbctl_json_from_variant (value);

  sfbctl_print_json (node);
  return SFBCTL_EXIT_OK;
}

int
sfbctl_print_properties_json (gpointer proxy)
{
  g_autoptr (JsonNode) node = sfbctl_json_from_properties (proxy);

  sfbctl_print_json (node);
  return SFBCTL_EXIT_OK;
}

/* ---- results and errors ---- */

/* a command that only acts: a line for people, {} for scripts */
int
sfbctl_print_done (Sfbctl *ctl, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  if (ctl->json)
    {
      g_autoptr (JsonNode) empty = json_node_init_object (json_node_alloc (), json_object_new ());
      sfbctl_print_json (empty);
      return SFBCTL_EXIT_OK;
    }

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  printf ("%s\n", message);
  fflush (stdout);
  return SFBCTL_EXIT_OK;
}

typedef struct
{
  const char *name; /* a D-Bus error name, or a prefix ending in "." */
  SfbctlExit exit_code;
  const char *message; /* replaces the message of a bus error when set */
  const char *hint;    /* a next step, for people only */
} SfbctlErrorInfo;

/* sfbd's own messages say what to do; only the bus's need help */
static const SfbctlErrorInfo error_infos[] = {
  { SFB_DBUS_ERROR_NOT_SIGNED_IN, SFBCTL_EXIT_NOT_AVAILABLE, NULL, NULL },
  { SFB_DBUS_ERROR_INVALID_ARGS, SFBCTL_EXIT_USAGE, NULL, NULL },
  { "org.freedesktop.DBus.Error.InvalidArgs", SFBCTL_EXIT_USAGE, NULL, NULL },
  { "org.freedesktop.DBus.Error.ServiceUnknown",
    SFBCTL_EXIT_NOT_AVAILABLE,
    SFBCTL_NOT_RUNNING,
    SFBCTL_START_HINT },
  { "org.freedesktop.DBus.Error.NameHasNoOwner",
    SFBCTL_EXIT_NOT_AVAILABLE,
    SFBCTL_NOT_RUNNING,
    SFBCTL_START_HINT },
  { "org.freedesktop.DBus.Error.Spawn.", SFBCTL_EXIT_NOT_AVAILABLE, NULL, SFBCTL_START_HINT },
  /* every timeout, named so: see sfbctl_print_error() */
  { SFBCTL_NO_REPLY, SFBCTL_EXIT_NOT_AVAILABLE, NULL, SFBCTL_RESTART_HINT },
  { "org.freedesktop.DBus.Error.NoServer", SFBCTL_EXIT_NOT_AVAILABLE, NULL, NULL },
  { "org.freedesktop.DBus.Error.Disconnected", SFBCTL_EXIT_NOT_AVAILABLE, NULL, NULL },
};

static const SfbctlErrorInfo *
lookup_error_info (const char *error_name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (error_infos); i++)
    {
      const char *name = error_infos[i].name;
      gboolean is_prefix = g_str_has_suffix (name, ".");

      if (is_prefix ? g_str_has_prefix (error_name, name) : g_str_equal (error_name, name))
        return &error_infos[i];
    }
  return NULL;
}

static void
print_error_json (Sfbctl *ctl, const char *error_name, const char *message)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "Error");
  json_builder_add_string_value (builder, error_name);
  json_builder_set_member_name (builder, "Message");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  print_json_node (node, !ctl->json_lines);
}

/* prints an error by its D-Bus name: JSON on stdout, or a line on stderr */
int
sfbctl_print_error_named (Sfbctl *ctl, const char *error_name, const char *message)
{
  const SfbctlErrorInfo *info = lookup_error_info (error_name);
  SfbctlExit exit_code = info != NULL ? info->exit_code : SFBCTL_EXIT_FAILURE;

  if (ctl->json)
    {
      print_error_json (ctl, error_name, message);
      return exit_code;
    }

  fflush (stdout);
  fprintf (stderr, "%s: %s\n", ctl->command != NULL ? ctl->command : g_get_prgname (), message);
  if (info != NULL && info->hint != NULL)
    fprintf (stderr, "%s\n", info->hint);
  return exit_code;
}

int
sfbctl_print_error (Sfbctl *ctl, const GError *error)
{
  /* the name must be read before the "GDBus.Error:" prefix is stripped */
  g_autofree char *error_name = g_dbus_error_get_remote_error (error);
  g_autoptr (GError) stripped = g_error_copy (error);
  const SfbctlErrorInfo *info;

  /* a call that got no reply in time: sfbd is hung or stopped (the
   * clients' "not answering", sfb-error-view.h) */
  if (sfb_error_view_call_failure (error) == SFB_CALL_NOT_ANSWERING)
    {
      g_autofree char *message
          = g_strdup_printf ("sfbd is not answering (no reply within %u s)", ctl->timeout_seconds);
      return sfbctl_print_error_named (ctl, SFBCTL_NO_REPLY, message);
    }
  g_dbus_error_strip_remote_error (stripped);
  if (error_name == NULL)
    error_name = g_strdup (SFB_DBUS_ERROR_FAILED);

  /* the bus's "was not provided by any .service files" helps nobody */
  info = lookup_error_info (error_name);
  if (info != NULL && info->message != NULL)
    return sfbctl_print_error_named (ctl, error_name, info->message);
  return sfbctl_print_error_named (ctl, error_name, stripped->message);
}

char *
sfbctl_quote (const char *text)
{
  return sfb_presence_view_clean_text (text, 60);
}

int
sfbctl_print_usage_error (Sfbctl *ctl, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  sfbctl_print_error_named (ctl, SFB_DBUS_ERROR_INVALID_ARGS, message);
  if (!ctl->json)
    fprintf (stderr, "Try “%s --help”.\n", ctl->command != NULL ? ctl->command : "sfbctl");
  return SFBCTL_EXIT_USAGE;
}
