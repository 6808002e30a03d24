/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Instant-message documents (docs/protocol.md §19), pure: no I/O.
 *
 *  - The IM session description: the offer of an outgoing INVITE and the
 *    answer to an incoming one (m=message ... sip null / sip:<own AOR>),
 *    and the verdict on an incoming offer (IM, other media, unknown type).
 *  - Ms-Text-Format: the first message carried in the INVITE
 *    (type; charset; [msgr=...;] ms-body=<base64>, or a %-encoded body).
 *  - Message bodies reduced to plain text: text/plain, text/html,
 *    text/rtf and multipart/alternative (nested at most
 *    SFB_IM_MAX_DEPTH deep, at most SFB_IM_MAX_PARTS parts each).
 *  - Typing bodies: KeyboardActivity INFO and RFC 3994 isComposing.
 *  - The words for a message that could not be delivered.
 *
 * Every input comes from the network: bodies over SFB_IM_MAX_BODY bytes
 * are refused, HTML and RTF are walked with a bounded state machine (RTF
 * groups at most SFB_IM_MAX_RTF_DEPTH deep), and the text returned is
 * valid UTF-8 of at most SFB_IM_MAX_TEXT bytes without control characters
 * other than newline and tab (invalid bytes become U+FFFD).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SFB_IM_MAX_BODY (256 * 1024)
#define SFB_IM_MAX_TEXT (16 * 1024)
#define SFB_IM_MAX_PARTS 16
#define SFB_IM_MAX_DEPTH 2
#define SFB_IM_MAX_RTF_DEPTH 64
/* Longest text embedded in the INVITE's Ms-Text-Format (bytes); a longer
 * first message goes as a MESSAGE after the 200. */
#define SFB_IM_MAX_EMBEDDED_TEXT 4096

/* What sfbd renders (a=accept-types of its offer and answer). */
#define SFB_IM_ACCEPT_TYPES "text/plain text/html text/rtf multipart/alternative"

typedef enum
{
  SFB_IM_OFFER_MESSAGE,      /* an IM session: answer 200 */
  SFB_IM_OFFER_OTHER_MEDIA,  /* SDP without m=message (audio, video...): 488 */
  SFB_IM_OFFER_UNKNOWN_TYPE, /* a body sfbd does not understand: 415 */
} SfbImOffer;

/* The SDP of an outgoing IM INVITE (m=message 5060 sip null) from @ip. */
char *sfb_im_sdp_offer (const char *ip);
/* The SDP of the 200 to an incoming IM INVITE (m=message 5060 sip @aor). */
char *sfb_im_sdp_answer (const char *ip, const char *aor);
/* Classifies an INVITE body: application/sdp with an m=message (or
 * m=x-ms-message) line is an IM session; application/sdp without one, no
 * body, or multipart/alternative of SDPs none of which is IM is other
 * media; any other body type is unknown. */
SfbImOffer sfb_im_offer_classify (const char *content_type, const char *data, gsize length);

/* The Ms-Text-Format value carrying @text (UTF-8), or NULL when @text is
 * longer than SFB_IM_MAX_EMBEDDED_TEXT. */
char *sfb_im_text_format_build (const char *text);
/* The plain text of an Ms-Text-Format value, or NULL with @error. */
char *sfb_im_text_format_parse (const char *value, GError **error);

/* The plain text of a message body of @content_type, or NULL with @error
 * (SFB_ERROR_FAILED) for a type sfbd does not render, or a body that is too
 * large, too deep or not decodable. */
char *
sfb_im_body_to_text (const char *content_type, const char *data, gsize length, GError **error);
/* Whether sfbd renders bodies of @content_type (for 200 vs 415). */
gboolean sfb_im_is_text_type (const char *content_type);

/* Typing: 1 typing, 0 stopped, -1 not a typing body. */
int sfb_im_typing_parse (const char *content_type, const char *data, gsize length);
/* The KeyboardActivity INFO body (Content-Type application/xml). */
char *sfb_im_typing_build (gboolean typing);

/* Why a message to @uri was not delivered, in words, for the final
 * response @code / @reason with its ms-diagnostics and Warning headers
 * (each may be NULL; quoted bounded and made safe). */
char *sfb_im_failure_text (const char *uri,
                           guint code,
                           const char *reason,
                           const char *ms_diagnostics,
                           const char *warning);

/* @text made safe for a message: valid UTF-8 (invalid bytes become U+FFFD),
 * CR LF and CR become LF, control characters other than LF and tab are
 * dropped, cut at SFB_IM_MAX_TEXT bytes on a character boundary. */
char *sfb_im_clean_text (const char *text, gssize length);

G_END_DECLS
