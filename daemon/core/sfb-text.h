/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Untrusted text (from the server, the user, D-Bus callers, files) on its
 * way into error text, logs and D-Bus properties: bounded, valid UTF-8,
 * nothing that can fake a line or reorder what the reader sees.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What error text quotes of an argument or a server's answer, in characters. */
#define SFB_TEXT_QUOTE_MAX 64

typedef enum
{
  SFB_TEXT_SINGLE_LINE = 0,
  /* Newlines and tabs are text (a note), not an attack. */
  SFB_TEXT_MULTI_LINE = 1 << 0,
  /* Bidi marks and embeddings are text in right-to-left languages (a note) */
  SFB_TEXT_ALLOW_BIDI = 1 << 1,
} SfbTextFlags;

typedef enum
{
  /* Invalid bytes and every character sfb_text_is_unsafe_char() names
   * become U+FFFD: nothing is hidden (arguments, logs). */
  SFB_TEXT_QUOTE_REPLACE = 0,
  /* For one line of a message a person reads (failure reasons): those
   * characters, spaces, the invisible ones (zero-width, BOM), invalid bytes
   * and U+FFFD (text quoted before) become one space per run, none at
   * either end. */
  SFB_TEXT_QUOTE_SPACES = 1 << 0,
} SfbTextQuoteFlags;

/* A copy of at most @max_chars characters of @text, reading at most @length
 * bytes (-1: up to its NUL) and never more than 4 × @max_chars + 4: valid
 * UTF-8, made safe as @flags says, and "…" where it was cut.  NULL gives "";
 * with SFB_TEXT_QUOTE_SPACES so does @max_chars 0. */
char *sfb_text_quote (const char *text, gssize length, gsize max_chars, SfbTextQuoteFlags flags);

/* sfb_text_quote() with SFB_TEXT_QUOTE_REPLACE */
char *sfb_text_quote_untrusted (const char *text, gssize length, gsize max_chars);

/* Characters that make no sense in one line of text shown to a person:
 * C0 and C1 controls, DEL, bidi marks, embeddings, overrides and isolates,
 * the line and paragraph separators, and the Unicode non-characters. */
gboolean sfb_text_is_unsafe_char (gunichar c);

/* Characters XML 1.0 can carry (its Char production). */
gboolean sfb_text_is_xml_char (gunichar c);

/* Checks a string argument: valid UTF-8, at most @max_bytes bytes, no unsafe
 * character (with SFB_TEXT_MULTI_LINE, newline and tab are allowed).  On
 * failure sets SFB_ERROR_INVALID_ARGS naming @what and quoting at most a
 * short sanitised prefix of @text. */
gboolean sfb_text_check_argument (
    const char *what, const char *text, gsize max_bytes, SfbTextFlags flags, GError **error);

/* The first @needle in @hay (memmem()), or NULL: faster where the
 * needle's first byte is rare, linear always. */
const char *
sfb_text_find_bytes (const char *hay, gsize hay_len, const char *needle, gsize needle_len);

G_END_DECLS
