/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The RFC 3842 message summary (application/simple-message-summary): the
 * body of a NOTIFY Event: message-summary that a voicemail server sends an
 * endpoint, e.g.
 *
 *   Messages-Waiting: yes
 *   Message-Account: sip:alice@vmail.contoso.test
 *   Voice-Message: 2/8 (0/2)
 *
 * sfb_message_summary_parse() gives the count of unread voice messages:
 * the new count of Voice-Message when there is one, else 1 when messages
 * are waiting and 0 when not.  Messages-Waiting is required (RFC 3842
 * 5.2).  Limits (server data): SFB_MESSAGE_SUMMARY_MAX_BODY bytes, counts
 * capped at SFB_MESSAGE_SUMMARY_MAX_COUNT; no NUL bytes.  A body outside
 * them, or without Messages-Waiting, is SFB_ERROR_SERVER_REJECTED.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SFB_CT_MESSAGE_SUMMARY "application/simple-message-summary"
#define SFB_EVENT_MESSAGE_SUMMARY "message-summary"
#define SFB_MESSAGE_SUMMARY_MAX_BODY (16 * 1024)
#define SFB_MESSAGE_SUMMARY_MAX_COUNT 999999

gboolean
sfb_message_summary_parse (const char *data, gsize length, guint *unread_voice, GError **error);

G_END_DECLS
