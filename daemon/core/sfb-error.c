/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-error.h"

#include <sfbd/sfb-names.h>

/*
 * The only place that pairs codes with D-Bus names (bolt/fprintd): once
 * registered, g_dbus_method_invocation_return_gerror() sends the name and
 * clients in this process get SFB_ERROR back from
 * g_dbus_error_new_for_dbus_error().
 */
static const GDBusErrorEntry sfb_error_entries[] = {
  { SFB_ERROR_FAILED, SFB_DBUS_ERROR_FAILED },
  { SFB_ERROR_NOT_CONFIGURED, SFB_DBUS_ERROR_NOT_CONFIGURED },
  { SFB_ERROR_NO_CREDENTIALS, SFB_DBUS_ERROR_NO_CREDENTIALS },
  { SFB_ERROR_NOT_SIGNED_IN, SFB_DBUS_ERROR_NOT_SIGNED_IN },
  { SFB_ERROR_AUTH_FAILED, SFB_DBUS_ERROR_AUTH_FAILED },
  { SFB_ERROR_CERTIFICATE_INVALID, SFB_DBUS_ERROR_CERTIFICATE_INVALID },
  { SFB_ERROR_NOT_REACHABLE, SFB_DBUS_ERROR_NOT_REACHABLE },
  { SFB_ERROR_DISCOVERY_FAILED, SFB_DBUS_ERROR_DISCOVERY_FAILED },
  { SFB_ERROR_TIMED_OUT, SFB_DBUS_ERROR_TIMED_OUT },
  { SFB_ERROR_SERVER_REJECTED, SFB_DBUS_ERROR_SERVER_REJECTED },
  { SFB_ERROR_ACCOUNT_DISABLED, SFB_DBUS_ERROR_ACCOUNT_DISABLED },
  { SFB_ERROR_NO_MATCHING_RULE, SFB_DBUS_ERROR_NO_MATCHING_RULE },
  { SFB_ERROR_NOT_FOUND, SFB_DBUS_ERROR_NOT_FOUND },
  { SFB_ERROR_INVALID_ARGS, SFB_DBUS_ERROR_INVALID_ARGS },
  { SFB_ERROR_CLOCK_SKEW, SFB_DBUS_ERROR_CLOCK_SKEW },
  { SFB_ERROR_CERTIFICATE_PROVISIONING_FAILED, SFB_DBUS_ERROR_CERTIFICATE_PROVISIONING_FAILED },
  { SFB_ERROR_NO_USABLE_AUTH_SCHEME, SFB_DBUS_ERROR_NO_USABLE_AUTH_SCHEME },
  { SFB_ERROR_SIGNATURE_INVALID, SFB_DBUS_ERROR_SIGNATURE_INVALID },
};

G_STATIC_ASSERT (G_N_ELEMENTS (sfb_error_entries) == SFB_ERROR_N_CODES);

GQuark
sfb_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain (
      "sfb-error-quark", &quark, sfb_error_entries, G_N_ELEMENTS (sfb_error_entries));
  return (GQuark) quark;
}

const char *
sfb_error_to_dbus_name (SfbError code)
{
  if ((guint) code >= G_N_ELEMENTS (sfb_error_entries))
    code = SFB_ERROR_FAILED;
  return sfb_error_entries[code].dbus_error_name;
}

gboolean
sfb_error_from_dbus_name (const char *name, SfbError *code)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (gsize i = 0; i < G_N_ELEMENTS (sfb_error_entries); i++)
    {
      if (g_str_equal (name, sfb_error_entries[i].dbus_error_name))
        {
          if (code != NULL)
            *code = (SfbError) sfb_error_entries[i].error_code;
          return TRUE;
        }
    }
  return FALSE;
}

/* The contract name for any error, e.g. for Account.LastError. */
const char *
sfb_error_get_dbus_name (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (error->domain != SFB_ERROR)
    return SFB_DBUS_ERROR_FAILED;
  return sfb_error_to_dbus_name ((SfbError) error->code);
}

