/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the NTLM CHALLENGE parser, and the AUTHENTICATE that
 * SfbNtlmContext builds from whatever parses.
 */
#include "sfb-ntlm-context.h"
#include "sfb-ntlm.h"

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
  g_autoptr (SfbNtlmChallenge) challenge = sfb_ntlm_challenge_parse (data, size, NULL);
  g_autoptr (SfbAuthContext) context = NULL;
  g_autoptr (GBytes) token = g_bytes_new (data, size);
  g_autoptr (GBytes) first = NULL;
  g_autoptr (GBytes) reply = NULL;

  if (challenge == NULL)
    return 0;
  /* what parsed lies inside the input */
  if (g_bytes_get_size (challenge->target_info) > size
      || g_bytes_get_size (challenge->target_name) > size)
    abort ();

  context = sfb_ntlm_context_new ("DOMAIN\\user", "password", "HOST");
  first = sfb_auth_context_step (context, NULL, NULL);
  reply = sfb_auth_context_step (context, token, NULL);
  if (reply != NULL)
    {
      g_autoptr (GBytes) sig = NULL;

      if (!sfb_auth_context_is_established (context) || g_bytes_get_size (reply) < 64
          || memcmp (g_bytes_get_data (reply, NULL), "NTLMSSP\0\3\0\0\0", 12) != 0)
        abort ();
      sig = sfb_auth_context_sign (context, "<NTLM><1>", 9, NULL);
      if (sig == NULL || g_bytes_get_size (sig) != 16)
        abort ();
    }
  return 0;
}
