/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the server says about a registration: see sfb-registration.h. */
#include "sfb-registration.h"
#include "sfb-error.h"
#include "sfb-sip-uri.h"
#include "sfb-text.h"

#include <string.h>

char *
sfb_registration_sanitize (const char *text, gssize len, gsize max)
{
  return sfb_text_quote_untrusted (text, len, max);
}

char *
sfb_registration_dup_reason (SfbSipMessage *response)
{
  return sfb_text_quote_untrusted (
      sfb_sip_message_get_reason (response), -1, SFB_REGISTRATION_MAX_REASON);
}

/* every value of header @name, trimmed, empty ones dropped, joined with "," */
static char *
joined_values (SfbSipMessage *message, const char *name)
{
  g_auto (GStrv) values = sfb_sip_message_get_header_values (message, name);
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint i = 0; values != NULL && values[i] != NULL; i++)
    {
      g_auto (GStrv) items = g_strsplit (values[i], ",", 256);

      for (guint j = 0; items[j] != NULL; j++)
        {
          const char *item = g_strstrip (items[j]);

          if (item[0] == '\0')
            continue;
          if (out->len + strlen (item) + 1 > SFB_REGISTRATION_MAX_LIST)
            break;
          if (out->len > 0)
            g_string_append_c (out, ',');
          g_string_append (out, item);
        }
    }
  return sfb_registration_sanitize (out->str, (gssize) out->len, SFB_REGISTRATION_MAX_LIST);
}

gboolean
sfb_registration_list_has (const char *list, const char *token)
{
  gsize n;

  g_return_val_if_fail (token != NULL, FALSE);
  n = strlen (token);
  for (const char *p = list; p != NULL && *p != '\0';)
    {
      const char *end = strchr (p, ',');
      gsize len = end != NULL ? (gsize) (end - p) : strlen (p);

      if (len == n && g_ascii_strncasecmp (p, token, n) == 0)
        return TRUE;
      p = end != NULL ? end + 1 : NULL;
    }
  return FALSE;
}

gboolean
sfb_registration_header_number (SfbSipMessage *message,
                                const char *name,
                                guint64 max,
                                guint64 *value)
{
  const char *text = sfb_sip_message_get_header (message, name);
  char digits[11];
  gsize n = 0;

  if (text == NULL)
    return FALSE;
  while (*text == ' ' || *text == '\t')
    text++;
  while (g_ascii_isdigit (text[n]) && n < sizeof digits)
    n++;
  if (n == 0 || n >= sizeof digits)
    return FALSE;
  memcpy (digits, text, n);
  digits[n] = '\0';
  return g_ascii_string_to_unsigned (digits, 10, 0, max, value, NULL);
}

guint
sfb_registration_keepalive_timeout (SfbSipMessage *message)
{
  const char *value = sfb_sip_message_get_header (message, "ms-keep-alive");
  g_auto (GStrv) parts = NULL;

  if (value == NULL)
    return 0;
  parts = g_strsplit (value, ";", 16);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *part = g_strstrip (parts[i]);
      guint64 seconds = 0;

      if (g_ascii_strncasecmp (part, "timeout=", 8) == 0
          && g_ascii_string_to_unsigned (g_strstrip (part + 8), 10, 1, 86400, &seconds, NULL))
        return (guint) seconds;
    }
  return 0;
}

/* A GRUU goes into our Contact header as <gruu>: a sip(s) URI of
 * reasonable length without anything that would end the brackets. */
static gboolean
gruu_usable (const char *gruu)
{
  g_autoptr (SfbSipUri) uri = NULL;
  gsize len = strlen (gruu);

  if (len == 0 || len > SFB_REGISTRATION_MAX_GRUU)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) gruu[i];

      if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"')
        return FALSE;
    }
  uri = sfb_sip_uri_parse (gruu, (gssize) len, NULL);
  return uri != NULL && sfb_sip_uri_get_scheme (uri) != SFB_SIP_URI_SCHEME_TEL;
}

/* The expires= of a Contact entry; FALSE when missing or not a number. */
static gboolean
contact_expires (const SfbSipNameAddr *addr, guint *expires)
{
  const char *text = sfb_sip_name_addr_get_param (addr, "expires");
  guint64 value = 0;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &value, NULL))
    return FALSE;
  *expires = (guint) value;
  return TRUE;
}

