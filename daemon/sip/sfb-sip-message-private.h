/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSipMessage's insides, shared by its files and SfbSipParser:
 *   sfb-sip-message.c            the object: names, construction, headers, body
 *   sfb-sip-message-parse.c      start line, header lines, framing, datagrams
 *   sfb-sip-message-validate.c   CSeq and the checks before a transaction
 *   sfb-sip-message-serialise.c  the bytes sent and the redacted log text
 */
#pragma once

#include "sfb-sip-message.h"
#include "sfb-sip-lex.h"
#include "sfb-sip-uri.h"

G_BEGIN_DECLS

#define SFB_SIP_KEY_BUCKET_BITS 5
#define SFB_SIP_KEY_BUCKETS (1u << SFB_SIP_KEY_BUCKET_BITS)

typedef struct
{
  const char *name; /* as written */
  const char *key;  /* the canonical name (sfb_sip_header_canonical_name()) */
  gsize key_len;
  guint32 key_tag;   /* sfb_sip_header_key_tag() of key: one compare a header per lookup */
  const char *value; /* unfolded and trimmed; may hold NUL bytes */
  gsize value_len;
  const char *raw; /* the header as received, folding included; NULL once built */
  gsize raw_len;
  /* parsed: name, value and raw live in the message's block; built: name
   * and value are the header's own */
  gboolean in_block;
  /* the value checked as a name-addr, once asked for (values never
   * change): its URI and tag, views into value */
  gboolean name_addr_checked;
  SfbSipNameAddrView name_addr;
} SfbSipHeader;

struct _SfbSipMessage
{
  GObject parent_instance;

  /* parsed: one allocation holding the head as received (the headers'
   * raw text, the start line made a string in place) and, after it, each
   * header's name and value and the method and Request-URI as strings;
   * NULL when built, the strings below then being the message's own */
  char *block;
  char *start_line;
  char *method; /* NULL for a response */
  char *request_uri;
  guint status_code; /* 0 for a request */
  char *reason;
  GArray *headers; /* of SfbSipHeader */
  GBytes *body;
  /* sfb_sip_message_find_header()'s index, made at the first lookup and
   * dropped by every change to the headers: for each bucket of key tags
   * (sfb_sip_header_key_bucket()), 1 + the index of its first header, 0
   * when none */
  gboolean key_first_valid;
  guint16 key_first[SFB_SIP_KEY_BUCKETS];
};

void sfb_sip_header_clear (SfbSipHeader *header);
/* Sets key and key_len from name (@name_len bytes): once, when the header
 * is made (names never change), so that lookups compare lengths before
 * letters. */
void sfb_sip_header_set_key (SfbSipHeader *header, gsize name_len);
/* a message without start line and headers, room made for @n_headers */
SfbSipMessage *sfb_sip_message_new_empty (guint n_headers);

/* inline: lookups walk every header, and GCC does not inline an exported
 * function in position-independent code (the static libraries are) */
static inline SfbSipHeader *
sfb_sip_message_header_at (SfbSipMessage *self, guint index)
{
  return &g_array_index (self->headers, SfbSipHeader, index);
}

/* A canonical name's length and first letter in lower case, in one word:
 * names that differ in it differ (equal tags still need the names compared). */
static inline guint32
sfb_sip_header_key_tag (const char *key, gsize key_len)
{
  return (guint32) key_len << 8 | (guchar) sfb_sip_ascii_lower (key[0]);
}
/* the bucket of a key tag in find_header()'s index (a multiplicative hash:
 * a received message's twenty-odd names spread over the buckets) */
static inline guint
sfb_sip_header_key_bucket (guint32 key_tag)
{
  return (key_tag * 2654435761u) >> (32 - SFB_SIP_KEY_BUCKET_BITS);
}

/* every change to a message's headers drops find_header()'s index */
static inline void
sfb_sip_message_headers_changed (SfbSipMessage *self)
{
  self->key_first_valid = FALSE;
}

/* The header at @index (From, To) checked as a name-addr, nothing built
 * (sfb_sip_name_addr_check()), at its first use only: validation and the
 * signature check read the same From and To.  NULL with @error when it
 * does not parse (then checked again if asked again). */
const SfbSipNameAddrView *
sfb_sip_message_header_name_addr (SfbSipMessage *self, guint index, GError **error);

/* SP or HTAB: the whitespace of a folded header line */
static inline gboolean
sfb_sip_is_sp (char c)
{
  return c == ' ' || c == '\t';
}

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

SfbSipMessage *
sfb_sip_message_parse_head (const char *head, gsize len, guint n_headers, GError **error);
gboolean sfb_sip_message_get_framing (
    SfbSipMessage *self, gboolean stream, gboolean *has_length, gsize *length, GError **error);
void sfb_sip_message_take_body (SfbSipMessage *self, GBytes *body);

G_END_DECLS
