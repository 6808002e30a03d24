/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Content-Type values of SIP bodies and their MIME parts (RFC 2045 §5.1):
 * the media type and the parameters, for the IM and presence parsers.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The lower-case media type of a Content-Type value ("" when none), and a
 * parameter of it (NULL when absent; quotes removed; a quoted value may
 * hold ';'). */
char *sfb_content_type_media (const char *content_type);
char *sfb_content_type_media_len (const char *start, gsize length);
char *sfb_content_type_param (const char *content_type, const char *name);

G_END_DECLS
