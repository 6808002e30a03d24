/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-exchange"

#include "config.h"

#include "sfb-exchange-doc.h"

#include "sfb-error.h"
#include "sfb-svc-xml.h"
#include "sfb-text.h"

#include <stdio.h>
#include <string.h>

#define NS_SOAP "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_TYPES "http://schemas.microsoft.com/exchange/services/2006/types"
#define NS_MESSAGES "http://schemas.microsoft.com/exchange/services/2006/messages"
#define NS_AD_REQUEST                                                                              \
  "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
#define NS_AD_RESPONSE_A                                                                           \
  "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

#define MAX_URL 2048
#define MAX_EMAIL 256
#define MAX_PROTOCOLS 32
#define MAX_TIME_TEXT 64
/* The OOF message is HTML: read this much of it at most. */
#define MAX_MESSAGE_BYTES (64 * 1024)

void
sfb_calendar_event_free (SfbCalendarEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->subject);
  g_free (event->location);
  g_free (event);
}

guint
sfb_busy_type_rank (SfbBusyType type)
{
  switch (type)
    {
    case SFB_BUSY_OOF:
      return 4;
    case SFB_BUSY_BUSY:
      return 3;
    case SFB_BUSY_WORKING_ELSEWHERE:
      return 2;
    case SFB_BUSY_TENTATIVE:
      return 1;
    case SFB_BUSY_FREE:
    case SFB_BUSY_NO_DATA:
    default:
      return 0;
    }
}

void
sfb_exchange_autodiscover_free (SfbExchangeAutodiscover *result)
{
  if (result == NULL)
    return;
  g_free (result->ews_url);
  g_free (result->as_url);
  g_free (result->oof_url);
  g_free (result->um_url);
  g_free (result->redirect_addr);
  g_free (result->redirect_url);
  g_free (result->error_code);
  g_free (result->error_message);
  g_free (result);
}

void
sfb_exchange_availability_free (SfbExchangeAvailability *result)
{
  if (result == NULL)
    return;
  g_free (result->free_busy);
  g_clear_pointer (&result->events, g_ptr_array_unref);
  g_free (result->working_hours);
  g_free (result);
}

void
sfb_exchange_oof_free (SfbExchangeOof *result)
{
  if (result == NULL)
    return;
  g_free (result->message);
  g_free (result);
}

/* ---- text ------------------------------------------------------------ */

/* Server text for a property or the trace: one line, bounded, no control
 * or bidi characters (runs of them one space). */
static char *
clean_line (const char *text, gsize max_chars)
{
  if (text == NULL)
    return g_strdup ("");
  return sfb_text_quote (text, -1, max_chars, SFB_TEXT_QUOTE_SPACES);
}

static gboolean
is_blank (gunichar c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == 0xa0 || g_unichar_isspace (c);
}

typedef struct
{
  GString *out;
  gsize chars;
  gsize max_chars;
  guint newlines; /* pending line breaks */
  gboolean space; /* a pending space */
} TextSink;

static void
sink_char (TextSink *sink, gunichar c)
{
  guint pending;

  if (sink->chars >= sink->max_chars)
    return;
  if (c == '\n')
    {
      sink->newlines = MIN (sink->newlines + 1, 2);
      return;
    }
  if (is_blank (c))
    {
      sink->space = TRUE;
      return;
    }
  if (sfb_text_is_unsafe_char (c) || c == 0xfeff || c == 0xfffd)
    return;
  /* the separators before it count as characters too */
  if (sink->out->len == 0)
    pending = 0;
  else
    pending = sink->newlines > 0 ? sink->newlines : sink->space ? 1 : 0;
  if (sink->chars + pending + 1 > sink->max_chars)
    {
      sink->chars = sink->max_chars; /* full: nothing more */
      return;
    }
  for (guint i = 0; i < pending; i++)
    g_string_append_c (sink->out, sink->newlines > 0 ? '\n' : ' ');
  sink->chars += pending;
  sink->newlines = 0;
  sink->space = FALSE;
  g_string_append_unichar (sink->out, c);
  sink->chars++;
}

/* A tag name that ends a line: br, p, div, li, tr, h1-h6. */
static gboolean
tag_breaks_line (const char *tag, gsize len)
{
  static const char *const names[] = { "br", "p",  "div", "li", "tr",   "h1",  "h2", "h3",
                                       "h4", "h5", "h6",  "/p", "/div", "/li", "/tr" };
  gsize n = 0;

  while (n < len && (g_ascii_isalnum (tag[n]) || (n == 0 && tag[n] == '/')))
    n++;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (strlen (names[i]) == n && g_ascii_strncasecmp (tag, names[i], n) == 0)
      return TRUE;
  return FALSE;
}

