/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Structured logging: per-subsystem domains, journald-aware writer, and
 * redaction.  Each file sets its domain before any include:
 *
 *   #define G_LOG_DOMAIN SFB_LOG_DOMAIN_SIP   (or the string itself)
 *
 * and logs with g_debug()/g_warning(), or with sfb_log() to add fields:
 *
 *   sfb_log (G_LOG_LEVEL_WARNING, SFB_LOG_ERR (error), SFB_LOG_TOPIC ("config"),
 *            "MESSAGE", "Could not save %s: %s", path, error->message);
 *
 * Secrets never go to a log: dumps use sfb_log_redact_secret() and
 * sfb_redact_auth_header(), and every secret in use is registered with
 * sfb_log_add_secret() so the writer scrubs it from anything that slips
 * through.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SFB_LOG_DOMAIN "sfbd"
#define SFB_LOG_DOMAIN_SIP "sfbd-sip"
#define SFB_LOG_DOMAIN_AUTH "sfbd-auth"
#define SFB_LOG_DOMAIN_DNS "sfbd-dns"
#define SFB_LOG_DOMAIN_SVC "sfbd-svc"
#define SFB_LOG_DOMAIN_MEDIA "sfbd-media"
#define SFB_LOG_DOMAIN_DBUS "sfbd-dbus"

/* What a secret becomes in any output. */
#define SFB_LOG_REDACTED "[redacted]"

/* Journal fields, as key/value pairs for sfb_log() */
#define SFB_LOG_ERR(e)                                                                             \
  "SFB_ERROR_DOMAIN", g_quark_to_string ((e)->domain), "SFB_ERROR_MESSAGE", (e)->message
#define SFB_LOG_STATE(s) "SFB_STATE", (s)
#define SFB_LOG_TOPIC(t) "SFB_TOPIC", (t)
#define SFB_LOG_URI(u) "SFB_URI", (u)
/* host:port of the registrar or web service */
#define SFB_LOG_SERVER(s) "SFB_SERVER", (s)
/* the SIP status code as a string ("401"), see sfb_log_sip_status() */
#define SFB_LOG_SIP_STATUS(code) "SFB_SIP_STATUS", (code)
/* the D-Bus error name of an SFB_ERROR (sfb_error_get_dbus_name()) */
#define SFB_LOG_ERROR_NAME(name) "SFB_ERROR_NAME", (name)
#define SFB_LOG_MESSAGE_ID(id) "MESSAGE_ID", (id)

/* journalctl MESSAGE_ID=… */
#define SFB_LOG_MSGID_STARTUP "74dc07ce342f4672a6a0aa5e5370e572"
#define SFB_LOG_MSGID_SHUTDOWN "5865e22b2e604165a1414dfb05cf30ea"
/* signed in (registered); add SFB_LOG_STATE, SFB_LOG_URI and the server */
#define SFB_LOG_MSGID_SIGN_IN "d34e29102d1b4f32b0fbdebb1aeed7f6"
/* signed out, by request or for good (not a reconnect) */
#define SFB_LOG_MSGID_SIGN_OUT "f15062370acd46348d3e3cf13e17cd76"
/* the server rejected the credentials (AuthFailed); add SFB_LOG_ERR */
#define SFB_LOG_MSGID_AUTH_FAILED "27f8e635d9ee4fdd9c29f40be68c7287"

#define sfb_log(level, ...)                                                                        \
  g_log_structured (G_LOG_DOMAIN,                                                                  \
                    (level),                                                                       \
                    "CODE_FILE",                                                                   \
                    __FILE__,                                                                      \
                    "CODE_LINE",                                                                   \
                    G_STRINGIFY (__LINE__),                                                        \
                    "CODE_FUNC",                                                                   \
                    G_STRFUNC,                                                                     \
                    __VA_ARGS__)

/* sfb_warn_err (error, "Could not save %s: %s", path, error->message) */
#define sfb_warn_err(e, ...) sfb_log (G_LOG_LEVEL_WARNING, SFB_LOG_ERR (e), "MESSAGE", __VA_ARGS__)

void sfb_log_install_writer (gboolean verbose);
void sfb_log_set_verbose (gboolean verbose);
gboolean sfb_log_get_verbose (void);
GLogWriterOutput sfb_log_writer (GLogLevelFlags log_level,
                                 const GLogField *fields,
                                 gsize n_fields,
                                 gpointer user_data);
char *sfb_log_format_fields (GLogLevelFlags log_level, const GLogField *fields, gsize n_fields);
char *sfb_log_format_export (GLogLevelFlags log_level,
                             const GLogField *fields,
                             gsize n_fields,
                             gsize *length);

void sfb_log_add_secret (const char *secret);
void sfb_log_remove_secret (const char *secret);
void sfb_log_clear_secrets (void);
char *sfb_log_scrub (const char *text);

const char *sfb_log_redact_secret (const char *secret);
char *sfb_redact_auth_header (const char *value);

G_END_DECLS
