/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sfb-pw-json-oracle.h"

#include "sfb-pw-parse.h"

#include <json-glib/json-glib.h>
#include <string.h>

char *
sfb_pw_json_oracle_default_name (const char *json)
{
  g_autoptr (JsonParser) parser = NULL;
  JsonNode *root;
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
  member = json_object_get_member (json_node_get_object (root), "name");
  if (member == NULL || !JSON_NODE_HOLDS_VALUE (member)
      || json_node_get_value_type (member) != G_TYPE_STRING)
    return NULL;
  name = json_node_get_string (member);
  if (!sfb_pw_name_is_valid (name))
    return NULL;
  return g_strdup (name);
}