/* "&amp;" etc. at @p; returns the character and sets *@used, or 0. */
static gunichar
decode_entity (const char *p, gsize *used)
{
  static const struct
  {
    const char *name;
    gunichar c;
  } named[] = {
    { "amp;", '&' },  { "lt;", '<' },    { "gt;", '>' },
    { "quot;", '"' }, { "apos;", '\'' }, { "nbsp;", ' ' },
  };
  const char *semi;

  for (guint i = 0; i < G_N_ELEMENTS (named); i++)
    if (g_ascii_strncasecmp (p + 1, named[i].name, strlen (named[i].name)) == 0)
      {
        *used = 1 + strlen (named[i].name);
        return named[i].c;
      }
  /* "&#x10ffff;" is the longest */
  semi = memchr (p, ';', strnlen (p, 11));
  if (p[1] == '#' && semi != NULL && semi - p > 2)
    {
      g_autofree char *digits = g_strndup (p + 2, semi - p - 2);
      guint64 value = 0;
      gboolean ok = digits[0] == 'x' || digits[0] == 'X'
                        ? g_ascii_string_to_unsigned (digits + 1, 16, 1, 0x10ffff, &value, NULL)
                        : g_ascii_string_to_unsigned (digits, 10, 1, 0x10ffff, &value, NULL);

      if (ok && g_unichar_validate ((gunichar) value))
        {
          *used = semi - p + 1;
          return (gunichar) value;
        }
    }
  return 0;
}

char *
sfb_exchange_doc_html_to_text (const char *html, gsize max_chars)
{
  TextSink sink = { g_string_new (NULL), 0, max_chars, 0, FALSE };
  const char *p = html;
  const char *end;

  if (html == NULL)
    return g_string_free (sink.out, FALSE);
  /* only the valid prefix: the rest is dropped */
  g_utf8_validate (html, -1, &end);
  while (p < end && sink.chars < max_chars)
    {
      if (*p == '<')
        {
          const char *close = memchr (p, '>', end - p);

          if (close == NULL)
            break;
          if (tag_breaks_line (p + 1, close - p - 1))
            sink_char (&sink, '\n');
          else if (g_ascii_strncasecmp (p + 1, "style", 5) == 0
                   || g_ascii_strncasecmp (p + 1, "script", 6) == 0)
            {
              /* drop the element's content: CSS or code is not text */
              const char *stop = g_strstr_len (close, end - close, "</");

              close = stop != NULL ? memchr (stop, '>', end - stop) : NULL;
              if (close == NULL)
                break;
            }
          p = close + 1;
          continue;
        }
      if (*p == '&')
        {
          gsize used = 0;
          gunichar c = decode_entity (p, &used);

          if (c != 0)
            {
              sink_char (&sink, c);
              p += used;
              continue;
            }
        }
      sink_char (&sink, g_utf8_get_char (p));
      p = g_utf8_next_char (p);
    }
  return g_string_free (sink.out, FALSE);
}

gint64
sfb_exchange_doc_parse_time (const char *text)
{
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) when = NULL;

  if (text == NULL || strlen (text) > MAX_TIME_TEXT || strchr (text, 'T') == NULL)
    return -1;
  when = g_date_time_new_from_iso8601 (text, utc);
  if (when == NULL)
    return -1;
  return g_date_time_to_unix (when) * G_USEC_PER_SEC + g_date_time_get_microsecond (when);
}

static char *
format_time (gint64 usec)
{
  g_autoptr (GDateTime) when = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);

  if (when == NULL)
    return g_strdup ("1970-01-01T00:00:00");
  return g_date_time_format (when, "%Y-%m-%dT%H:%M:%S");
}

/* ---- XML walking ----------------------------------------------------- */