/* Replaces *error by one in SFB_ERROR, keeping the original text. */
static void
convert_to (GError **error, SfbError code, const char *hint)
{
  const char *message = (*error)->message;
  const char *separator = g_str_has_suffix (message, ".") ? " " : ". ";
  GError *converted = g_error_new (
      SFB_ERROR, code, "%s%s%s", message, hint != NULL ? separator : "", hint != NULL ? hint : "");

  g_error_free (*error);
  *error = converted;
}

#define HINT_NETWORK "Check the network connection and Account.Server"
#define HINT_PERMISSIONS "Check the permissions of the file and its directory"
#define HINT_CA                                                                                    \
  "If the server uses a private certificate authority, add it with: "                              \
  "sfbctl config set TLS.CAFile /path/to/ca.pem"

static void
convert_io_error (GError **error)
{
  switch ((*error)->code)
    {
    case G_IO_ERROR_NOT_FOUND:
      convert_to (error, SFB_ERROR_NOT_FOUND, NULL);
      break;
    case G_IO_ERROR_TIMED_OUT:
      convert_to (error, SFB_ERROR_TIMED_OUT, HINT_NETWORK);
      break;
    case G_IO_ERROR_HOST_UNREACHABLE:
    case G_IO_ERROR_NETWORK_UNREACHABLE:
    case G_IO_ERROR_CONNECTION_REFUSED:
    case G_IO_ERROR_CONNECTION_CLOSED:
    case G_IO_ERROR_NOT_CONNECTED:
    case G_IO_ERROR_PROXY_FAILED:
    case G_IO_ERROR_PROXY_NOT_ALLOWED:
      convert_to (error, SFB_ERROR_NOT_REACHABLE, HINT_NETWORK);
      break;
    case G_IO_ERROR_INVALID_ARGUMENT:
    case G_IO_ERROR_INVALID_FILENAME:
    case G_IO_ERROR_FILENAME_TOO_LONG:
      convert_to (error, SFB_ERROR_INVALID_ARGS, NULL);
      break;
    case G_IO_ERROR_PERMISSION_DENIED:
    case G_IO_ERROR_READ_ONLY:
      convert_to (error, SFB_ERROR_FAILED, HINT_PERMISSIONS);
      break;
    case G_IO_ERROR_NO_SPACE:
      convert_to (error, SFB_ERROR_FAILED, "Free some disk space and try again");
      break;
    default:
      convert_to (error, SFB_ERROR_FAILED, NULL);
      break;
    }
}

static void
convert_file_error (GError **error)
{
  switch ((*error)->code)
    {
    case G_FILE_ERROR_NOENT:
      convert_to (error, SFB_ERROR_NOT_FOUND, NULL);
      break;
    case G_FILE_ERROR_ACCES:
    case G_FILE_ERROR_PERM:
    case G_FILE_ERROR_ROFS:
      convert_to (error, SFB_ERROR_FAILED, HINT_PERMISSIONS);
      break;
    case G_FILE_ERROR_NOSPC:
      convert_to (error, SFB_ERROR_FAILED, "Free some disk space and try again");
      break;
    case G_FILE_ERROR_NAMETOOLONG:
    case G_FILE_ERROR_INVAL:
      convert_to (error, SFB_ERROR_INVALID_ARGS, NULL);
      break;
    default:
      convert_to (error, SFB_ERROR_FAILED, NULL);
      break;
    }
}

static void
convert_key_file_error (GError **error)
{
  switch ((*error)->code)
    {
    case G_KEY_FILE_ERROR_NOT_FOUND:
    case G_KEY_FILE_ERROR_KEY_NOT_FOUND:
    case G_KEY_FILE_ERROR_GROUP_NOT_FOUND:
      convert_to (error, SFB_ERROR_NOT_FOUND, NULL);
      break;
    case G_KEY_FILE_ERROR_INVALID_VALUE:
      convert_to (error, SFB_ERROR_INVALID_ARGS, NULL);
      break;
    default:
      convert_to (error, SFB_ERROR_FAILED, "Fix or remove the file");
      break;
    }
}

