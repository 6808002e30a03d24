/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What sfbctl prints: aligned "Key: value" blocks and tables for people
 * (with colour on a terminal), JSON for scripts, and errors in both forms.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "sfbctl.h"

G_BEGIN_DECLS

typedef enum
{
  SFBCTL_STYLE_BOLD,
  SFBCTL_STYLE_GOOD,
  SFBCTL_STYLE_BUSY,
  SFBCTL_STYLE_BAD,
  SFBCTL_STYLE_DIM,
} SfbctlStyle;

/* an escape sequence, or "" when stdout is not a colour terminal */
const char *sfbctl_style (SfbctlStyle style);
const char *sfbctl_style_reset (void);

/* Key: value blocks, keys aligned */
typedef struct _SfbctlFields SfbctlFields;
SfbctlFields *sfbctl_fields_new (void);
void sfbctl_fields_free (SfbctlFields *fields);
void sfbctl_fields_add (SfbctlFields *fields, const char *key, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
void sfbctl_fields_print (SfbctlFields *fields);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbctlFields, sfbctl_fields_free)

/* Tables with a header line, columns aligned */
typedef struct _SfbctlTable SfbctlTable;
SfbctlTable *sfbctl_table_new (const char *first_header, ...) G_GNUC_NULL_TERMINATED;
void sfbctl_table_free (SfbctlTable *table);
void sfbctl_table_add_row (SfbctlTable *table, const char *first_cell, ...);
void sfbctl_table_print (SfbctlTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbctlTable, sfbctl_table_free)

/* Values as a person reads them */
char *sfbctl_format_value (GVariant *value);
char *sfbctl_format_time (guint64 usec_since_epoch);
char *sfbctl_format_duration (guint64 usec);
/* Account.NextRetry for people: "14:03:27 (in 1 min 5 s)"; NULL for 0 */
char *sfbctl_format_next_retry (guint64 next_retry);
char *sfbctl_lookup_string (GVariant *dict, const char *key);

/* JSON: D-Bus names are the keys */
char *sfbctl_camel_case (const char *dbus_argument_name);
JsonNode *sfbctl_json_from_variant (GVariant *value);
JsonNode *sfbctl_json_from_properties (gpointer proxy);
void sfbctl_print_json (JsonNode *node);
void sfbctl_print_json_line (JsonNode *node);
int sfbctl_print_variant_json (GVariant *value);
int sfbctl_print_properties_json (gpointer proxy);

/* Results and errors; each returns the exit code to use */
int sfbctl_print_done (Sfbctl *ctl, const char *format, ...) G_GNUC_PRINTF (2, 3);
int sfbctl_print_error (Sfbctl *ctl, const GError *error);
int sfbctl_print_usage_error (Sfbctl *ctl, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* @text as error text may quote it: a short prefix, control characters as spaces */
char *sfbctl_quote (const char *text);
int sfbctl_print_error_named (Sfbctl *ctl, const char *error_name, const char *message);

G_END_DECLS