static gboolean set_error_from (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Always FALSE: an error of the server's answer. */
static gboolean
set_error_from (GError **error, const char *format, ...)
{
  va_list args;

  if (error == NULL)
    return FALSE;
  g_return_val_if_fail (*error == NULL, FALSE);
  va_start (args, format);
  *error = g_error_new_valist (SFB_ERROR, SFB_ERROR_SERVER_REJECTED, format, args);
  va_end (args);
  return FALSE;
}

/* The first element named @name below @node, depth first (the parser
 * limited the depth and the number of elements). */
static SfbXmlNode *
find_descendant (SfbXmlNode *node, const char *name)
{
  for (SfbXmlNode *c = node != NULL ? node->children : NULL; c != NULL; c = c->next)
    {
      SfbXmlNode *found;

      if (c->type != SFB_XML_NODE_ELEMENT)
        continue;
      if (sfb_svc_xml_is (c, name))
        return c;
      if ((found = find_descendant (c, name)) != NULL)
        return found;
    }
  return NULL;
}

/* Trimmed text of @node's child @name, or NULL. */
static char *
child_text (SfbXmlNode *node, const char *name)
{
  return sfb_svc_xml_text (sfb_svc_xml_child (node, name));
}

static gboolean
child_uint (SfbXmlNode *node, const char *name, guint64 max, guint64 *value)
{
  g_autofree char *text = child_text (node, name);

  return text != NULL && g_ascii_string_to_unsigned (text, 10, 0, max, value, NULL);
}

static gboolean
child_int (SfbXmlNode *node, const char *name, gint64 min, gint64 max, gint64 *value)
{
  g_autofree char *text = child_text (node, name);

  return text != NULL && g_ascii_string_to_signed (text, 10, min, max, value, NULL);
}

/* An https URL with a host, short and printable, else NULL. */
static char *
checked_url (char *url)
{
  g_autofree char *owned = url;
  g_autoptr (GUri) uri = NULL;

  if (owned == NULL || strlen (owned) > MAX_URL)
    return NULL;
  for (const char *p = owned; *p; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f)
      return NULL;
  uri = g_uri_parse (owned, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0'
      || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0)
    return NULL;
  return g_steal_pointer (&owned);
}

/* local@domain, printable ASCII without blanks, else NULL. */
static char *
checked_email (char *email)
{
  g_autofree char *owned = email;
  const char *at;

  if (owned == NULL || strlen (owned) > MAX_EMAIL)
    return NULL;
  for (const char *p = owned; *p; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f || strchr ("<>\"'&\\", *p) != NULL)
      return NULL;
  at = strchr (owned, '@');
  if (at == NULL || at == owned || at[1] == '\0' || strchr (at + 1, '@') != NULL)
    return NULL;
  return g_steal_pointer (&owned);
}

/* ---- Autodiscover ---------------------------------------------------- */

char *
sfb_exchange_doc_autodiscover_request (const char *email)
{
  g_autofree char *escaped = g_markup_escape_text (email != NULL ? email : "", -1);

  return g_strdup_printf ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
                          "<Autodiscover xmlns=\"" NS_AD_REQUEST "\">"
                          "<Request>"
                          "<EMailAddress>%s</EMailAddress>"
                          "<AcceptableResponseSchema>" NS_AD_RESPONSE_A
                          "</AcceptableResponseSchema>"
                          "</Request>"
                          "</Autodiscover>",
                          escaped);
}

static void
take_first (char **slot, char *url)
{
  if (*slot == NULL)
    *slot = url;
  else
    g_free (url);
}

/* One Protocol element: EXCH URLs go first, then EXPR (external). */
static void
read_protocol (SfbXmlNode *protocol, SfbExchangeAutodiscover *result, char **external_ews)
{
  g_autofree char *type = child_text (protocol, "Type");
  gboolean internal = g_strcmp0 (type, "EXCH") == 0;

  if (!internal && g_strcmp0 (type, "EXPR") != 0)
    return;
  if (internal)
    take_first (&result->ews_url, checked_url (child_text (protocol, "EwsUrl")));
  else
    take_first (external_ews, checked_url (child_text (protocol, "EwsUrl")));
  take_first (&result->as_url, checked_url (child_text (protocol, "ASUrl")));
  take_first (&result->oof_url, checked_url (child_text (protocol, "OOFUrl")));
  take_first (&result->um_url, checked_url (child_text (protocol, "UMUrl")));
}

static void
read_account (SfbXmlNode *account, SfbExchangeAutodiscover *result)
{
  g_autofree char *action = child_text (account, "Action");
  g_autofree char *external_ews = NULL;
  guint n = 0;

  if (g_strcmp0 (action, "redirectAddr") == 0)
    result->redirect_addr = checked_email (child_text (account, "RedirectAddr"));
  else if (g_strcmp0 (action, "redirectUrl") == 0)
    result->redirect_url = checked_url (child_text (account, "RedirectUrl"));
  for (SfbXmlNode *p = sfb_svc_xml_child (account, "Protocol"); p != NULL && n < MAX_PROTOCOLS;
       p = sfb_svc_xml_next (p, "Protocol"), n++)
    read_protocol (p, result, &external_ews);
  /* preferred: EXCH EwsUrl, then any ASUrl, then the external EwsUrl */
  if (result->ews_url == NULL && result->as_url != NULL)
    result->ews_url = g_strdup (result->as_url);
  if (result->ews_url == NULL)
    result->ews_url = g_steal_pointer (&external_ews);
}

static void
read_error (SfbXmlNode *node, SfbExchangeAutodiscover *result)
{
  g_autofree char *code = child_text (node, "ErrorCode");
  g_autofree char *message = child_text (node, "Message");

  result->error_code = clean_line (code != NULL ? code : "unknown", SFB_TEXT_QUOTE_MAX);
  result->error_message = clean_line (message, SFB_TEXT_QUOTE_MAX);
}

