/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Limits on what D-Bus callers send (the methods of dbus/), checked before a method
 * does anything: every string bounded, no control or formatting character
 * where it makes no sense, and errors that quote at most a short
 * sanitised prefix.  No D-Bus here: the parameters as a GVariant.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Bytes of a name, a kind, an availability, a number or a URI */
#define SFB_ARGS_MAX_STRING 1024
#define SFB_ARGS_MAX_PASSWORD 1024
/* Presence.SetNote: as the server takes it */
#define SFB_ARGS_MAX_NOTE 2048
/* Conversations.SendMessage: the text of one instant message */
#define SFB_ARGS_MAX_MESSAGE 8192
/* A conversation id */
#define SFB_ARGS_MAX_ID 64
/* Entries of Account.Configure, URIs of Presence.GetPresence */
#define SFB_ARGS_MAX_SETTINGS 64
#define SFB_ARGS_MAX_URIS 1000

/* @interface: the last part of the interface name ("Presence");
 * @parameters: the method's in-arguments (a tuple).  FALSE with
 * SFB_ERROR_INVALID_ARGS when one is out of bounds; methods not listed
 * take no strings and pass. */
gboolean
sfb_args_check (const char *interface, const char *method, GVariant *parameters, GError **error);

G_END_DECLS
