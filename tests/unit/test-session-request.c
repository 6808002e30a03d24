/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The session's request handlers (sfb_session_add_request_handler(),
 * sfb_session_emit_request()): each service's handler in turn, in the
 * order added, until one takes the request; handlers removed or added
 * while a request is offered. */
#include "sfb-config.h"
#include "sfb-session-private.h"

typedef struct
{
  GString *calls;
  SfbSession *session;
  SfbSipMessage *request;
  guint ids[4];
} Fixture;

static gboolean
declines (SfbSession *session, SfbSipMessage *request, gpointer user_data)
{
  Fixture *f = user_data;

  g_assert_true (session == f->session);
  g_assert_true (request == f->request);
  g_string_append (f->calls, "declines;");
  return FALSE;
}

static gboolean
takes (SfbSession *session, SfbSipMessage *request, gpointer user_data)
{
  Fixture *f = user_data;

  g_assert_true (session == f->session);
  g_assert_true (request == f->request);
  g_string_append (f->calls, "takes;");
  return TRUE;
}

static Fixture *
fixture_new (SfbConfig *config)
{
  Fixture *f = g_new0 (Fixture, 1);

  f->calls = g_string_new (NULL);
  f->session = sfb_session_new (config, "/nonexistent");
  f->request = sfb_sip_message_new_request ("NOTIFY", "sip:a@b");
  return f;
}

static void
fixture_free (Fixture *f)
{
  g_string_free (f->calls, TRUE);
  g_object_unref (f->session);
  g_object_unref (f->request);
  g_free (f);
}

static void
test_first_taker_ends (void)
{
  g_autoptr (SfbConfig) config = sfb_config_new ();
  Fixture *f = fixture_new (config);

  /* nobody added: not handled */
  g_assert_false (sfb_session_emit_request (f->session, f->request));

  f->ids[0] = sfb_session_add_request_handler (f->session, declines, f);
  f->ids[1] = sfb_session_add_request_handler (f->session, declines, f);
  g_assert_cmpuint (f->ids[0], !=, 0);
  g_assert_cmpuint (f->ids[0], !=, f->ids[1]);
  g_assert_false (sfb_session_emit_request (f->session, f->request));
  g_assert_cmpstr (f->calls->str, ==, "declines;declines;");

  g_string_truncate (f->calls, 0);
  f->ids[2] = sfb_session_add_request_handler (f->session, takes, f);
  f->ids[3] = sfb_session_add_request_handler (f->session, declines, f);
  g_assert_true (sfb_session_emit_request (f->session, f->request));
  g_assert_cmpstr (f->calls->str, ==, "declines;declines;takes;");

  /* removing one keeps the others' order */
  g_string_truncate (f->calls, 0);
  sfb_session_clear_request_handler (f->session, &f->ids[1]);
  g_assert_cmpuint (f->ids[1], ==, 0);
  sfb_session_clear_request_handler (f->session, &f->ids[1]); /* 0: nothing */
  sfb_session_clear_request_handler (f->session, &f->ids[2]);
  g_assert_false (sfb_session_emit_request (f->session, f->request));
  g_assert_cmpstr (f->calls->str, ==, "declines;declines;");
  fixture_free (f);
}

/* a handler that removes itself and the next one, as a service does when
 * the request ends its subscription and it is dropped */
static gboolean
removes (SfbSession *session, SfbSipMessage *request, gpointer user_data)
{
  Fixture *f = user_data;

  g_string_append (f->calls, "removes;");
  sfb_session_clear_request_handler (session, &f->ids[1]);
  sfb_session_clear_request_handler (session, &f->ids[2]);
  return FALSE;
}

static gboolean
adds (SfbSession *session, SfbSipMessage *request, gpointer user_data)
{
  Fixture *f = user_data;

  g_string_append (f->calls, "adds;");
  /* enough to move the array */
  for (guint i = 0; i < 64; i++)
    sfb_session_add_request_handler (session, takes, f);
  return FALSE;
}

static void
test_change_while_offered (void)
{
  g_autoptr (SfbConfig) config = sfb_config_new ();
  Fixture *f = fixture_new (config);

  f->ids[0] = sfb_session_add_request_handler (f->session, declines, f);
  f->ids[1] = sfb_session_add_request_handler (f->session, removes, f);
  f->ids[2] = sfb_session_add_request_handler (f->session, takes, f);
  f->ids[3] = sfb_session_add_request_handler (f->session, declines, f);
  /* the removed "takes" is not called: the last handler is */
  g_assert_false (sfb_session_emit_request (f->session, f->request));
  g_assert_cmpstr (f->calls->str, ==, "declines;removes;declines;");
  g_string_truncate (f->calls, 0);
  g_assert_false (sfb_session_emit_request (f->session, f->request));
  g_assert_cmpstr (f->calls->str, ==, "declines;declines;");
  fixture_free (f);

  /* handlers added during an offer see the next request */
  f = fixture_new (config);
  f->ids[0] = sfb_session_add_request_handler (f->session, adds, f);
  f->ids[1] = sfb_session_add_request_handler (f->session, declines, f);
  g_assert_false (sfb_session_emit_request (f->session, f->request));
  g_assert_cmpstr (f->calls->str, ==, "adds;declines;");
  sfb_session_clear_request_handler (f->session, &f->ids[0]);
  g_string_truncate (f->calls, 0);
  g_assert_true (sfb_session_emit_request (f->session, f->request));
  g_assert_cmpstr (f->calls->str, ==, "declines;takes;");
  fixture_free (f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/session/request/first-taker-ends", test_first_taker_ends);
  g_test_add_func ("/session/request/change-while-offered", test_change_while_offered);
  return g_test_run ();
}
