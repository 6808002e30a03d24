/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSipParser: the incremental, I/O-free parser of a SIP byte stream
 * (TLS or TCP).  Feed it chunks of any size; complete messages queue up
 * for sfb_sip_parser_pop().
 *
 * Framing is by Content-Length; a message without one has no body, unless
 * it has a Content-Type, which is an error (docs/protocol.md §3).  CR and LF
 * between messages are keep-alives (RFC 5626 §4.4.1: CRLFCRLF ping, CRLF
 * pong): they are skipped and each line end is counted.
 *
 * The limits of sfb-sip-message.h apply; the parser never buffers more
 * than one header section (SFB_SIP_MAX_HEADER_SECTION) or one body
 * (its Content-Length, at most SFB_SIP_MAX_BODY) besides the queue of
 * complete messages.  On any error the parser fails for good: every later
 * feed returns SFB_SIP_ERROR_FAILED until sfb_sip_parser_reset().
 * Messages completed before the error can still be popped.
 */
#pragma once

#include <glib-object.h>

#include "sfb-sip-message.h"

G_BEGIN_DECLS

#define SFB_TYPE_SIP_PARSER (sfb_sip_parser_get_type ())
G_DECLARE_FINAL_TYPE (SfbSipParser, sfb_sip_parser, SFB, SIP_PARSER, GObject)

SfbSipParser *sfb_sip_parser_new (void);
gboolean sfb_sip_parser_feed (SfbSipParser *self, const char *data, gsize len, GError **error);
SfbSipMessage *sfb_sip_parser_pop (SfbSipParser *self);
guint sfb_sip_parser_get_n_pending (SfbSipParser *self);
guint64 sfb_sip_parser_get_n_keepalives (SfbSipParser *self);
gboolean sfb_sip_parser_has_partial (SfbSipParser *self);
gsize sfb_sip_parser_get_buffered (SfbSipParser *self);
gboolean sfb_sip_parser_is_failed (SfbSipParser *self);
void sfb_sip_parser_reset (SfbSipParser *self);

G_END_DECLS
