/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "sfb-endpoint-id.h"

#include "sfb-error.h"
#include "sfb-file.h"

#define MAX_EPID_FILE 4096

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#define EPID_LEN 10

/* fcacfb03-8a73-46ef-91b1-e5ebeeaba4fe in Microsoft GUID byte order */
static const guint8 epid_namespace[16] = { 0x03, 0xfb, 0xac, 0xfc, 0x73, 0x8a, 0xef, 0x46,
                                           0x91, 0xb1, 0xe5, 0xeb, 0xee, 0xab, 0xa4, 0xfe };

static gboolean
is_epid (const char *text)
{
  if (strlen (text) != EPID_LEN)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
        return FALSE;
    }
  return TRUE;
}

static char *
new_epid (void)
{
  guint8 bytes[EPID_LEN / 2];
  GString *out = g_string_sized_new (EPID_LEN);

  if (gnutls_rnd (GNUTLS_RND_NONCE, bytes, sizeof bytes) != 0)
    {
      for (gsize i = 0; i < sizeof bytes; i++)
        bytes[i] = (guint8) g_random_int_range (0, 256);
    }
  for (gsize i = 0; i < sizeof bytes; i++)
    g_string_append_printf (out, "%02x", bytes[i]);
  return g_string_free (out, FALSE);
}

/**
 * sfb_endpoint_id_load_or_create:
 * @state_dir: the state directory ($XDG_STATE_HOME/sfbd or SFBD_STATE_DIR)
 *
 * Returns: the endpoint id kept in <state_dir>/epid, created (0600) on
 * first use and replaced if the file holds anything but 10 lower-case hex
 * digits.
 */
char *
sfb_endpoint_id_load_or_create (const char *state_dir, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *epid = NULL;
  g_autofree char *line = NULL;
  g_autoptr (GError) local_error = NULL;
  gsize length = 0;

  g_return_val_if_fail (state_dir != NULL, NULL);

  path = g_build_filename (state_dir, "epid", NULL);
  /* never blocks: a FIFO or anything but a small regular file is replaced */
  if (sfb_file_read_regular (path, MAX_EPID_FILE, &contents, &length, &local_error))
    {
      g_strstrip (contents);
      if (is_epid (contents))
        return g_steal_pointer (&contents);
      g_message ("Replacing the malformed endpoint id in %s", path);
    }
  else if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_INVAL)
           || g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_FAILED))
    g_message ("Replacing the endpoint id file: %s", local_error->message);
  else if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "Could not read the endpoint id: %s",
                   local_error->message);
      return NULL;
    }
  g_clear_error (&local_error);

  if (g_mkdir_with_parents (state_dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "Could not create %s: %s",
                   state_dir,
                   g_strerror (saved));
      return NULL;
    }
  epid = new_epid ();
  line = g_strconcat (epid, "\n", NULL);
  if (!g_file_set_contents_full (
          path, line, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local_error))
    {
      g_set_error (error,
                   SFB_ERROR,
                   SFB_ERROR_FAILED,
                   "Could not save the endpoint id: %s",
                   local_error->message);
      return NULL;
    }
  return g_steal_pointer (&epid);
}

/**
 * sfb_endpoint_id_to_instance:
 * @epid: the endpoint id
 *
 * Returns: the +sip.instance UUID derived from @epid (docs/protocol.md §1): a
 * version-5 UUID over the Microsoft-ordered namespace and the epid, whose
 * first three fields are read little-endian; upper case, no "urn:uuid:".
 */
char *
sfb_endpoint_id_to_instance (const char *epid)
{
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize digest_len = sizeof digest;
  guint32 time_low;
  guint16 time_mid;
  guint16 time_hi;

  g_return_val_if_fail (epid != NULL, NULL);

  g_checksum_update (sha1, epid_namespace, sizeof epid_namespace);
  g_checksum_update (sha1, (const guchar *) epid, (gssize) strlen (epid));
  g_checksum_get_digest (sha1, digest, &digest_len);

  time_low = (guint32) digest[0] | (guint32) digest[1] << 8 | (guint32) digest[2] << 16
             | (guint32) digest[3] << 24;
  time_mid = (guint16) (digest[4] | digest[5] << 8);
  time_hi = (guint16) (digest[6] | digest[7] << 8);
  time_hi = (guint16) ((time_hi & 0x0fff) | 0x5000);
  digest[8] = (guint8) ((digest[8] & 0x3f) | 0x80);
  return g_strdup_printf ("%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
                          time_low,
                          time_mid,
                          time_hi,
                          digest[8],
                          digest[9],
                          digest[10],
                          digest[11],
                          digest[12],
                          digest[13],
                          digest[14],
                          digest[15]);
}

/* "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" (either case) -> 16 bytes as printed */
static gboolean
parse_uuid (const char *text, guint8 out[16])
{
  static const int dashes[] = { 8, 13, 18, 23 };
  guint n = 0;

  if (strlen (text) != 36)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (dashes); i++)
    {
      if (text[dashes[i]] != '-')
        return FALSE;
    }
  for (const char *p = text; *p != '\0'; p++)
    {
      int hi;
      int lo;

      if (*p == '-')
        continue;
      hi = g_ascii_xdigit_value (p[0]);
      lo = p[1] != '\0' ? g_ascii_xdigit_value (p[1]) : -1;
      if (hi < 0 || lo < 0 || n >= 16)
        return FALSE;
      out[n++] = (guint8) (hi << 4 | lo);
      p++;
    }
  return n == 16;
}

/**
 * sfb_endpoint_id_gruu_opaque:
 * @instance: a +sip.instance UUID, with or without "urn:uuid:"
 *
 * Returns: (nullable): the opaque of the GRUU a server assigns to the
 * endpoint (docs/protocol.md §17.13): "user:epid:" and the base64url of the
 * GUID bytes in Microsoft order followed by two zero bytes; NULL if
 * @instance is not a UUID.
 */
char *
sfb_endpoint_id_gruu_opaque (const char *instance)
{
  guint8 uuid[16];
  guint8 guid[18] = { 0 };
  g_autofree char *b64 = NULL;

  g_return_val_if_fail (instance != NULL, NULL);

  if (g_ascii_strncasecmp (instance, "urn:uuid:", 9) == 0)
    instance += 9;
  if (!parse_uuid (instance, uuid))
    return NULL;
  /* time_low, time_mid and time_hi little-endian, the rest as printed */
  guid[0] = uuid[3];
  guid[1] = uuid[2];
  guid[2] = uuid[1];
  guid[3] = uuid[0];
  guid[4] = uuid[5];
  guid[5] = uuid[4];
  guid[6] = uuid[7];
  guid[7] = uuid[6];
  memcpy (guid + 8, uuid + 8, 8);
  b64 = g_base64_encode (guid, sizeof guid);
  g_strdelimit (b64, "+", '-');
  g_strdelimit (b64, "/", '_');
  return g_strconcat ("user:epid:", b64, NULL);
}
