/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SfbSipConnection's insides, shared by its files:
 *   sfb-sip-connection.c               the object, sending, reading, closing
 *   sfb-sip-connection-transactions.c  client transactions
 *   sfb-sip-connection-keepalive.c     keep-alive and liveness deadlines
 *   sfb-sip-connection-connect.c       resolving, TLS, the local endpoint
 */
#pragma once

#include "sfb-sip-connection.h"
#include "sfb-sip-parser.h"

G_BEGIN_DECLS

#define READ_BUFFER_SIZE 16384
/* The most reads at the end of a burst's hold (sfb-sip-connection.c) */
#define HOLD_MAX_READS 64

/* names of the read source, by what it watches */
#define SFB_SIP_READ_SOURCE_SOCKET "sfb-sip-read-socket"
#define SFB_SIP_READ_SOURCE_STREAM "sfb-sip-read-stream"

typedef struct
{
  SfbSipConnection *self; /* unowned: the connection owns the transaction */
  GTask *task;
  char *branch;
  guint32 cseq;
  char *method;
  GSource *timeout_source;
  GSource *cancel_source;
} Transaction;

struct _SfbSipConnection
{
  GObject parent_instance;

  char *host;
  guint16 port;
  GIOStream *connection; /* a GSocketConnection, or any stream (tests) */
  GCancellable *io_cancellable;
  SfbSipParser *parser;
  SfbSipSecurity *security;
  SfbSipConnectionRequestFunc request_func; /* sfb_sip_connection_set_request_handler() */
  gpointer request_data;
  char *local_ip;
  guint16 local_port;
  char *local_address;
  char *interface;
  char *remote_ip;      /* the address connected to, "" if unknown */
  char *address_source; /* how it was found ("resolved", ...), "" if unknown */
  char *peer_subject;
  GBytes *peer_certificate; /* DER, for TLS-DSK */

  guint8 read_buffer[READ_BUFFER_SIZE];
  GSource *read_source; /* socket streams: kept while open */
  guint first_read_id;
  gboolean reading; /* inside the read source's callback */
  /* bursts (see sfb_sip_connection_start_read()) */
  gint64 last_read;       /* monotonic µs: the last wake-up that read bytes */
  guint hold_id;          /* the socket set aside until then */
  gint64 burst_gap_us;    /* reads closer than this make a burst */
  gint64 last_answer;     /* monotonic µs: the last answer to a request of ours read */
  gint64 after_answer_us; /* no hold this long after an answer */
  guint hold_ms;          /* how long a burst's first hold sets the socket aside */
  guint hold_max_ms;      /* the longest hold (next_hold_ms()) */
  guint burst_hold_ms;    /* the last hold's length */
  guint n_notifies;       /* requests read in this wake-up: (BE)NOTIFYs */
  guint n_others;         /* and other requests */
  guint64 read_wakeups;   /* wake-ups that read (tests) */
  GQueue write_queue;     /* of GBytes */
  GBytes *writing;        /* the message being written */
  gboolean flushing;      /* closed, the queued messages still going out */
  guint flush_id;         /* the flush's deadline */

  GPtrArray *transactions; /* of Transaction */

  guint keepalive_interval; /* s, 0: off */
  guint keepalive_id;
  gint64 last_sent; /* monotonic µs */
  guint64 keepalives_sent;

  /* liveness */
  gboolean ping_outstanding; /* a ping went out, nothing came back yet */
  gboolean answers_pings;    /* the server answered a ping with a pong */
  guint64 line_ends_seen;    /* the parser's keep-alive line ends so far */
  guint pong_id;
  gint64 partial_since; /* monotonic µs: first byte of the message in progress, 0: none */
  gint64 last_received; /* monotonic µs */
  guint partial_id;

  gboolean closed;
};

/* sfb-sip-connection.c */
/* Ends the connection with @error (taken): "closed" is emitted once. */
void sfb_sip_connection_fail (SfbSipConnection *self, GError *error);
void sfb_sip_connection_start_read (SfbSipConnection *self);
/* Reads from the stream's source instead of the socket's until the stream
 * yields bytes (the TLS layer would not read while the socket was
 * readable); tests call it to get there at will. */
void sfb_sip_connection_fall_back_to_stream (SfbSipConnection *self);
/* An answer is awaited: a burst's hold ends, the socket is read at once. */
void sfb_sip_connection_end_hold (SfbSipConnection *self);
/* Queues @bytes for writing and restarts the keep-alive idle clock. */
void sfb_sip_connection_queue_bytes (SfbSipConnection *self, GBytes *bytes);
gboolean sfb_sip_connection_prepare_outgoing (SfbSipConnection *self,
                                              SfbSipMessage *message,
                                              GError **error);
void sfb_sip_connection_send_message (SfbSipConnection *self, SfbSipMessage *message);

/* sfb-sip-connection-transactions.c */
void sfb_sip_connection_transaction_free (Transaction *tx);
/* Removes @tx and completes its task with @response or @error (taken). */
void
sfb_sip_connection_transaction_complete (Transaction *tx, SfbSipMessage *response, GError *error);
void sfb_sip_connection_handle_response (SfbSipConnection *self, SfbSipMessage *response);

/* sfb-sip-connection-keepalive.c */
void sfb_sip_connection_rearm_keepalive (SfbSipConnection *self);
/* After a read of @received bytes (all parsed). */
void sfb_sip_connection_watch_liveness (SfbSipConnection *self, gsize received);

G_END_DECLS
