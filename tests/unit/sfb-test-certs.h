/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Certificates made for a test: the tree keeps no keys. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  GBytes *cert_der;
  GBytes *cert_pem;
  GBytes *key_pem;
} SfbTestKeyPair;

/* A self-signed RSA certificate of @bits for "CN=@cn", valid from a
 * minute ago for @lifetime_s from now (negative: already expired), and
 * its key. */
void sfb_test_key_pair_make (SfbTestKeyPair *pair, const char *cn, gint64 lifetime_s, guint bits);
void sfb_test_key_pair_clear (SfbTestKeyPair *pair);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SfbTestKeyPair, sfb_test_key_pair_clear)

G_END_DECLS