SfbExchangeAutodiscover *
sfb_exchange_doc_parse_autodiscover (const char *data, gsize length, GError **error)
{
  g_autoptr (SfbXmlDoc) doc = sfb_svc_xml_parse (data, length, "Exchange Autodiscover", error);
  g_autoptr (SfbExchangeAutodiscover) result = NULL;
  SfbXmlNode *root;
  SfbXmlNode *response;
  SfbXmlNode *node;

  if (doc == NULL)
    return NULL;
  root = sfb_xml_doc_root (doc);
  response = sfb_svc_xml_child (root, "Response");
  if (!sfb_svc_xml_is (root, "Autodiscover") || response == NULL)
    {
      set_error_from (error, "The answer is not an Exchange Autodiscover response");
      return NULL;
    }
  result = g_new0 (SfbExchangeAutodiscover, 1);
  if ((node = sfb_svc_xml_child (response, "Error")) != NULL)
    read_error (node, result);
  if ((node = sfb_svc_xml_child (response, "Account")) != NULL)
    {
      read_account (node, result);
      if ((node = sfb_svc_xml_child (node, "Error")) != NULL && result->error_code == NULL)
        read_error (node, result);
    }
  if (result->ews_url == NULL && result->redirect_addr == NULL && result->redirect_url == NULL
      && result->error_code == NULL)
    {
      set_error_from (error, "The Exchange Autodiscover response names no https EWS URL");
      return NULL;
    }
  return g_steal_pointer (&result);
}

/* ---- EWS envelopes ---------------------------------------------------- */

static char *
envelope (const char *version, const char *body)
{
  g_autofree char *header
      = version != NULL ? g_strdup_printf (
            "<soap:Header><t:RequestServerVersion Version=\"%s\"/></soap:Header>", version)
                        : g_strdup ("");

  return g_strdup_printf ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
                          "<soap:Envelope xmlns:soap=\"" NS_SOAP "\""
                          " xmlns:t=\"" NS_TYPES "\" xmlns:m=\"" NS_MESSAGES "\">"
                          "%s<soap:Body>%s</soap:Body></soap:Envelope>",
                          header,
                          body);
}

/* The first element of the SOAP Body, or NULL with an error (a fault
 * quotes the server's faultstring and ResponseCode). */
static SfbXmlNode *
soap_body (SfbXmlDoc *doc, const char *expected, GError **error)
{
  SfbXmlNode *root = sfb_xml_doc_root (doc);
  SfbXmlNode *body = sfb_svc_xml_child (root, "Body");
  SfbXmlNode *first = sfb_svc_xml_child (body, NULL);

  if (!sfb_svc_xml_is (root, "Envelope") || first == NULL)
    {
      set_error_from (error, "The EWS answer is not a SOAP envelope");
      return NULL;
    }
  if (sfb_svc_xml_is (first, "Fault"))
    {
      g_autofree char *text = sfb_svc_xml_text (find_descendant (first, "faultstring"));
      g_autofree char *code = sfb_svc_xml_text (find_descendant (first, "ResponseCode"));
      g_autofree char *shown_text = clean_line (text, SFB_TEXT_QUOTE_MAX);
      g_autofree char *shown_code = clean_line (code, SFB_TEXT_QUOTE_MAX);

      set_error_from (error,
                      "EWS fault%s%s%s%s",
                      *shown_code != '\0' ? " " : "",
                      shown_code,
                      *shown_text != '\0' ? ": " : "",
                      shown_text);
      return NULL;
    }
  if (!sfb_svc_xml_is (first, expected))
    {
      set_error_from (error, "The EWS answer is not a %s", expected);
      return NULL;
    }
  return first;
}

/* A ResponseMessage (any element with a ResponseClass) that is Success;
 * else FALSE with the ResponseCode in the error. */
static gboolean
response_ok (SfbXmlNode *message, GError **error)
{
  g_autofree char *class = sfb_svc_xml_attr (message, "ResponseClass");
  g_autofree char *code = NULL;
  g_autofree char *shown = NULL;

  if (message == NULL)
    return set_error_from (error, "The EWS answer holds no response message");
  if (g_strcmp0 (class, "Success") == 0)
    return TRUE;
  code = child_text (message, "ResponseCode");
  shown = clean_line (code != NULL ? code : class, SFB_TEXT_QUOTE_MAX);
  return set_error_from (error, "EWS answered %s", shown);
}

static SfbXmlDoc *
parse_ews (const char *data, gsize length, GError **error)
{
  return sfb_svc_xml_parse (data, length, "EWS", error);
}

/* ---- GetUserAvailability --------------------------------------------- */

