/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsers of what PipeWire sends about a device: the Props parameter of a
 * node (volume, mute) and the JSON values of the "default" metadata.
 * Pure functions with size limits, fuzzed (tests/fuzz/fuzz-pw-parse.c).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Longest metadata value and node name accepted, in bytes */
#define SFB_PW_MAX_JSON 4096
#define SFB_PW_MAX_NAME 1024
/* Deepest nesting of objects and arrays in a metadata value */
#define SFB_PW_MAX_JSON_DEPTH 64
/* Most channels a volume is read from (SPA_AUDIO_MAX_CHANNELS) */
#define SFB_PW_MAX_CHANNELS 64

typedef struct
{
  gboolean has_volume;
  double volume; /* cubic scale, as desktop sliders and wpctl: linear = volume³ */
  gboolean has_mute;
  gboolean mute;
} SfbPwProps;

gboolean sfb_pw_parse_props (const void *data, gsize size, SfbPwProps *props);
char *sfb_pw_parse_default_name (const char *json);
gboolean sfb_pw_name_is_valid (const char *name);

G_END_DECLS
