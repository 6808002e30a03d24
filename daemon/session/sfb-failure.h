/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Failure wording for the sign-in session: server text made fit to show,
 * and what a server's reason for ending a registration means.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The longest server text (a reason, diagnostics, a certificate's names)
 * quoted in an error message, in characters. */
#define SFB_FAILURE_MAX_QUOTE 200

/* Untrusted text (from a server, a certificate) made fit for an error
 * message, the trace and the journal: sfb_text_quote() with
 * SFB_TEXT_QUOTE_SPACES (sfb-text.h), kept under this name for its
 * callers. */
char *sfb_failure_quote (const char *text, gsize max_chars);

/* What a registration-notify that signed the account out means, as the
 * middle of a sentence ("an administrator removed this sign-in"): from the
 * ms-diagnostics code when known, else its reason text (quoted), else the
 * event; "the server gave no reason" when none of them says anything.
 * @event and @diagnostics may be NULL. */
char *sfb_failure_deregistration_reason (const char *event, const char *diagnostics);

/* The local time of @usec (µs since the epoch) as "14:03:27", for "next
 * attempt at ...". */
char *sfb_failure_format_time (gint64 usec);

G_END_DECLS
