/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSipMessage: one SIP request or response (RFC 3261 §7).
 *
 * Headers keep their order, duplicates and original spelling.  Lookups are
 * case-insensitive and map compact forms ("i", "m", "v"...) to full names.
 * A parsed header keeps its exact bytes (folding included) so a received
 * message serialises byte-for-byte; a header changed through the API is
 * written as "Name: value".  Header values are unfolded and trimmed.  A
 * value may legally hold a NUL byte inside a quoted-pair: the C-string
 * getters stop there, the indexed getter returns the full length.
 *
 * Limits apply to every parse (stream and datagram): a header section of
 * at most SFB_SIP_MAX_HEADER_SECTION bytes (start line and blank line
 * included), SFB_SIP_MAX_HEADERS headers, physical lines of at most
 * SFB_SIP_MAX_LINE bytes (without CRLF), bodies of at most SFB_SIP_MAX_BODY.
 * The line limit is larger than the classic 8 KiB because a TLS-DSK server
 * flight (certificate chain and CA list, base64) arrives in one
 * gssapi-data parameter.
 */
#pragma once

#include <glib-object.h>

#include "sfb-sip-error.h"

G_BEGIN_DECLS

#define SFB_SIP_MAX_HEADER_SECTION (64 * 1024)
#define SFB_SIP_MAX_HEADERS 256
#define SFB_SIP_MAX_LINE (32 * 1024)
#define SFB_SIP_MAX_BODY (4 * 1024 * 1024)

#define SFB_TYPE_SIP_MESSAGE (sfb_sip_message_get_type ())
G_DECLARE_FINAL_TYPE (SfbSipMessage, sfb_sip_message, SFB, SIP_MESSAGE, GObject)

SfbSipMessage *sfb_sip_message_new_request (const char *method, const char *request_uri);
SfbSipMessage *sfb_sip_message_new_response (guint status_code, const char *reason);
SfbSipMessage *sfb_sip_message_parse (const char *data, gsize len, GError **error);

gboolean sfb_sip_message_is_request (SfbSipMessage *self);
const char *sfb_sip_message_get_method (SfbSipMessage *self);
const char *sfb_sip_message_get_request_uri (SfbSipMessage *self);
guint sfb_sip_message_get_status_code (SfbSipMessage *self);
const char *sfb_sip_message_get_reason (SfbSipMessage *self);
const char *sfb_sip_message_get_start_line (SfbSipMessage *self);

guint sfb_sip_message_get_n_headers (SfbSipMessage *self);
const char *sfb_sip_message_get_header_name (SfbSipMessage *self, guint index);
const char *sfb_sip_message_get_header_value (SfbSipMessage *self, guint index, gsize *len);
int sfb_sip_message_find_header (SfbSipMessage *self, const char *name, guint start);
const char *sfb_sip_message_get_header (SfbSipMessage *self, const char *name);
guint sfb_sip_message_count_headers (SfbSipMessage *self, const char *name);
GStrv sfb_sip_message_get_header_values (SfbSipMessage *self, const char *name);

void sfb_sip_message_append_header (SfbSipMessage *self, const char *name, const char *value);
void sfb_sip_message_prepend_header (SfbSipMessage *self, const char *name, const char *value);
void sfb_sip_message_set_header (SfbSipMessage *self, const char *name, const char *value);
guint sfb_sip_message_remove_header (SfbSipMessage *self, const char *name);

GBytes *sfb_sip_message_get_body (SfbSipMessage *self);
void sfb_sip_message_set_body (SfbSipMessage *self, const char *content_type, GBytes *body);

gboolean
sfb_sip_message_get_cseq (SfbSipMessage *self, guint32 *number, char **method, GError **error);
gboolean sfb_sip_message_validate (SfbSipMessage *self, GError **error);

GBytes *sfb_sip_message_to_bytes (SfbSipMessage *self);
char *sfb_sip_message_to_string (SfbSipMessage *self);
char *sfb_sip_message_to_string_redacted (SfbSipMessage *self);

const char *sfb_sip_header_canonical_name (const char *name);
gboolean sfb_sip_header_name_equal (const char *a, const char *b);
GStrv sfb_sip_split_list (const char *value, gssize len);

G_END_DECLS