static void
convert_resolver_error (GError **error)
{
  switch ((*error)->code)
    {
    case G_RESOLVER_ERROR_NOT_FOUND:
      convert_to (error,
                  SFB_ERROR_DISCOVERY_FAILED,
                  "Check the domain of Account.Uri, or set the server with: "
                  "sfbctl config set Account.Server host:port");
      break;
    case G_RESOLVER_ERROR_TEMPORARY_FAILURE:
      convert_to (error, SFB_ERROR_NOT_REACHABLE, "Check the network connection and DNS");
      break;
    default:
      convert_to (error, SFB_ERROR_FAILED, NULL);
      break;
    }
}

static void
convert_tls_error (GError **error)
{
  switch ((*error)->code)
    {
    case G_TLS_ERROR_BAD_CERTIFICATE:
      convert_to (error, SFB_ERROR_CERTIFICATE_INVALID, HINT_CA);
      break;
    case G_TLS_ERROR_CERTIFICATE_REQUIRED:
      convert_to (error, SFB_ERROR_AUTH_FAILED, "The server asked for a client certificate");
      break;
    case G_TLS_ERROR_UNAVAILABLE:
      convert_to (error, SFB_ERROR_FAILED, "Install glib-networking for TLS support");
      break;
    case G_TLS_ERROR_NOT_TLS:
    case G_TLS_ERROR_HANDSHAKE:
    case G_TLS_ERROR_EOF:
    case G_TLS_ERROR_MISC:
    case G_TLS_ERROR_INAPPROPRIATE_FALLBACK:
      convert_to (error, SFB_ERROR_NOT_REACHABLE, "The TLS connection to the server failed");
      break;
    default:
      convert_to (error, SFB_ERROR_FAILED, NULL);
      break;
    }
}

static void
convert_dbus_error (GError **error)
{
  switch ((*error)->code)
    {
    case G_DBUS_ERROR_INVALID_ARGS:
      convert_to (error, SFB_ERROR_INVALID_ARGS, NULL);
      break;
    case G_DBUS_ERROR_TIMEOUT:
    case G_DBUS_ERROR_TIMED_OUT:
    case G_DBUS_ERROR_NO_REPLY:
      convert_to (error, SFB_ERROR_TIMED_OUT, NULL);
      break;
    default:
      convert_to (error, SFB_ERROR_FAILED, NULL);
      break;
    }
}

/* A remote error under our prefix that this process did not map. */
static gboolean
convert_remote_sfb_error (GError **error)
{
  g_autofree char *name = g_dbus_error_get_remote_error (*error);
  SfbError code;

  if (name == NULL || !sfb_error_from_dbus_name (name, &code))
    return FALSE;
  g_dbus_error_strip_remote_error (*error);
  convert_to (error, code, NULL);
  return TRUE;
}

/*
 * Maps any error into SFB_ERROR (fwupd_error_convert) before it crosses
 * the bus, so clients only ever see the contract names, with a message
 * a person can act on.
 */
void
sfb_error_convert (GError **error)
{
  GQuark domain;

  if (error == NULL || *error == NULL)
    return;
  domain = (*error)->domain;
  if (domain == SFB_ERROR)
    return;
  if (g_dbus_error_is_remote_error (*error))
    {
      if (convert_remote_sfb_error (error))
        return;
      g_dbus_error_strip_remote_error (*error);
    }

  if (domain == G_IO_ERROR)
    convert_io_error (error);
  else if (domain == G_FILE_ERROR)
    convert_file_error (error);
  else if (domain == G_KEY_FILE_ERROR)
    convert_key_file_error (error);
  else if (domain == G_RESOLVER_ERROR)
    convert_resolver_error (error);
  else if (domain == G_TLS_ERROR)
    convert_tls_error (error);
  else if (domain == G_DBUS_ERROR)
    convert_dbus_error (error);
  else
    convert_to (error, SFB_ERROR_FAILED, NULL);
}
