/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Exchange documents (daemon/services/sfb-exchange-doc.c): Autodiscover
 * POX and the EWS answers SfbExchange reads, as real servers shape them
 * (tests/data/exchange), and hostile ones. */
#include "sfb-error.h"
#include "sfb-exchange-doc.h"
#include "sfb-exchange-private.h"

#include <string.h>

static char *
load (const char *name, gsize *length)
{
  g_autofree char *path = g_build_filename (g_getenv ("SFB_TEST_DATA"), "exchange", name, NULL);
  char *data = NULL;

  g_assert_true (g_file_get_contents (path, &data, length, NULL));
  return data;
}

static gint64
utc (int y, int mo, int d, int h, int mi)
{
  g_autoptr (GDateTime) t = g_date_time_new_utc (y, mo, d, h, mi, 0);

  return g_date_time_to_unix (t) * G_USEC_PER_SEC;
}

/* ---- autodiscover ---- */

static void
test_autodiscover_request (void)
{
  g_autofree char *body = sfb_exchange_doc_autodiscover_request ("a<b>@contoso.test");

  g_assert_nonnull (strstr (body, "<EMailAddress>a&lt;b&gt;@contoso.test</EMailAddress>"));
  g_assert_nonnull (strstr (body,
                            "xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/"
                            "requestschema/2006\""));
  g_assert_nonnull (strstr (body, "outlook/responseschema/2006a</AcceptableResponseSchema>"));
}

static void
test_autodiscover_settings (void)
{
  gsize length = 0;
  g_autofree char *data = load ("autodiscover.xml", &length);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbExchangeAutodiscover) ad
      = sfb_exchange_doc_parse_autodiscover (data, length, &error);

  g_assert_no_error (error);
  /* EXCH wins over the EXPR listed before it */
  g_assert_cmpstr (ad->ews_url, ==, "https://mail.contoso.test/EWS/Exchange.asmx");
  g_assert_cmpstr (ad->as_url, ==, "https://external.contoso.test/EWS/Exchange.asmx");
  g_assert_cmpstr (ad->oof_url, ==, "https://mail.contoso.test/EWS/Exchange.asmx");
  g_assert_cmpstr (ad->um_url, ==, "https://mail.contoso.test/EWS/UM2007Legacy.asmx");
  g_assert_null (ad->redirect_addr);
  g_assert_null (ad->redirect_url);
  g_assert_null (ad->error_code);
}

#define AD_HEAD                                                                                    \
  "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/"       \
  "2006\"><Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/"           \
  "responseschema/2006a\">"
#define AD_TAIL "</Response></Autodiscover>"

static SfbExchangeAutodiscover *
parse_ad (const char *xml, GError **error)
{
  return sfb_exchange_doc_parse_autodiscover (xml, strlen (xml), error);
}

static void
test_autodiscover_redirects (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbExchangeAutodiscover) addr = parse_ad (
      AD_HEAD "<Account><Action>redirectAddr</Action><RedirectAddr>alice@mail.contoso.test"
              "</RedirectAddr></Account>" AD_TAIL,
      &error);
  g_autoptr (SfbExchangeAutodiscover) url = NULL;
  g_autoptr (SfbExchangeAutodiscover) plain = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (addr->redirect_addr, ==, "alice@mail.contoso.test");
  g_assert_null (addr->ews_url);

  url = parse_ad (AD_HEAD "<Account><Action>redirectUrl</Action><RedirectUrl>"
                          "https://ad2.contoso.test/autodiscover/autodiscover.xml</RedirectUrl>"
                          "</Account>" AD_TAIL,
                  &error);
  g_assert_no_error (error);
  g_assert_cmpstr (url->redirect_url, ==, "https://ad2.contoso.test/autodiscover/autodiscover.xml");

  /* a redirect to plain http (the password would follow) is no redirect */
  plain = parse_ad (AD_HEAD "<Account><Action>redirectUrl</Action><RedirectUrl>"
                            "http://ad2.contoso.test/autodiscover/autodiscover.xml</RedirectUrl>"
                            "</Account>" AD_TAIL,
                    &error);
  g_assert_null (plain);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
}