char *
sfb_exchange_doc_availability_request (const char *email,
                                       gint64 start,
                                       gint64 end,
                                       guint interval_minutes)
{
  g_autofree char *escaped = g_markup_escape_text (email != NULL ? email : "", -1);
  g_autofree char *from = format_time (start);
  g_autofree char *to = format_time (end);
  g_autofree char *body = NULL;
  static const char zone[] = "<t:Bias>0</t:Bias><t:Time>00:00:00</t:Time>"
                             "<t:DayOrder>0</t:DayOrder><t:Month>0</t:Month>"
                             "<t:DayOfWeek>Sunday</t:DayOfWeek>";

  body = g_strdup_printf (
      "<m:GetUserAvailabilityRequest>"
      "<t:TimeZone><t:Bias>0</t:Bias><t:StandardTime>%s</t:StandardTime>"
      "<t:DaylightTime>%s</t:DaylightTime></t:TimeZone>"
      "<m:MailboxDataArray><t:MailboxData><t:Email><t:Address>%s</t:Address></t:Email>"
      "<t:AttendeeType>Required</t:AttendeeType><t:ExcludeConflicts>false</t:ExcludeConflicts>"
      "</t:MailboxData></m:MailboxDataArray>"
      "<t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>%s</t:StartTime>"
      "<t:EndTime>%s</t:EndTime></t:TimeWindow>"
      "<t:MergedFreeBusyIntervalInMinutes>%u</t:MergedFreeBusyIntervalInMinutes>"
      "<t:RequestedView>DetailedMerged</t:RequestedView></t:FreeBusyViewOptions>"
      "</m:GetUserAvailabilityRequest>",
      zone,
      zone,
      escaped,
      from,
      to,
      CLAMP (interval_minutes, 5, 1440));
  return envelope (NULL, body);
}

static SfbBusyType
busy_type_of (const char *text)
{
  static const struct
  {
    const char *name;
    SfbBusyType type;
  } types[] = {
    { "Free", SFB_BUSY_FREE },
    { "Tentative", SFB_BUSY_TENTATIVE },
    { "Busy", SFB_BUSY_BUSY },
    { "OOF", SFB_BUSY_OOF },
    { "WorkingElsewhere", SFB_BUSY_WORKING_ELSEWHERE },
  };

  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (types); i++)
    if (g_str_equal (text, types[i].name))
      return types[i].type;
  return SFB_BUSY_NO_DATA;
}

/* One CalendarEvent, or NULL when its times are unusable. */
static SfbCalendarEvent *
read_event (SfbXmlNode *node)
{
  g_autofree char *start = child_text (node, "StartTime");
  g_autofree char *end = child_text (node, "EndTime");
  g_autofree char *busy = child_text (node, "BusyType");
  SfbXmlNode *details = sfb_svc_xml_child (node, "CalendarEventDetails");
  g_autofree char *subject = child_text (details, "Subject");
  g_autofree char *location = child_text (details, "Location");
  g_autofree char *is_meeting = child_text (details, "IsMeeting");
  g_autoptr (SfbCalendarEvent) event = g_new0 (SfbCalendarEvent, 1);

  event->start = sfb_exchange_doc_parse_time (start);
  event->end = sfb_exchange_doc_parse_time (end);
  if (event->start < 0 || event->end < event->start)
    return NULL;
  event->busy_type = busy_type_of (busy);
  event->subject = clean_line (subject, SFB_EXCHANGE_MAX_TEXT);
  event->location = clean_line (location, SFB_EXCHANGE_MAX_TEXT);
  /* an absent IsMeeting (no details) counts as a meeting, as SIPE reads it */
  event->is_meeting = is_meeting == NULL || sfb_svc_xml_parse_bool (is_meeting);
  return g_steal_pointer (&event);
}

static gint
compare_events (gconstpointer a, gconstpointer b)
{
  const SfbCalendarEvent *ea = *(SfbCalendarEvent *const *) a;
  const SfbCalendarEvent *eb = *(SfbCalendarEvent *const *) b;

  if (ea->start != eb->start)
    return ea->start < eb->start ? -1 : 1;
  return ea->end < eb->end ? -1 : ea->end > eb->end;
}

static GPtrArray *
read_events (SfbXmlNode *array)
{
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) sfb_calendar_event_free);

  for (SfbXmlNode *e = sfb_svc_xml_child (array, "CalendarEvent");
       e != NULL && events->len < SFB_EXCHANGE_MAX_EVENTS;
       e = sfb_svc_xml_next (e, "CalendarEvent"))
    {
      SfbCalendarEvent *event = read_event (e);

      if (event != NULL)
        g_ptr_array_add (events, event);
    }
  g_ptr_array_sort (events, compare_events);
  return events;
}

static char *
read_free_busy (SfbXmlNode *node)
{
  g_autofree char *digits = sfb_svc_xml_text (node);

  if (digits == NULL || *digits == '\0' || strlen (digits) > SFB_EXCHANGE_MAX_FREE_BUSY)
    return NULL;
  for (const char *p = digits; *p; p++)
    if (*p < '0' || *p > '5')
      return NULL;
  return g_steal_pointer (&digits);
}

static gboolean
is_day_name (const char *word)
{
  static const char *const days[] = { "Sunday", "Monday",   "Tuesday", "Wednesday", "Thursday",
                                      "Friday", "Saturday", "Day",     "Weekday",   "WeekendDay" };

  for (guint i = 0; i < G_N_ELEMENTS (days); i++)
    if (g_str_equal (word, days[i]))
      return TRUE;
  return FALSE;
}

