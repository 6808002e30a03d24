/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: what the server says about a registration
 * (daemon/session/sfb-registration.h): the 200 OK to REGISTER (GRUU among
 * the Contacts, Expires, ms-keep-alive, Supported, Allow-Events, Server),
 * the 301 Contact, ms-diagnostics, Retry-After and registration-notify.
 * The input is a whole SIP message; whatever comes out must be bounded,
 * free of controls and valid UTF-8 (it reaches logs, traces and D-Bus).
 */
#include "sfb-registration.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* sanitize() keeps at most @max characters and adds "…" where it cuts;
 * a character is at most 4 bytes (invalid bytes become 3-byte U+FFFD) */
static void
check_text (const char *text, gsize max)
{
  if (text == NULL)
    return;
  if (!g_utf8_validate (text, -1, NULL) || g_utf8_strlen (text, -1) > (glong) max + 1
      || strlen (text) > 4 * max + 3)
    abort ();
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      abort ();
}

/* a DNS name or an IP address: dialled, and shown in traces */
static gboolean
is_host (const char *host)
{
  if (host == NULL || *host == '\0' || strlen (host) > SFB_REGISTRATION_MAX_HOST)
    return FALSE;
  for (const char *p = host; *p != '\0'; p++)
    if (!g_ascii_isgraph (*p))
      return FALSE;
  return TRUE;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);
  g_log_set_writer_func (g_log_writer_default, NULL, NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (SfbSipMessage) message = sfb_sip_message_parse ((const char *) data, size, NULL);
  g_autoptr (SfbRegistration) registration = NULL;
  g_autoptr (SfbDeregistration) deregistration = NULL;
  g_autofree char *diagnostics = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *host = NULL;
  guint16 port = 0;
  guint64 number = 0;

  if (message == NULL)
    return 0;

  registration = sfb_registration_parse (message, "E0DE506B-A705-59CC-9BFA-D37593141231");
  if (registration->gruu != NULL
      && (strlen (registration->gruu) > SFB_REGISTRATION_MAX_GRUU
          || strpbrk (registration->gruu, "<>\" \r\n") != NULL))
    abort ();
  check_text (registration->server, SFB_REGISTRATION_MAX_TEXT);
  check_text (registration->supported, SFB_REGISTRATION_MAX_LIST);
  check_text (registration->allow_events, SFB_REGISTRATION_MAX_LIST);
  if (registration->supported == NULL || registration->allow_events == NULL
      || registration->keepalive > 86400)
    abort ();
  (void) sfb_registration_list_has (registration->supported, "adhoclist");

  if (sfb_registration_parse_redirect (message, &host, &port, NULL))
    {
      if (!is_host (host) || port == 0)
        abort ();
    }
  else if (host != NULL)
    abort ();

  diagnostics = sfb_registration_dup_diagnostics (message);
  check_text (diagnostics, SFB_REGISTRATION_MAX_TEXT);
  reason = sfb_registration_dup_reason (message);
  check_text (reason, SFB_REGISTRATION_MAX_REASON);
  if (sfb_registration_diagnostics_code (message) > 99999)
    abort ();
  if (sfb_registration_header_number (message, "Retry-After", 3600, &number) && number > 3600)
    abort ();

  deregistration = sfb_deregistration_parse (message);
  check_text (deregistration->event, SFB_REGISTRATION_MAX_TEXT);
  check_text (deregistration->diagnostics, SFB_REGISTRATION_MAX_TEXT);
  if (deregistration->registrar_host != NULL
      && (deregistration->kind != SFB_DEREGISTRATION_REGISTRAR_CHANGE
          || !is_host (deregistration->registrar_host) || deregistration->registrar_port == 0))
    abort ();
  return 0;
}