static void
test_autodiscover_error (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbExchangeAutodiscover) ad = parse_ad (
      AD_HEAD "<Error Time=\"1\" Id=\"2\"><ErrorCode>500</ErrorCode><Message>The e-mail "
              "address cannot be found.&#x202e;&#x9;x</Message></Error>" AD_TAIL,
      &error);

  g_assert_no_error (error);
  g_assert_cmpstr (ad->error_code, ==, "500");
  g_assert_cmpstr (ad->error_message, ==, "The e-mail address cannot be found. x");
  g_assert_null (ad->ews_url);
}

static void
test_autodiscover_hostile (void)
{
  static const char *const docs[] = {
    "",
    "<Autodiscover/>",
    "<html><body>portal</body></html>",
    "<!DOCTYPE x [<!ENTITY e \"x\">]><Autodiscover><Response/></Autodiscover>",
    AD_HEAD "<Account><Protocol><Type>EXCH</Type><EwsUrl>javascript:alert(1)</EwsUrl>"
            "</Protocol></Account>" AD_TAIL,
    AD_HEAD "<Account><Protocol><Type>EXCH</Type><EwsUrl>https://</EwsUrl>"
            "</Protocol></Account>" AD_TAIL,
    AD_HEAD "<Account><Protocol><Type>EXCH</Type><EwsUrl>https://a b/</EwsUrl>"
            "</Protocol></Account>" AD_TAIL,
    AD_HEAD "<Account><Action>redirectAddr</Action><RedirectAddr>no-at-sign</RedirectAddr>"
            "</Account>" AD_TAIL,
    AD_HEAD "<Account><Action>redirectAddr</Action><RedirectAddr>a@b@c</RedirectAddr>"
            "</Account>" AD_TAIL,
  };

  for (guint i = 0; i < G_N_ELEMENTS (docs); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbExchangeAutodiscover) ad = parse_ad (docs[i], &error);

      g_assert_null (ad);
      g_assert_nonnull (error);
    }
}

static void
test_autodiscover_deep (void)
{
  g_autoptr (GString) xml = g_string_new (AD_HEAD "<Account>");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbExchangeAutodiscover) ad = NULL;

  for (guint i = 0; i < 100; i++)
    g_string_append (xml, "<x>");
  for (guint i = 0; i < 100; i++)
    g_string_append (xml, "</x>");
  g_string_append (xml, "</Account>" AD_TAIL);
  ad = parse_ad (xml->str, &error);
  g_assert_null (ad);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
}

/* ---- availability ---- */

static void
test_availability_request (void)
{
  g_autofree char *body = sfb_exchange_doc_availability_request (
      "alice@contoso.test", utc (2024, 5, 6, 0, 0), utc (2024, 5, 9, 23, 59), 15);

  g_assert_nonnull (strstr (body, "<t:Address>alice@contoso.test</t:Address>"));
  g_assert_nonnull (strstr (body, "<t:StartTime>2024-05-06T00:00:00</t:StartTime>"));
  g_assert_nonnull (strstr (body, "<t:EndTime>2024-05-09T23:59:00</t:EndTime>"));
  g_assert_nonnull (
      strstr (body, "<t:MergedFreeBusyIntervalInMinutes>15</t:MergedFreeBusyIntervalInMinutes>"));
  g_assert_nonnull (strstr (body, "<t:RequestedView>DetailedMerged</t:RequestedView>"));
  g_assert_nonnull (strstr (body, "<t:TimeZone><t:Bias>0</t:Bias>"));
}

