/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the certificate provisioning parsers (docs/protocol.md §8.2):
 * both mex documents, the web ticket RSTR (and the proof-signed Security
 * header built from whatever parses), the GetAndPublishCert answer.
 */
#include "sfb-cert-provisioning.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  g_autoptr (SfbCertProvMetadata) meta = sfb_cert_prov_parse_mex (text, size, NULL);
  g_autofree char *port = sfb_cert_prov_parse_webticket_mex (text, size, NULL);
  g_autoptr (SfbWebTicket) ticket = sfb_cert_prov_parse_rstr (text, size, NULL);
  g_autoptr (GBytes) cert = sfb_cert_prov_parse_certificate (text, size, NULL);

  if (meta != NULL && (meta->issuer == NULL || meta->auth_uri == NULL))
    abort ();
  /* addresses are https only */
  if (port != NULL && g_ascii_strncasecmp (port, "https://", 8) != 0)
    abort ();
  if (ticket != NULL)
    {
      static const guint8 key[32] = { 1 };
      g_autofree char *security = NULL;

      if (ticket->assertion == NULL || ticket->assertion_id == NULL)
        abort ();
      security = sfb_cert_prov_build_security (ticket, key, sizeof key, NULL);
      if (security == NULL || strlen (security) > 4 * SFB_CERT_PROV_MAX_DOCUMENT)
        abort ();
    }
  if (cert != NULL && g_bytes_get_size (cert) > size)
    abort ();
  return 0;
}
