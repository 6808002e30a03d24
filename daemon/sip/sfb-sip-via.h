/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Via header values (RFC 3261 §20.42): sent-protocol, sent-by and params.
 * LWS is allowed around '/' and ':' (RFC 4475 wsinv).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SfbSipVia SfbSipVia;

GPtrArray *sfb_sip_via_parse_list (const char *text, gssize len, GError **error);
gboolean sfb_sip_via_check_list (const char *text, gssize len, GError **error);
void sfb_sip_via_free (SfbSipVia *via);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbSipVia, sfb_sip_via_free)

const char *sfb_sip_via_get_protocol_name (const SfbSipVia *via);
const char *sfb_sip_via_get_protocol_version (const SfbSipVia *via);
const char *sfb_sip_via_get_transport (const SfbSipVia *via);
const char *sfb_sip_via_get_host (const SfbSipVia *via);
guint16 sfb_sip_via_get_port (const SfbSipVia *via);
const char *sfb_sip_via_get_param (const SfbSipVia *via, const char *name);
const char *sfb_sip_via_get_branch (const SfbSipVia *via);

G_END_DECLS