static void
test_availability_parse (void)
{
  gsize length = 0;
  g_autofree char *data = load ("availability.xml", &length);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbExchangeAvailability) av
      = sfb_exchange_doc_parse_availability (data, length, &error);
  SfbCalendarEvent *e;

  g_assert_no_error (error);
  g_assert_cmpstr (av->free_busy, ==, "000022221111333300");
  g_assert_cmpuint (av->events->len, ==, 3);
  /* sorted by start */
  e = g_ptr_array_index (av->events, 0);
  g_assert_cmpstr (e->subject, ==, "Planning & review");
  g_assert_cmpstr (e->location, ==, "Room 1");
  g_assert_cmpint (e->start, ==, utc (2024, 5, 7, 9, 0));
  g_assert_cmpint (e->end, ==, utc (2024, 5, 7, 10, 0));
  g_assert_cmpint (e->busy_type, ==, SFB_BUSY_BUSY);
  g_assert_true (e->is_meeting);
  e = g_ptr_array_index (av->events, 1);
  g_assert_cmpint (e->busy_type, ==, SFB_BUSY_TENTATIVE);
  g_assert_cmpstr (e->subject, ==, "");
  g_assert_true (e->is_meeting); /* no details: a meeting */
  e = g_ptr_array_index (av->events, 2);
  g_assert_cmpint (e->busy_type, ==, SFB_BUSY_OOF);
  g_assert_false (e->is_meeting);
  g_assert_cmpint (e->start, ==, utc (2024, 5, 7, 13, 0));
  g_assert_cmpstr (
      av->working_hours,
      ==,
      "<WorkingHours xmlns=\"http://schemas.microsoft.com/exchange/services/2006/types\">"
      "<TimeZone><Bias>-60</Bias>"
      "<StandardTime><Bias>0</Bias><Time>03:00:00</Time><DayOrder>5</DayOrder><Month>10</Month>"
      "<DayOfWeek>Sunday</DayOfWeek></StandardTime>"
      "<DaylightTime><Bias>-60</Bias><Time>02:00:00</Time><DayOrder>5</DayOrder><Month>3</Month>"
      "<DayOfWeek>Sunday</DayOfWeek></DaylightTime></TimeZone>"
      "<WorkingPeriodArray><WorkingPeriod><DayOfWeek>Monday Tuesday Wednesday Thursday "
      "Friday</DayOfWeek><StartTimeInMinutes>480</StartTimeInMinutes>"
      "<EndTimeInMinutes>1020</EndTimeInMinutes></WorkingPeriod></WorkingPeriodArray>"
      "</WorkingHours>");
}

#define EWS_HEAD "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
#define EWS_TAIL "</s:Body></s:Envelope>"
#define AV_HEAD                                                                                    \
  EWS_HEAD "<GetUserAvailabilityResponse><FreeBusyResponseArray><FreeBusyResponse>"                \
           "<ResponseMessage ResponseClass=\"Success\"/><FreeBusyView>"
#define AV_TAIL                                                                                    \
  "</FreeBusyView></FreeBusyResponse></FreeBusyResponseArray>"                                     \
  "</GetUserAvailabilityResponse>" EWS_TAIL

static SfbExchangeAvailability *
parse_av (const char *xml, GError **error)
{
  return sfb_exchange_doc_parse_availability (xml, strlen (xml), error);
}

