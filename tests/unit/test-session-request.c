/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The session's request signal (sfb_session_emit_request()): each service's
 * handler in turn until one takes the request, through the generated
 * marshallers, with the instance, the request and the user data where a
 * handler expects them. */
#include "sfb-config.h"
#include "sfb-session-private.h"

typedef struct
{
  GString *calls;
  SfbSession *session;
  SfbSipMessage *request;
} Fixture;

static gboolean
declines (SfbSession *session, SfbSipMessage *request, Fixture *f)
{
  g_assert_true (session == f->session);
  g_assert_true (request == f->request);
  g_string_append (f->calls, "declines;");
  return FALSE;
}

static gboolean
takes (SfbSession *session, SfbSipMessage *request, Fixture *f)
{
  g_assert_true (session == f->session);
  g_assert_true (request == f->request);
  g_string_append (f->calls, "takes;");
  return TRUE;
}

/* connected swapped: the user data first, the session last */
static gboolean
declines_swapped (Fixture *f, SfbSipMessage *request, SfbSession *session)
{
  g_assert_true (session == f->session);
  g_assert_true (request == f->request);
  g_string_append (f->calls, "swapped;");
  return FALSE;
}

static void
test_first_taker_ends (void)
{
  g_autoptr (SfbConfig) config = sfb_config_new ();
  g_autoptr (SfbSession) session = sfb_session_new (config, "/nonexistent");
  g_autoptr (SfbSipMessage) request = sfb_sip_message_new_request ("NOTIFY", "sip:a@b");
  g_autoptr (GString) calls = g_string_new (NULL);
  Fixture f = { calls, session, request };

  /* nobody connected: not handled */
  g_assert_false (sfb_session_emit_request (session, request));

  g_signal_connect (session, "request", G_CALLBACK (declines), &f);
  g_signal_connect_swapped (session, "request", G_CALLBACK (declines_swapped), &f);
  g_assert_false (sfb_session_emit_request (session, request));
  g_assert_cmpstr (calls->str, ==, "declines;swapped;");

  g_string_truncate (calls, 0);
  g_signal_connect (session, "request", G_CALLBACK (takes), &f);
  g_signal_connect (session, "request", G_CALLBACK (declines), &f);
  g_assert_true (sfb_session_emit_request (session, request));
  g_assert_cmpstr (calls->str, ==, "declines;swapped;takes;");
}

/* one handler: GLib's fast path, through the va_list marshaller */
static void
test_single_handler (void)
{
  g_autoptr (SfbConfig) config = sfb_config_new ();
  g_autoptr (SfbSession) taking = sfb_session_new (config, "/nonexistent");
  g_autoptr (SfbSession) declining = sfb_session_new (config, "/nonexistent");
  g_autoptr (SfbSipMessage) request = sfb_sip_message_new_request ("NOTIFY", "sip:a@b");
  g_autoptr (GString) calls = g_string_new (NULL);
  Fixture f = { calls, taking, request };

  g_signal_connect (taking, "request", G_CALLBACK (takes), &f);
  g_assert_true (sfb_session_emit_request (taking, request));
  g_assert_true (sfb_session_emit_request (taking, request));
  g_assert_cmpstr (calls->str, ==, "takes;takes;");

  g_string_truncate (calls, 0);
  f.session = declining;
  g_signal_connect_swapped (declining, "request", G_CALLBACK (declines_swapped), &f);
  g_assert_false (sfb_session_emit_request (declining, request));
  g_assert_cmpstr (calls->str, ==, "swapped;");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/session/request/first-taker-ends", test_first_taker_ends);
  g_test_add_func ("/session/request/single-handler", test_single_handler);
  return g_test_run ();
}
