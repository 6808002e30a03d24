/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The MS-SIPAE signature buffer (docs/protocol.md §5.1, MS-SIPAE 3.2.5.2,
 * MS-SIP 3.1.4.2): the fields a signature covers, each as "<value>",
 * copied byte-for-byte from the message.  Signing and verifying (NTLM,
 * Kerberos, TLS-DSK) happen elsewhere, over these bytes.
 */
#pragma once

#include <glib.h>

#include "sfb-sip-auth-header.h"
#include "sfb-sip-message.h"

G_BEGIN_DECLS

typedef struct
{
  const char *protocol;   /* the auth scheme: "NTLM", "Kerberos", "TLS-DSK" */
  const char *rand;       /* crand when sending, srand when verifying */
  const char *num;        /* cnum or snum, as a decimal string */
  const char *realm;      /* "SIP Communications Service" */
  const char *targetname; /* Kerberos: "sip/<fqdn>" */
  guint version;          /* >= 3: the MS-SIPAE field set; < 3: MS-SIP's */
} SfbSipSignatureParams;

char *sfb_sip_signature_buffer (SfbSipMessage *message,
                                const SfbSipSignatureParams *params,
                                GError **error);
gboolean sfb_sip_signature_buffer_append (GString *out,
                                          SfbSipMessage *message,
                                          const SfbSipSignatureParams *params,
                                          GError **error);
gboolean sfb_sip_signature_params_init_from_auth (SfbSipSignatureParams *params,
                                                  const SfbSipAuth *auth,
                                                  GError **error);
/* the same from the challenge sfb_sip_auth_view_find_message() found */
gboolean sfb_sip_signature_params_init_from_view (SfbSipSignatureParams *params,
                                                  const SfbSipAuthView *view,
                                                  GError **error);

G_END_DECLS