/* A SerializableTimeZoneTime (StandardTime, DaylightTime) rebuilt. */
static gboolean
append_zone_time (GString *out, SfbXmlNode *node, const char *name)
{
  gint64 bias = 0;
  guint64 order = 0;
  guint64 month = 0;
  g_autofree char *time = child_text (node, "Time");
  g_autofree char *day = child_text (node, "DayOfWeek");
  guint h, m, s;
  char tail;

  if (node == NULL)
    return TRUE;
  if (!child_int (node, "Bias", -1440, 1440, &bias) || !child_uint (node, "DayOrder", 5, &order)
      || !child_uint (node, "Month", 12, &month) || time == NULL || day == NULL
      || !is_day_name (day) || strlen (time) != 8
      || sscanf (time, "%2u:%2u:%2u%c", &h, &m, &s, &tail) != 3 || h > 23 || m > 59 || s > 59)
    return FALSE;
  g_string_append_printf (out,
                          "<%s><Bias>%" G_GINT64_FORMAT "</Bias><Time>%02u:%02u:%02u</Time>"
                          "<DayOrder>%u</DayOrder><Month>%u</Month><DayOfWeek>%s</DayOfWeek></%s>",
                          name,
                          bias,
                          h,
                          m,
                          s,
                          (guint) order,
                          (guint) month,
                          day,
                          name);
  return TRUE;
}

static gboolean
append_period (GString *out, SfbXmlNode *period)
{
  g_autofree char *days = child_text (period, "DayOfWeek");
  g_auto (GStrv) words = NULL;
  g_autoptr (GString) list = g_string_new (NULL);
  guint64 start = 0;
  guint64 end = 0;

  if (days == NULL || !child_uint (period, "StartTimeInMinutes", 1440, &start)
      || !child_uint (period, "EndTimeInMinutes", 1440, &end))
    return FALSE;
  words = g_strsplit_set (days, " \t\r\n", 16);
  for (guint i = 0; words[i] != NULL; i++)
    {
      if (*words[i] == '\0')
        continue;
      if (!is_day_name (words[i]))
        return FALSE;
      g_string_append_printf (list, "%s%s", list->len > 0 ? " " : "", words[i]);
    }
  if (list->len == 0)
    return FALSE;
  g_string_append_printf (out,
                          "<WorkingPeriod><DayOfWeek>%s</DayOfWeek>"
                          "<StartTimeInMinutes>%u</StartTimeInMinutes>"
                          "<EndTimeInMinutes>%u</EndTimeInMinutes></WorkingPeriod>",
                          list->str,
                          (guint) start,
                          (guint) end);
  return TRUE;
}