static void
test_availability_hostile_values (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) xml = g_string_new (AV_HEAD "<MergedFreeBusy>00x2</MergedFreeBusy>"
                                                  "<CalendarEventArray>");
  g_autoptr (SfbExchangeAvailability) av = NULL;
  g_autofree char *long_subject = g_strnfill (5000, 'a');
  SfbCalendarEvent *e;

  /* a subject with controls and a bidi override, one too long to keep,
   * events without usable times, more events than kept */
  g_string_append (xml,
                   "<CalendarEvent><StartTime>2024-05-07T09:00:00</StartTime>"
                   "<EndTime>2024-05-07T10:00:00</EndTime><BusyType>Busy</BusyType>"
                   "<CalendarEventDetails><Subject>a&#x85;[1m&#x202e;b\nc</Subject>"
                   "</CalendarEventDetails></CalendarEvent>"
                   "<CalendarEvent><StartTime>yesterday</StartTime><EndTime>now</EndTime>"
                   "</CalendarEvent>"
                   "<CalendarEvent><StartTime>2024-05-07T10:00:00</StartTime>"
                   "<EndTime>2024-05-07T09:00:00</EndTime></CalendarEvent>");
  for (guint i = 0; i < SFB_EXCHANGE_MAX_EVENTS + 10; i++)
    g_string_append_printf (xml,
                            "<CalendarEvent><StartTime>2024-05-08T09:00:00</StartTime>"
                            "<EndTime>2024-05-08T10:00:00</EndTime><BusyType>Weird</BusyType>"
                            "<CalendarEventDetails><Subject>%s</Subject>"
                            "</CalendarEventDetails></CalendarEvent>",
                            long_subject);
  g_string_append (xml,
                   "</CalendarEventArray><WorkingHours><TimeZone><Bias>99999</Bias></TimeZone>"
                   "</WorkingHours>" AV_TAIL);
  av = parse_av (xml->str, &error);
  g_assert_no_error (error);
  g_assert_null (av->free_busy);
  g_assert_null (av->working_hours);
  g_assert_cmpuint (av->events->len, ==, SFB_EXCHANGE_MAX_EVENTS);
  e = g_ptr_array_index (av->events, 0);
  g_assert_cmpstr (e->subject, ==, "a [1m b c");
  e = g_ptr_array_index (av->events, 1);
  /* the subject was longer than a value is kept: none */
  g_assert_cmpstr (e->subject, ==, "");
  g_assert_cmpint (e->busy_type, ==, SFB_BUSY_NO_DATA);
}

static void
test_availability_working_hours_injection (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbExchangeAvailability) av = parse_av (
      AV_HEAD "<WorkingHours><TimeZone><Bias>0</Bias></TimeZone><WorkingPeriodArray>"
              "<WorkingPeriod><DayOfWeek>Monday&lt;script&gt;</DayOfWeek>"
              "<StartTimeInMinutes>480</StartTimeInMinutes>"
              "<EndTimeInMinutes>1020</EndTimeInMinutes></WorkingPeriod>"
              "<WorkingPeriod><DayOfWeek>Friday</DayOfWeek>"
              "<StartTimeInMinutes>480</StartTimeInMinutes>"
              "<EndTimeInMinutes>720</EndTimeInMinutes><Extra>&lt;x/&gt;</Extra></WorkingPeriod>"
              "</WorkingPeriodArray></WorkingHours>" AV_TAIL,
      &error);

  g_assert_no_error (error);
  /* the period naming a day that is none is dropped, the extra element too */
  g_assert_cmpstr (av->working_hours,
                   ==,
                   "<WorkingHours xmlns=\"http://schemas.microsoft.com/exchange/services/2006/"
                   "types\"><TimeZone><Bias>0</Bias></TimeZone><WorkingPeriodArray>"
                   "<WorkingPeriod><DayOfWeek>Friday</DayOfWeek><StartTimeInMinutes>480"
                   "</StartTimeInMinutes><EndTimeInMinutes>720</EndTimeInMinutes>"
                   "</WorkingPeriod></WorkingPeriodArray></WorkingHours>");
}

static void
test_availability_failures (void)
{
  gsize length = 0;
  g_autofree char *fault = load ("fault.xml", &length);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbExchangeAvailability) av
      = sfb_exchange_doc_parse_availability (fault, length, &error);
  g_autoptr (SfbExchangeAvailability) refused = NULL;

  g_assert_null (av);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
  /* the server's text, without its escape sequence or override */
  g_assert_cmpstr (error->message,
                   ==,
                   "EWS fault ErrorSchemaValidation: The request failed schema validation. [31m");
  g_clear_error (&error);

  refused = parse_av (EWS_HEAD "<GetUserAvailabilityResponse><FreeBusyResponseArray>"
                               "<FreeBusyResponse><ResponseMessage ResponseClass=\"Error\">"
                               "<ResponseCode>ErrorMailRecipientNotFound</ResponseCode>"
                               "</ResponseMessage></FreeBusyResponse></FreeBusyResponseArray>"
                               "</GetUserAvailabilityResponse>" EWS_TAIL,
                      &error);
  g_assert_null (refused);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
  g_assert_cmpstr (error->message, ==, "EWS answered ErrorMailRecipientNotFound");
}

