/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Endpoint identity (docs/protocol.md §1): the epid that names this endpoint in
 * every From tag and Contact, the +sip.instance UUID derived from it, and
 * the opaque of the GRUU the server assigns (§17.13).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 10 lower-hex epid, persisted 0600 in <state_dir>/epid */
char *sfb_endpoint_id_load_or_create (const char *state_dir, GError **error);
/* upper-case 8-4-4-4-12 UUID (no urn:uuid:) per §1, §15.3 vectors */
char *sfb_endpoint_id_to_instance (const char *epid);
/* "user:epid:<b64url>" per §17.13 — used to check the server's GRUU */
char *sfb_endpoint_id_gruu_opaque (const char *instance);

G_END_DECLS