/* The WorkingHours element from the values read (NULL when unusable). */
static char *
rebuild_working_hours (SfbXmlNode *node)
{
  g_autoptr (GString) out = g_string_new ("<WorkingHours xmlns=\"" NS_TYPES "\"><TimeZone>");
  SfbXmlNode *zone = sfb_svc_xml_child (node, "TimeZone");
  SfbXmlNode *array = sfb_svc_xml_child (node, "WorkingPeriodArray");
  gint64 bias = 0;
  guint n = 0;

  if (zone != NULL && !child_int (zone, "Bias", -1440, 1440, &bias))
    return NULL;
  g_string_append_printf (out, "<Bias>%" G_GINT64_FORMAT "</Bias>", bias);
  if (!append_zone_time (out, sfb_svc_xml_child (zone, "StandardTime"), "StandardTime")
      || !append_zone_time (out, sfb_svc_xml_child (zone, "DaylightTime"), "DaylightTime"))
    return NULL;
  g_string_append (out, "</TimeZone><WorkingPeriodArray>");
  for (SfbXmlNode *p = sfb_svc_xml_child (array, "WorkingPeriod");
       p != NULL && n < SFB_EXCHANGE_MAX_WORKING_PERIODS;
       p = sfb_svc_xml_next (p, "WorkingPeriod"))
    if (append_period (out, p))
      n++;
  if (n == 0)
    return NULL;
  g_string_append (out, "</WorkingPeriodArray></WorkingHours>");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

SfbExchangeAvailability *
sfb_exchange_doc_parse_availability (const char *data, gsize length, GError **error)
{
  g_autoptr (SfbXmlDoc) doc = parse_ews (data, length, error);
  g_autoptr (SfbExchangeAvailability) result = NULL;
  SfbXmlNode *answer;
  SfbXmlNode *response;
  SfbXmlNode *view;

  if (doc == NULL || (answer = soap_body (doc, "GetUserAvailabilityResponse", error)) == NULL)
    return NULL;
  response
      = sfb_svc_xml_child (sfb_svc_xml_child (answer, "FreeBusyResponseArray"), "FreeBusyResponse");
  if (!response_ok (sfb_svc_xml_child (response, "ResponseMessage"), error))
    return NULL;
  view = sfb_svc_xml_child (response, "FreeBusyView");
  result = g_new0 (SfbExchangeAvailability, 1);
  result->free_busy = read_free_busy (sfb_svc_xml_child (view, "MergedFreeBusy"));
  result->events = read_events (sfb_svc_xml_child (view, "CalendarEventArray"));
  if (sfb_svc_xml_child (view, "WorkingHours") != NULL)
    result->working_hours = rebuild_working_hours (sfb_svc_xml_child (view, "WorkingHours"));
  return g_steal_pointer (&result);
}

/* ---- GetUserOofSettings ---------------------------------------------- */

char *
sfb_exchange_doc_oof_request (const char *email)
{
  g_autofree char *escaped = g_markup_escape_text (email != NULL ? email : "", -1);
  g_autofree char *body = g_strdup_printf ("<m:GetUserOofSettingsRequest>"
                                           "<t:Mailbox><t:Address>%s</t:Address></t:Mailbox>"
                                           "</m:GetUserOofSettingsRequest>",
                                           escaped);

  return envelope (NULL, body);
}

/* The message's HTML, read up to MAX_MESSAGE_BYTES (not the generic
 * value limit: replies are longer). */
static char *
message_html (SfbXmlNode *node)
{
  g_autofree char *raw = NULL;
  char *copy;
  const char *end;

  if (node == NULL)
    return NULL;
  raw = sfb_xml_node_text (node);
  copy = g_strndup (raw, MAX_MESSAGE_BYTES);
  /* a cut may split a character: keep the valid prefix */
  if (!g_utf8_validate (copy, -1, &end))
    copy[end - copy] = '\0';
  return copy;
}

SfbExchangeOof *
sfb_exchange_doc_parse_oof (const char *data, gsize length, GError **error)
{
  g_autoptr (SfbXmlDoc) doc = parse_ews (data, length, error);
  g_autoptr (SfbExchangeOof) result = NULL;
  g_autofree char *state = NULL;
  g_autofree char *html = NULL;
  SfbXmlNode *answer;
  SfbXmlNode *settings;
  SfbXmlNode *duration;

  if (doc == NULL || (answer = soap_body (doc, "GetUserOofSettingsResponse", error)) == NULL)
    return NULL;
  if (!response_ok (sfb_svc_xml_child (answer, "ResponseMessage"), error))
    return NULL;
  settings = sfb_svc_xml_child (answer, "OofSettings");
  state = child_text (settings, "OofState");
  if (settings == NULL || state == NULL)
    {
      set_error_from (error, "The EWS answer holds no OOF settings");
      return NULL;
    }
  result = g_new0 (SfbExchangeOof, 1);
  if (g_str_equal (state, "Enabled"))
    result->state = SFB_OOF_ENABLED;
  else if (g_str_equal (state, "Scheduled"))
    result->state = SFB_OOF_SCHEDULED;
  duration = sfb_svc_xml_child (settings, "Duration");
  if (result->state == SFB_OOF_SCHEDULED)
    {
      g_autofree char *start = child_text (duration, "StartTime");
      g_autofree char *end = child_text (duration, "EndTime");

      result->start = MAX (sfb_exchange_doc_parse_time (start), 0);
      result->end = MAX (sfb_exchange_doc_parse_time (end), 0);
    }
  html
      = message_html (sfb_svc_xml_child (sfb_svc_xml_child (settings, "InternalReply"), "Message"));
  result->message = sfb_exchange_doc_html_to_text (html, SFB_EXCHANGE_MAX_MESSAGE);
  return g_steal_pointer (&result);
}

gboolean
sfb_exchange_oof_is_active (const SfbExchangeOof *oof, gint64 now)
{
  if (oof == NULL)
    return FALSE;
  switch (oof->state)
    {
    case SFB_OOF_ENABLED:
      return TRUE;
    case SFB_OOF_SCHEDULED:
      return now >= oof->start && now < oof->end;
    case SFB_OOF_DISABLED:
    default:
      return FALSE;
    }
}

/* ---- counts ---------------------------------------------------------- */

char *
sfb_exchange_doc_voicemail_request (void)
{
  return envelope ("Exchange2010",
                   "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
                   "<m:FolderIds><t:DistinguishedFolderId Id=\"voicemail\"/></m:FolderIds>"
                   "</m:GetFolder>");
}

/* The ResponseMessages' first message of @answer, checked. */
static SfbXmlNode *
first_message (SfbXmlNode *answer, GError **error)
{
  SfbXmlNode *message = sfb_svc_xml_child (sfb_svc_xml_child (answer, "ResponseMessages"), NULL);

  return response_ok (message, error) ? message : NULL;
}

gboolean
sfb_exchange_doc_parse_unread_count (const char *data, gsize length, guint *unread, GError **error)
{
  g_autoptr (SfbXmlDoc) doc = parse_ews (data, length, error);
  SfbXmlNode *answer;
  SfbXmlNode *message;
  SfbXmlNode *folder;
  guint64 value = 0;

  if (doc == NULL || (answer = soap_body (doc, "GetFolderResponse", error)) == NULL
      || (message = first_message (answer, error)) == NULL)
    return FALSE;
  folder = sfb_svc_xml_child (sfb_svc_xml_child (message, "Folders"), NULL);
  if (!child_uint (folder, "UnreadCount", G_MAXUINT32, &value))
    return set_error_from (error, "The EWS answer holds no UnreadCount");
  *unread = (guint) value;
  return TRUE;
}

#define MAX_FOLDER_ID 1024

char *
sfb_exchange_doc_missed_request_in (const char *folder_id)
{
  g_autofree char *escaped = folder_id != NULL ? g_markup_escape_text (folder_id, -1) : NULL;
  g_autofree char *parent
      = escaped != NULL ? g_strdup_printf ("<t:FolderId Id=\"%s\"/>", escaped)
                        : g_strdup ("<t:DistinguishedFolderId Id=\"conversationhistory\"/>");
  g_autofree char *body = g_strdup_printf (
      "<m:FindItem Traversal=\"Shallow\">"
      "<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"
      "<m:IndexedPageItemView MaxEntriesReturned=\"1\" Offset=\"0\" BasePoint=\"Beginning\"/>"
      "<m:Restriction><t:And>"
      "<t:Contains ContainmentMode=\"Prefixed\" ContainmentComparison=\"IgnoreCase\">"
      "<t:FieldURI FieldURI=\"item:ItemClass\"/>"
      "<t:Constant Value=\"IPM.Note.Microsoft.Missed\"/></t:Contains>"
      "<t:IsEqualTo><t:FieldURI FieldURI=\"message:IsRead\"/>"
      "<t:FieldURIOrConstant><t:Constant Value=\"false\"/></t:FieldURIOrConstant></t:IsEqualTo>"
      "</t:And></m:Restriction>"
      "<m:ParentFolderIds>%s</m:ParentFolderIds>"
      "</m:FindItem>",
      parent);

  /* a FolderId works from Exchange 2010 on, the distinguished name from 2013 */
  return envelope (folder_id != NULL ? "Exchange2010" : "Exchange2013", body);
}

char *
sfb_exchange_doc_missed_request (void)
{
  return sfb_exchange_doc_missed_request_in (NULL);
}

char *
sfb_exchange_doc_history_folder_request (void)
{
  return envelope (
      "Exchange2010",
      "<m:FindFolder Traversal=\"Shallow\">"
      "<m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
      "<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI=\"folder:DisplayName\"/>"
      "<t:FieldURIOrConstant><t:Constant Value=\"Conversation History\"/>"
      "</t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>"
      "<m:ParentFolderIds><t:DistinguishedFolderId Id=\"msgfolderroot\"/></m:ParentFolderIds>"
      "</m:FindFolder>");
}

char *
sfb_exchange_doc_parse_folder_id (const char *data, gsize length, GError **error)
{
  g_autoptr (SfbXmlDoc) doc = parse_ews (data, length, error);
  SfbXmlNode *answer;
  SfbXmlNode *message;
  SfbXmlNode *folder;
  g_autofree char *id = NULL;

  if (doc == NULL || (answer = soap_body (doc, "FindFolderResponse", error)) == NULL
      || (message = first_message (answer, error)) == NULL)
    return NULL;
  folder = sfb_svc_xml_child (
      sfb_svc_xml_child (sfb_svc_xml_child (message, "RootFolder"), "Folders"), NULL);
  id = sfb_svc_xml_attr (sfb_svc_xml_child (folder, "FolderId"), "Id");
  if (id == NULL || *id == '\0' || strlen (id) > MAX_FOLDER_ID
      || strspn (id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_")
             != strlen (id))
    {
      set_error_from (error, "The EWS answer names no Conversation History folder");
      return NULL;
    }
  return g_steal_pointer (&id);
}

gboolean
sfb_exchange_doc_parse_item_count (const char *data, gsize length, guint *count, GError **error)
{
  g_autoptr (SfbXmlDoc) doc = parse_ews (data, length, error);
  SfbXmlNode *answer;
  SfbXmlNode *message;
  guint64 value = 0;

  if (doc == NULL || (answer = soap_body (doc, "FindItemResponse", error)) == NULL
      || (message = first_message (answer, error)) == NULL)
    return FALSE;
  if (!sfb_svc_xml_attr_uint (
          sfb_svc_xml_child (message, "RootFolder"), "TotalItemsInView", G_MAXUINT32, &value))
    return set_error_from (error, "The EWS answer holds no TotalItemsInView");
  *count = (guint) value;
  return TRUE;
}