/* Our Contact: the one whose +sip.instance is ours (case-insensitively).
 * Returns its usable GRUU (or NULL); @expires (0 on entry) gets its
 * expires= (RFC 3261 §10.3: the time the server granted this binding),
 * stays 0 when none. */
static char *
find_own_contact (SfbSipMessage *response, const char *instance, guint *expires)
{
  g_autofree char *want = g_strdup_printf ("<urn:uuid:%s>", instance);
  guint n = sfb_sip_message_get_n_headers (response);
  guint seen = 0;

  for (guint i = 0; i < n && seen < SFB_REGISTRATION_MAX_CONTACTS; i++)
    {
      g_autoptr (GPtrArray) addrs = NULL;
      const char *value;
      gsize len;

      if (!sfb_sip_header_name_equal (sfb_sip_message_get_header_name (response, i), "Contact"))
        continue;
      value = sfb_sip_message_get_header_value (response, i, &len);
      addrs = sfb_sip_name_addr_parse_list (value, (gssize) len, NULL);
      for (guint j = 0; addrs != NULL && j < addrs->len && seen < SFB_REGISTRATION_MAX_CONTACTS;
           j++, seen++)
        {
          const SfbSipNameAddr *addr = g_ptr_array_index (addrs, j);
          const char *theirs = sfb_sip_name_addr_get_param (addr, "+sip.instance");
          const char *gruu = sfb_sip_name_addr_get_param (addr, "gruu");

          if (theirs == NULL || g_ascii_strcasecmp (theirs, want) != 0)
            continue;
          if (*expires == 0)
            contact_expires (addr, expires);
          if (gruu != NULL && gruu_usable (gruu))
            return g_strdup (gruu);
        }
    }
  return NULL;
}

SfbRegistration *
sfb_registration_parse (SfbSipMessage *response, const char *instance)
{
  SfbRegistration *registration;
  const char *server;
  guint64 expires = 0;

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (response), NULL);
  g_return_val_if_fail (instance != NULL, NULL);

  registration = g_new0 (SfbRegistration, 1);
  /* what the server granted our binding comes first; the Expires header
   * (a default for every Contact) only when our Contact has no expires= */
  registration->gruu = find_own_contact (response, instance, &registration->expires);
  if (registration->expires == 0
      && sfb_registration_header_number (response, "Expires", G_MAXUINT32, &expires))
    registration->expires = (guint) expires;
  registration->keepalive = sfb_registration_keepalive_timeout (response);
  registration->supported = joined_values (response, "Supported");
  registration->allow_events = joined_values (response, "Allow-Events");
  server = sfb_sip_message_get_header (response, "Server");
  if (server != NULL)
    registration->server = sfb_registration_sanitize (server, -1, SFB_REGISTRATION_MAX_TEXT);
  return registration;
}

void
sfb_registration_free (SfbRegistration *registration)
{
  if (registration == NULL)
    return;
  g_free (registration->gruu);
  g_free (registration->supported);
  g_free (registration->allow_events);
  g_free (registration->server);
  g_free (registration);
}

/* a host we may connect to: a DNS name or an IP address literal */
static gboolean
host_usable (const char *host)
{
  gsize len = strlen (host);

  if (len == 0 || len > SFB_REGISTRATION_MAX_HOST)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (host[i]) && strchr ("-._:[]", host[i]) == NULL)
      return FALSE;
  return host[0] != '.' && host[0] != '-';
}

/* host and port of the first usable name-addr in @value */
static gboolean
parse_target (const char *value, char **host, guint16 *port)
{
  g_autoptr (GPtrArray) addrs = sfb_sip_name_addr_parse_list (value, -1, NULL);

  for (guint i = 0; addrs != NULL && i < addrs->len && i < SFB_REGISTRATION_MAX_CONTACTS; i++)
    {
      g_autoptr (SfbSipUri) uri = sfb_sip_name_addr_parse_uri (g_ptr_array_index (addrs, i), NULL);

      if (uri == NULL || sfb_sip_uri_get_scheme (uri) == SFB_SIP_URI_SCHEME_TEL
          || sfb_sip_uri_get_host (uri) == NULL || !host_usable (sfb_sip_uri_get_host (uri)))
        continue;
      *host = g_strdup (sfb_sip_uri_get_host (uri));
      *port = sfb_sip_uri_get_port (uri) != 0 ? sfb_sip_uri_get_port (uri) : 5061;
      return TRUE;
    }
  return FALSE;
}

