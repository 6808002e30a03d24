/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

/* What SfbSipMessage checks before a message reaches a transaction: CSeq,
 * the mandatory and single-valued headers, From, To, Via, the Request-URI. */

#include "sfb-sip-message.h"

#include "sfb-sip-lex.h"
#include "sfb-sip-message-private.h"
#include "sfb-sip-uri.h"
#include "sfb-sip-via.h"

#include <stdarg.h>
#include <string.h>

static gboolean G_GNUC_PRINTF (2, 3) invalid (GError **error, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, SFB_SIP_ERROR, SFB_SIP_ERROR_INVALID, message);
  return FALSE;
}

/* CSeq = 1*DIGIT LWS Method, number below 2**31 (RFC 3261 §8.1.1.5) */
gboolean
sfb_sip_message_get_cseq (SfbSipMessage *self, guint32 *number, char **method, GError **error)
{
  const char *value, *p;
  guint64 n = 0;

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), FALSE);

  value = sfb_sip_message_get_header (self, "CSeq");
  if (value == NULL)
    return invalid (error, "missing %s header", "CSeq");
  for (p = value; g_ascii_isdigit (*p); p++)
    n = MIN (n * 10 + (guint64) (*p - '0'), G_MAXUINT32);
  if (p == value || !sfb_sip_is_sp (*p))
    return invalid (error, "%s is not 'number method'", "CSeq");
  if (n >= G_MAXINT32 + (guint64) 1)
    return invalid (error, "%s number out of range", "CSeq");
  while (sfb_sip_is_sp (*p))
    p++;
  if (!sfb_sip_is_token (p, strlen (p)))
    return invalid (error, "%s method is not a token", "CSeq");
  if (number != NULL)
    *number = (guint32) n;
  if (method != NULL)
    *method = g_strdup (p);
  return TRUE;
}

/* The headers validation counts, by canonical name: one pass over the
 * message counts them all (a received message has some 25 headers) */
enum
{
  COUNT_CALL_ID,
  COUNT_CSEQ,
  COUNT_FROM,
  COUNT_TO,
  N_REQUIRED,
  COUNT_MAX_FORWARDS = N_REQUIRED,
  COUNT_CONTENT_TYPE,
  COUNT_CONTENT_LENGTH,
  COUNT_VIA,
  N_COUNTED
};

/* with their lengths, compared before the letters */
#define COUNTED(name)                                                                              \
  {                                                                                                \
    name, sizeof (name) - 1                                                                        \
  }
static const struct
{
  const char *name;
  gsize len;
} counted[N_COUNTED] = {
  COUNTED ("Call-ID"),      COUNTED ("CSeq"),         COUNTED ("From"),           COUNTED ("To"),
  COUNTED ("Max-Forwards"), COUNTED ("Content-Type"), COUNTED ("Content-Length"), COUNTED ("Via"),
};
#undef COUNTED

static void
count_headers (SfbSipMessage *self, guint counts[N_COUNTED])
{
  guint32 tags[N_COUNTED];

  memset (counts, 0, N_COUNTED * sizeof counts[0]);
  for (guint j = 0; j < N_COUNTED; j++)
    tags[j] = sfb_sip_header_key_tag (counted[j].name, counted[j].len);
  for (guint i = 0; i < self->headers->len; i++)
    {
      const SfbSipHeader *have = sfb_sip_message_header_at (self, i);

      for (guint j = 0; j < N_COUNTED; j++)
        {
          if (have->key_tag == tags[j] && sfb_sip_ascii_caseeq (have->key, counted[j].name))
            {
              counts[j]++;
              break;
            }
        }
    }
}

static gboolean
check_single (guint n, const char *name, gboolean required, GError **error)
{
  if (n > 1)
    return invalid (error, "more than one %s header", name);
  if (n == 0 && required)
    return invalid (error, "missing %s header", name);
  return TRUE;
}

static gboolean
check_name_addr (SfbSipMessage *self, const char *name, GError **error)
{
  int i = sfb_sip_message_find_header (self, name, 0);

  /* checked, not built; the signature check reads the URI and tag kept */
  if (sfb_sip_message_header_name_addr (self, (guint) i, error) != NULL)
    return TRUE;
  g_prefix_error (error, "%s: ", name);
  return FALSE;
}

static gboolean
check_vias (SfbSipMessage *self, guint n_vias, GError **error)
{
  if (n_vias == 0)
    return invalid (error, "missing %s header", "Via");
  for (int i = sfb_sip_message_find_header (self, "Via", 0); i >= 0;
       i = sfb_sip_message_find_header (self, "Via", (guint) i + 1))
    {
      SfbSipHeader *header = sfb_sip_message_header_at (self, (guint) i);

      /* checked, not built: nothing of it is kept */
      if (!sfb_sip_via_check_list (header->value, header->value_len, error))
        {
          g_prefix_error (error, "Via: ");
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
check_max_forwards (SfbSipMessage *self, GError **error)
{
  const char *value = sfb_sip_message_get_header (self, "Max-Forwards");
  guint n = 0;

  if (value == NULL)
    return TRUE;
  for (const char *p = value; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p))
        return invalid (error, "%s is not a number", "Max-Forwards");
      n = MIN (n * 10 + (guint) (*p - '0'), 1000);
    }
  if (value[0] == '\0' || n > 255)
    return invalid (error, "%s out of range 0-255", "Max-Forwards");
  return TRUE;
}

/* a SIP Request-URI carries no headers part (RFC 4475 escruri) */
static gboolean
check_request (SfbSipMessage *self, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *method = NULL;
  guint n_headers = 0;
  gboolean ok;

  if (!sfb_sip_message_get_cseq (self, NULL, &method, error))
    return FALSE;
  if (g_strcmp0 (method, self->method) != 0)
    return invalid (error, "CSeq method '%s' does not match the request method", method);
  /* checked, not built: nothing of it is kept */
  ok = sfb_sip_uri_check (self->request_uri, -1, &n_headers, &local_error);
  if (!ok && g_error_matches (local_error, SFB_SIP_ERROR, SFB_SIP_ERROR_UNSUPPORTED_SCHEME))
    return TRUE; /* the TU answers 416 */
  if (!ok)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "Request-URI: ");
      return FALSE;
    }
  if (n_headers > 0)
    return invalid (error, "%s has a headers part", "Request-URI");
  return check_max_forwards (self, error);
}

/* The checks a UA applies before handing a message to a transaction: the
 * mandatory headers of RFC 3261 §8.1.1, single-valued headers present once,
 * CSeq in range and matching the method, parseable From, To and Via. */
gboolean
sfb_sip_message_validate (SfbSipMessage *self, GError **error)
{
  guint counts[N_COUNTED];

  g_return_val_if_fail (SFB_IS_SIP_MESSAGE (self), FALSE);

  count_headers (self, counts);
  for (guint i = 0; i < COUNT_VIA; i++)
    {
      if (!check_single (counts[i], counted[i].name, i < N_REQUIRED, error))
        return FALSE;
    }
  if (!check_name_addr (self, "From", error) || !check_name_addr (self, "To", error)
      || !check_vias (self, counts[COUNT_VIA], error))
    return FALSE;
  if (self->method != NULL)
    return check_request (self, error);
  return sfb_sip_message_get_cseq (self, NULL, NULL, error);
}
