/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "config.h"

/* SfbSipConnection's keep-alive (CRLFCRLF pings when idle) and liveness
 * (the pong and partial-message deadlines). */

#include "sfb-sip-connection-private.h"

#include "sfb-error.h"

/* Liveness (see "liveness" below and sfbd(8)).  RFC 5626 §4.4.1: a CRLF
 * pong answers a CRLFCRLF ping within 10 s. */
#define PONG_TIMEOUT_S 10
/* a server that answers pings is pinged at least this often when idle */
#define LIVENESS_PING_S 60
/* inside a message: no byte for this long, or the message not complete
 * this long after its first byte, ends the connection */
#define PARTIAL_STALL_S 15
#define PARTIAL_MAX_S 60

static guint keepalive_interval (SfbSipConnection *self);
static void expect_pong (SfbSipConnection *self);

/* ---- keep-alive ------------------------------------------------------ */

static gboolean
on_keepalive (gpointer user_data)
{
  SfbSipConnection *self = user_data;
  static const char ping[] = "\r\n\r\n";
  gint64 idle = g_get_monotonic_time () - self->last_sent;

  self->keepalive_id = 0;
  if (self->closed || self->keepalive_interval == 0)
    return G_SOURCE_REMOVE;
  if (idle >= (gint64) keepalive_interval (self) * G_USEC_PER_SEC - G_USEC_PER_SEC / 2)
    {
      g_autoptr (GBytes) bytes = g_bytes_new_static (ping, 4);

      self->keepalives_sent++;
      g_debug ("Keep-alive to %s:%u", self->host, self->port);
      sfb_sip_connection_queue_bytes (self, bytes);
      expect_pong (self);
      return G_SOURCE_REMOVE;
    }
  sfb_sip_connection_rearm_keepalive (self);
  return G_SOURCE_REMOVE;
}

void
sfb_sip_connection_rearm_keepalive (SfbSipConnection *self)
{
  gint64 due;
  gint64 delay_ms;

  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  if (self->closed || self->keepalive_interval == 0)
    return;
  due = self->last_sent + (gint64) keepalive_interval (self) * G_USEC_PER_SEC;
  delay_ms = MAX ((due - g_get_monotonic_time ()) / 1000, 10);
  self->keepalive_id = g_timeout_add ((guint) delay_ms, on_keepalive, self);
}

void
sfb_sip_connection_set_keepalive_interval (SfbSipConnection *self, guint seconds)
{
  g_return_if_fail (SFB_IS_SIP_CONNECTION (self));
  self->keepalive_interval = seconds;
  sfb_sip_connection_rearm_keepalive (self);
}

guint64
sfb_sip_connection_get_n_keepalives_sent (SfbSipConnection *self)
{
  g_return_val_if_fail (SFB_IS_SIP_CONNECTION (self), 0);
  return self->keepalives_sent;
}

/* ---- liveness -------------------------------------------------------- *
 *
 * A server that goes silent without FIN or RST (hung, or the path
 * black-holes) is otherwise noticed only when a transaction times out.
 * Whether SfB front ends answer CRLFCRLF pings is not documented, so the
 * connection learns it: once the server answered a ping with a CRLF pong
 * (one line end, while a ping was out), every later ping must be
 * answered (by the pong or by anything else) within PONG_TIMEOUT_S, and
 * pings go at least every LIVENESS_PING_S when idle.  A server that never
 * answers a ping is never held to it.  Independently, a message that
 * stalls (PARTIAL_STALL_S without a byte inside it, or not complete after
 * PARTIAL_MAX_S) would swallow every later message: it ends the
 * connection. */

static guint
keepalive_interval (SfbSipConnection *self)
{
  if (self->answers_pings)
    return MIN (self->keepalive_interval, LIVENESS_PING_S);
  return self->keepalive_interval;
}

static gboolean
on_pong_timeout (gpointer user_data)
{
  SfbSipConnection *self = user_data;

  self->pong_id = 0;
  if (self->closed || !self->ping_outstanding)
    return G_SOURCE_REMOVE;
  if (!self->answers_pings)
    {
      /* never answered one: nothing to expect */
      self->ping_outstanding = FALSE;
      return G_SOURCE_REMOVE;
    }
  sfb_sip_connection_fail (
      self,
      g_error_new (SFB_ERROR,
                   SFB_ERROR_NOT_REACHABLE,
                   "%s:%u stopped answering: no answer to a keep-alive within %d s",
                   self->host,
                   self->port,
                   PONG_TIMEOUT_S));
  return G_SOURCE_REMOVE;
}

static void
expect_pong (SfbSipConnection *self)
{
  self->ping_outstanding = TRUE;
  if (self->pong_id == 0)
    self->pong_id = g_timeout_add_seconds (PONG_TIMEOUT_S, on_pong_timeout, self);
}

static gboolean
on_partial_timeout (gpointer user_data)
{
  SfbSipConnection *self = user_data;
  gint64 now = g_get_monotonic_time ();

  self->partial_id = 0;
  if (self->closed || self->partial_since == 0)
    return G_SOURCE_REMOVE;
  sfb_sip_connection_fail (self,
                           g_error_new (SFB_ERROR,
                                        SFB_ERROR_NOT_REACHABLE,
                                        "%s:%u stalled inside a message (%" G_GSIZE_FORMAT
                                        " bytes of it in %" G_GINT64_FORMAT
                                        " s, none for %" G_GINT64_FORMAT " s)",
                                        self->host,
                                        self->port,
                                        sfb_sip_parser_get_buffered (self->parser),
                                        (now - self->partial_since) / G_USEC_PER_SEC,
                                        (now - self->last_received) / G_USEC_PER_SEC));
  return G_SOURCE_REMOVE;
}

/* After a read of @received bytes (all parsed). */
void
sfb_sip_connection_watch_liveness (SfbSipConnection *self, gsize received)
{
  gint64 now = g_get_monotonic_time ();
  guint64 line_ends = sfb_sip_parser_get_n_keepalives (self->parser);
  gint64 due;

  if (received > 0)
    {
      if (self->ping_outstanding && line_ends == self->line_ends_seen + 1 && !self->answers_pings)
        {
          self->answers_pings = TRUE;
          g_debug ("%s:%u answers keep-alives: pinging at least every %d s, expecting an "
                   "answer within %d s",
                   self->host,
                   self->port,
                   LIVENESS_PING_S,
                   PONG_TIMEOUT_S);
          sfb_sip_connection_rearm_keepalive (self);
        }
      self->ping_outstanding = FALSE;
      g_clear_handle_id (&self->pong_id, g_source_remove);
      self->last_received = now;
    }
  self->line_ends_seen = line_ends;
  if (!sfb_sip_parser_has_partial (self->parser))
    {
      self->partial_since = 0;
      g_clear_handle_id (&self->partial_id, g_source_remove);
      return;
    }
  if (self->partial_since == 0)
    self->partial_since = now;
  due = MIN (self->last_received + PARTIAL_STALL_S * G_USEC_PER_SEC,
             self->partial_since + PARTIAL_MAX_S * G_USEC_PER_SEC);
  g_clear_handle_id (&self->partial_id, g_source_remove);
  self->partial_id = g_timeout_add (
      (guint) CLAMP ((due - now) / 1000, 10, G_MAXINT32), on_partial_timeout, self);
}
