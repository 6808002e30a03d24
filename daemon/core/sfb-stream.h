/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading an HTTP answer's body with a limit: the server decides how much
 * it sends, the daemon decides how much it keeps.  GIO only: daemon/net
 * reads autodiscover documents and the NTLM legs of sfb-http-ntlm.h with it.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Reads @stream to its end, at most @max bytes, then closes it and only
 * then answers: a keep-alive connection is idle again for the next request
 * (the NTLM legs of a handshake must share one).  Errors: the read's own
 * (G_IO_ERROR_CANCELLED among them), or G_IO_ERROR_MESSAGE_TOO_LARGE once
 * the body passes @max. */
void sfb_stream_read_bounded_async (GInputStream *stream,
                                    gsize max,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
GBytes *sfb_stream_read_bounded_finish (GAsyncResult *result, GError **error);

G_END_DECLS
