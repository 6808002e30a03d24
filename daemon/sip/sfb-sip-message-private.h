/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the datagram parse in sfb-sip-message.c and SfbSipParser. */
#pragma once

#include "sfb-sip-message.h"

G_BEGIN_DECLS

/* Incremental search for the blank line ending a header section, with the
 * limits enforced on the way; resumable when more bytes arrive. */
typedef struct
{
  gsize pos;
  gsize line_start;
  guint n_headers;
} SfbSipHeadScan;

gboolean sfb_sip_head_scan (
    SfbSipHeadScan *scan, const char *buf, gsize len, gsize *head_len, GError **error);

SfbSipMessage *sfb_sip_message_parse_head (const char *head, gsize len, GError **error);
gboolean sfb_sip_message_get_framing (
    SfbSipMessage *self, gboolean stream, gboolean *has_length, gsize *length, GError **error);
void sfb_sip_message_take_body (SfbSipMessage *self, GBytes *body);

G_END_DECLS
