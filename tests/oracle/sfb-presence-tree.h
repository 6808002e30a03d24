/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parsers of categories documents and presence notifications as they
 * were, reading a tree (sfb-xml.h): the reference the daemon's readers
 * (sfb_xml_read_fast(), expat's callbacks) are compared with by
 * tests/unit/test-presence-sax.c and fuzz-presence; and the daemon's parser
 * held to expat alone.  Built into those tests only, never into the
 * daemon.
 */
#pragma once

#include "sfb-presence-doc-private.h"

G_BEGIN_DECLS

SfbPresenceInfo *
sfb_presence_parse_categories_tree (const char *data, gsize length, GError **error);
SfbPresenceNotify *sfb_presence_notify_parse_tree (const char *content_type,
                                                   const char *data,
                                                   gsize length,
                                                   GError **error);
/* The daemon's notification parser with expat reading every part
 * (SFB_PRESENCE_READ_EXPAT), where the daemon tries its fast reader first. */
SfbPresenceNotify *sfb_presence_notify_parse_expat (const char *content_type,
                                                    const char *data,
                                                    gsize length,
                                                    GError **error);

G_END_DECLS