/* ---- OOF ---- */

static void
test_oof (void)
{
  gsize length = 0;
  g_autofree char *data = load ("oof.xml", &length);
  g_autofree char *request = sfb_exchange_doc_oof_request ("alice@contoso.test");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfbExchangeOof) oof = sfb_exchange_doc_parse_oof (data, length, &error);

  g_assert_nonnull (strstr (request,
                            "<m:GetUserOofSettingsRequest><t:Mailbox><t:Address>"
                            "alice@contoso.test</t:Address></t:Mailbox>"));
  g_assert_no_error (error);
  g_assert_cmpint (oof->state, ==, SFB_OOF_SCHEDULED);
  g_assert_cmpint (oof->start, ==, utc (2024, 5, 10, 7, 0));
  g_assert_cmpint (oof->end, ==, utc (2024, 5, 17, 16, 0));
  g_assert_cmpstr (oof->message, ==, "I am away until Friday.\n\nAsk bob & carol.");
  g_assert_false (sfb_exchange_oof_is_active (oof, utc (2024, 5, 10, 6, 59)));
  g_assert_true (sfb_exchange_oof_is_active (oof, utc (2024, 5, 10, 7, 0)));
  g_assert_false (sfb_exchange_oof_is_active (oof, utc (2024, 5, 17, 16, 0)));
}

static void
test_oof_states (void)
{
  static const char *const states[] = { "Enabled", "Disabled", "Bogus" };
  static const gboolean active[] = { TRUE, FALSE, FALSE };

  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    {
      g_autofree char *xml = g_strdup_printf (
          EWS_HEAD "<GetUserOofSettingsResponse><ResponseMessage ResponseClass=\"Success\"/>"
                   "<OofSettings><OofState>%s</OofState></OofSettings>"
                   "</GetUserOofSettingsResponse>" EWS_TAIL,
          states[i]);
      g_autoptr (GError) error = NULL;
      g_autoptr (SfbExchangeOof) oof = sfb_exchange_doc_parse_oof (xml, strlen (xml), &error);

      g_assert_no_error (error);
      g_assert_cmpint (sfb_exchange_oof_is_active (oof, 0), ==, active[i]);
      g_assert_cmpstr (oof->message, ==, "");
    }
}