gboolean
sfb_registration_parse_redirect (SfbSipMessage *response,
                                 char **host,
                                 guint16 *port,
                                 GError **error)
{
  const char *contact;

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (response), FALSE);
  g_return_val_if_fail (host != NULL && port != NULL, FALSE);

  contact = sfb_sip_message_get_header (response, "Contact");
  if (contact != NULL && parse_target (contact, host, port))
    return TRUE;
  g_set_error_literal (
      error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED, "the redirect names no usable Contact");
  return FALSE;
}

char *
sfb_registration_dup_diagnostics (SfbSipMessage *message)
{
  static const char *const names[] = { "ms-diagnostics", "ms-diagnostics-public", "Warning" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const char *value = sfb_sip_message_get_header (message, names[i]);

      if (value != NULL)
        return sfb_registration_sanitize (value, -1, SFB_REGISTRATION_MAX_TEXT);
    }
  return NULL;
}

guint
sfb_registration_diagnostics_code (SfbSipMessage *message)
{
  static const char *const names[] = { "ms-diagnostics", "ms-diagnostics-public" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const char *value = sfb_sip_message_get_header (message, names[i]);
      char digits[6];
      gsize n = 0;
      guint64 code = 0;

      if (value == NULL)
        continue;
      while (g_ascii_isdigit (value[n]) && n < sizeof digits)
        n++;
      if (n == 0 || n >= sizeof digits)
        return 0;
      memcpy (digits, value, n);
      digits[n] = '\0';
      return g_ascii_string_to_unsigned (digits, 10, 1, 99999, &code, NULL) ? (guint) code : 0;
    }
  return 0;
}

/* event=<token> (or event="<token>") in the first bytes of the body */
static char *
body_event (SfbSipMessage *request)
{
  GBytes *body = sfb_sip_message_get_body (request);
  g_autofree char *text = NULL;
  const char *found;
  gsize len;

  if (body == NULL || g_bytes_get_size (body) == 0)
    return NULL;
  text = g_strndup (g_bytes_get_data (body, NULL),
                    MIN (g_bytes_get_size (body), SFB_REGISTRATION_MAX_NOTIFY_BODY));
  found = strstr (text, "event=");
  if (found == NULL)
    return NULL;
  found += 6;
  if (*found == '"')
    found++;
  len = strcspn (found, " \t;,\"<>\r\n");
  if (len == 0)
    return NULL;
  return sfb_registration_sanitize (found, (gssize) len, SFB_REGISTRATION_MAX_TEXT);
}

SfbDeregistration *
sfb_deregistration_parse (SfbSipMessage *request)
{
  static const struct
  {
    const char *event;
    SfbDeregistrationKind kind;
  } kinds[] = {
    { "unregistered", SFB_DEREGISTRATION_UNREGISTERED },
    { "rejected", SFB_DEREGISTRATION_REJECTED },
    { "deactivated", SFB_DEREGISTRATION_DEACTIVATED },
    { "preferred-registrar-change", SFB_DEREGISTRATION_REGISTRAR_CHANGE },
  };
  SfbDeregistration *deregistration;
  const char *diagnostics;

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (request), NULL);

  deregistration = g_new0 (SfbDeregistration, 1);
  deregistration->event = body_event (request);
  for (guint i = 0; deregistration->event != NULL && i < G_N_ELEMENTS (kinds); i++)
    if (g_ascii_strcasecmp (deregistration->event, kinds[i].event) == 0)
      deregistration->kind = kinds[i].kind;

  diagnostics = sfb_sip_message_get_header (request, "ms-diagnostics-public");
  if (diagnostics == NULL)
    diagnostics = sfb_sip_message_get_header (request, "ms-diagnostics");
  if (diagnostics != NULL)
    deregistration->diagnostics
        = sfb_registration_sanitize (diagnostics, -1, SFB_REGISTRATION_MAX_TEXT);

  if (deregistration->kind == SFB_DEREGISTRATION_REGISTRAR_CHANGE)
    {
      const char *preferred = sfb_sip_message_get_header (request, "P-Preferred-Registrar");

      if (preferred != NULL)
        parse_target (preferred, &deregistration->registrar_host, &deregistration->registrar_port);
    }
  return deregistration;
}

void
sfb_deregistration_free (SfbDeregistration *deregistration)
{
  if (deregistration == NULL)
    return;
  g_free (deregistration->event);
  g_free (deregistration->diagnostics);
  g_free (deregistration->registrar_host);
  g_free (deregistration);
}
