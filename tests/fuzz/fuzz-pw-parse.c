/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: what PipeWire sends about a device, the Props pod of a
 * node (volume, mute) and the JSON value of a default-device metadata key.
 * A name sfbd reads must be the one json-glib reads (tests/oracle): sfbd's
 * reader is stricter, never different.
 */
#include "sfb-pw-json-oracle.h"
#include "sfb-pw-parse.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* PipeWire hands pods over 8-byte aligned; g_malloc is at least that */
  g_autofree guint8 *pod = g_memdup2 (data, size);
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autofree char *name = NULL;
  SfbPwProps props;

  if (sfb_pw_parse_props (pod, size, &props) && props.has_volume
      && (!isfinite (props.volume) || props.volume < 0.0))
    abort ();
  name = sfb_pw_parse_default_name (text);
  if (name != NULL && (!sfb_pw_name_is_valid (name) || strlen (name) > SFB_PW_MAX_NAME))
    abort ();
  if (name != NULL)
    {
      g_autofree char *reference = sfb_pw_json_oracle_default_name (text);

      if (g_strcmp0 (name, reference) != 0)
        abort ();
    }
  return 0;
}