static void
test_html_to_text (void)
{
  static const struct
  {
    const char *html;
    gsize max;
    const char *text;
  } cases[] = {
    { "plain", 100, "plain" },
    { "  a \t\r\n b  ", 100, "a\nb" },
    { "<p>one</p><p>two</p><br><br><br>three", 100, "one\n\ntwo\n\nthree" },
    { "&lt;x&gt; &amp;amp; &#65;&#x42; &bogus; &#0; &#xFFFFFFFF;",
      100,
      "<x> &amp; AB &bogus; &#0; &#xFFFFFFFF;" },
    { "a\x1b[31mb\u202ec", 100, "a[31mbc" },
    { "abcdef", 3, "abc" },
    /* the separators count too */
    { "a b c d", 3, "a b" },
    { "<p>a</p><p>b</p><p>c</p>", 4, "a\n\nb" },
    { "unclosed <tag", 100, "unclosed" },
    { "<script>alert(1)</script>after", 100, "after" },
    { "valid \xff invalid", 100, "valid" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = sfb_exchange_doc_html_to_text (cases[i].html, cases[i].max);

      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

/* ---- counts ---- */

static void
test_voicemail (void)
{
  gsize length = 0;
  g_autofree char *data = load ("getfolder-voicemail.xml", &length);
  g_autofree char *request = sfb_exchange_doc_voicemail_request ();
  g_autoptr (GError) error = NULL;
  guint unread = 0;

  g_assert_nonnull (strstr (request, "<t:DistinguishedFolderId Id=\"voicemail\"/>"));
  g_assert_true (sfb_exchange_doc_parse_unread_count (data, length, &unread, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (unread, ==, 2);
}

static void
test_missed (void)
{
  gsize length = 0;
  g_autofree char *data = load ("finditem-missed.xml", &length);
  g_autofree char *request = sfb_exchange_doc_missed_request ();
  g_autoptr (GError) error = NULL;
  guint count = 0;
  const char *refused = EWS_HEAD
      "<FindItemResponse><ResponseMessages><FindItemResponseMessage ResponseClass=\"Error\">"
      "<ResponseCode>ErrorInvalidRequest</ResponseCode></FindItemResponseMessage>"
      "</ResponseMessages></FindItemResponse>" EWS_TAIL;
  const char *huge = EWS_HEAD
      "<FindItemResponse><ResponseMessages><FindItemResponseMessage ResponseClass=\"Success\">"
      "<RootFolder TotalItemsInView=\"99999999999\"/></FindItemResponseMessage>"
      "</ResponseMessages></FindItemResponse>" EWS_TAIL;

  g_assert_nonnull (strstr (request, "<t:DistinguishedFolderId Id=\"conversationhistory\"/>"));
  g_assert_nonnull (strstr (request, "<t:Constant Value=\"IPM.Note.Microsoft.Missed\"/>"));
  g_assert_nonnull (strstr (request, "Version=\"Exchange2013\""));
  g_assert_true (sfb_exchange_doc_parse_item_count (data, length, &count, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count, ==, 3);

  g_assert_false (sfb_exchange_doc_parse_item_count (refused, strlen (refused), &count, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
  g_assert_cmpstr (error->message, ==, "EWS answered ErrorInvalidRequest");
  g_clear_error (&error);
  g_assert_false (sfb_exchange_doc_parse_item_count (huge, strlen (huge), &count, &error));
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
}

static void
test_history_folder (void)
{
  g_autofree char *find = sfb_exchange_doc_history_folder_request ();
  g_autofree char *in = sfb_exchange_doc_missed_request_in ("AAMk\"x");
  const char *answer = EWS_HEAD
      "<FindFolderResponse><ResponseMessages><FindFolderResponseMessage ResponseClass=\"Success\">"
      "<RootFolder TotalItemsInView=\"1\"><Folders><Folder><FolderId Id=\"AAMkADk=\" "
      "ChangeKey=\"AQ\"/></Folder></Folders></RootFolder></FindFolderResponseMessage>"
      "</ResponseMessages></FindFolderResponse>" EWS_TAIL;
  const char *hostile = EWS_HEAD
      "<FindFolderResponse><ResponseMessages><FindFolderResponseMessage ResponseClass=\"Success\">"
      "<RootFolder><Folders><Folder><FolderId Id=\"a&quot;/&gt;&lt;x\"/></Folder></Folders>"
      "</RootFolder></FindFolderResponseMessage></ResponseMessages></FindFolderResponse>" EWS_TAIL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = sfb_exchange_doc_parse_folder_id (answer, strlen (answer), &error);
  g_autofree char *bad = NULL;

  g_assert_nonnull (strstr (find, "<t:Constant Value=\"Conversation History\"/>"));
  g_assert_nonnull (strstr (find, "<t:DistinguishedFolderId Id=\"msgfolderroot\"/>"));
  g_assert_nonnull (strstr (in, "<t:FolderId Id=\"AAMk&quot;x\"/>"));
  g_assert_nonnull (strstr (in, "Version=\"Exchange2010\""));
  g_assert_no_error (error);
  g_assert_cmpstr (id, ==, "AAMkADk=");
  bad = sfb_exchange_doc_parse_folder_id (hostile, strlen (hostile), &error);
  g_assert_null (bad);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
}

static void
test_parse_time (void)
{
  g_assert_cmpint (sfb_exchange_doc_parse_time ("2024-05-07T09:00:00"), ==, utc (2024, 5, 7, 9, 0));
  g_assert_cmpint (
      sfb_exchange_doc_parse_time ("2024-05-07T09:00:00Z"), ==, utc (2024, 5, 7, 9, 0));
  g_assert_cmpint (
      sfb_exchange_doc_parse_time ("2024-05-07T10:00:00+01:00"), ==, utc (2024, 5, 7, 9, 0));
  g_assert_cmpint (sfb_exchange_doc_parse_time ("2024-05-07"), ==, -1);
  g_assert_cmpint (sfb_exchange_doc_parse_time (NULL), ==, -1);
  g_assert_cmpint (sfb_exchange_doc_parse_time ("garbage"), ==, -1);
}

/* ---- the poll timer ---- */

/* One timer serves both polls: at each of its firings the pass is the one
 * the schedule asks for at that time, a full pass every 15 minutes (it
 * reads the counts too) and the counts every 3 minutes between. */
static void
test_poll_schedule (void)
{
  guint full = 0, counts = 0;

  for (guint tick = 1; tick <= 4 * SFB_EXCHANGE_FULL_TICKS; tick++)
    {
      guint at = tick * SFB_EXCHANGE_COUNTS_INTERVAL_S;
      SfbExchangePassKind kind = sfb_exchange_poll_kind (tick);

      g_assert_cmpint (kind,
                       ==,
                       at % SFB_EXCHANGE_FULL_INTERVAL_S == 0 ? SFB_EXCHANGE_PASS_FULL
                                                              : SFB_EXCHANGE_PASS_COUNTS);
      if (kind == SFB_EXCHANGE_PASS_FULL)
        full++;
      else
        counts++;
    }
  /* an hour: 4 full passes, the counts read 20 times (16 of them alone) */
  g_assert_cmpuint (4 * SFB_EXCHANGE_FULL_TICKS * SFB_EXCHANGE_COUNTS_INTERVAL_S, ==, 3600);
  g_assert_cmpuint (full, ==, 4);
  g_assert_cmpuint (counts, ==, 16);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/exchange-doc/autodiscover/request", test_autodiscover_request);
  g_test_add_func ("/exchange-doc/autodiscover/settings", test_autodiscover_settings);
  g_test_add_func ("/exchange-doc/autodiscover/redirects", test_autodiscover_redirects);
  g_test_add_func ("/exchange-doc/autodiscover/error", test_autodiscover_error);
  g_test_add_func ("/exchange-doc/autodiscover/hostile", test_autodiscover_hostile);
  g_test_add_func ("/exchange-doc/autodiscover/deep", test_autodiscover_deep);
  g_test_add_func ("/exchange-doc/availability/request", test_availability_request);
  g_test_add_func ("/exchange-doc/availability/parse", test_availability_parse);
  g_test_add_func ("/exchange-doc/availability/hostile-values", test_availability_hostile_values);
  g_test_add_func ("/exchange-doc/availability/working-hours-injection",
                   test_availability_working_hours_injection);
  g_test_add_func ("/exchange-doc/availability/failures", test_availability_failures);
  g_test_add_func ("/exchange-doc/oof/scheduled", test_oof);
  g_test_add_func ("/exchange-doc/oof/states", test_oof_states);
  g_test_add_func ("/exchange-doc/html-to-text", test_html_to_text);
  g_test_add_func ("/exchange-doc/voicemail", test_voicemail);
  g_test_add_func ("/exchange-doc/missed", test_missed);
  g_test_add_func ("/exchange-doc/history-folder", test_history_folder);
  g_test_add_func ("/exchange-doc/parse-time", test_parse_time);
  g_test_add_func ("/exchange-doc/poll-schedule", test_poll_schedule);
  return g_test_run ();
}
