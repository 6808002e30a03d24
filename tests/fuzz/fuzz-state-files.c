/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the files sfbd keeps in its state directory, as a
 * damaged disk or another program may leave them.  The first byte picks the
 * file, the rest is its content:
 *   0 epid (sfb-endpoint-id.h)        1 home-pool (sfb-home-pool.h)
 *   2 the contacts cache              3 the policies cache
 *   4 the dial plan cache             (sfb-cache.h, with what reads them)
 * Whatever is loaded must be usable as the daemon uses it: an epid of 10
 * lower-case hex digits, a home pool host fit to dial and to show, a
 * contact list within the limits of a server document, names without
 * control characters, and a cache entry of the type asked for.
 */
#include "fuzz-util.h"
#include "sfb-cache.h"
#include "sfb-contact-list.h"
#include "sfb-dial-plan.h"
#include "sfb-endpoint-id.h"
#include "sfb-home-pool.h"
#include "sfb-policies.h"

#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define ACCOUNT "sip:alice@contoso.test"

static const char *state_dir;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autofree char *cache = NULL;

  sfb_fuzz_quiet_logs ();
  state_dir = sfb_fuzz_scratch_dir ("state");
  cache = g_build_filename (state_dir, "cache", NULL);
  if (g_mkdir (cache, 0700) != 0)
    abort ();
  return 0;
}

static void
check_text (const char *text)
{
  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    abort ();
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      abort ();
}

static void
write_file (const char *path, const uint8_t *data, size_t size)
{
  if (!g_file_set_contents (path, (const char *) data, (gssize) size, NULL))
    abort ();
}

/* <state_dir>/cache/<sha256(account)[0:16]>-<name>, as sfb-cache.h documents */
static void
write_cache (const char *name, const uint8_t *data, size_t size)
{
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, ACCOUNT, -1);
  g_autofree char *file = g_strdup_printf ("%.16s-%s", digest, name);
  g_autofree char *path = g_build_filename (state_dir, "cache", file, NULL);

  write_file (path, data, size);
}

static void
fuzz_epid (const uint8_t *data, size_t size)
{
  g_autofree char *path = g_build_filename (state_dir, "epid", NULL);
  g_autofree char *epid = NULL;
  g_autofree char *again = NULL;

  write_file (path, data, size);
  epid = sfb_endpoint_id_load_or_create (state_dir, NULL);
  if (epid == NULL || strlen (epid) != 10 || strspn (epid, "0123456789abcdef") != 10)
    abort ();
  /* kept: the next start has the same identity */
  again = sfb_endpoint_id_load_or_create (state_dir, NULL);
  if (g_strcmp0 (epid, again) != 0)
    abort ();
}

/* a fixed "now" for the remembered address's age: runs are reproducible */
#define FUZZ_NOW G_GINT64_CONSTANT (1796601600)

static void
fuzz_home_pool (const uint8_t *data, size_t size)
{
  /* what g_file_get_contents() gives: the bytes and a NUL after them */
  g_autofree char *contents = g_malloc (size + 1);
  g_autofree char *host = NULL;
  g_autofree char *written = NULL;
  g_autofree char *host_again = NULL;
  g_autofree char *address = NULL;
  g_autofree char *address_again = NULL;
  guint16 port = 0;
  guint16 port_again = 0;
  gint64 learnt = 0;
  gint64 learnt_again = 0;

  memcpy (contents, data, size);
  contents[size] = '\0';
  if (!sfb_home_pool_parse (contents, size, ACCOUNT, &host, &port))
    return;
  check_text (host);
  if (*host == '\0' || strlen (host) > 255 || port == 0)
    abort ();
  /* what sfbd writes, it reads back the same */
  if (sfb_home_pool_parse_address (contents, size, ACCOUNT, FUZZ_NOW, &address, &learnt))
    {
      check_text (address);
      /* learnt within SFB_HOME_POOL_ADDRESS_MAX_AGE_S before now, at most a day after */
      if (*address == '\0' || strlen (address) > 45 || learnt <= 0 || learnt > FUZZ_NOW + 24 * 3600
          || learnt < FUZZ_NOW - SFB_HOME_POOL_ADDRESS_MAX_AGE_S)
        abort ();
    }
  /* what sfbd writes, it reads back the same */
  written = sfb_home_pool_format (ACCOUNT, host, port, address, learnt);
  if (!sfb_home_pool_parse (written, strlen (written), ACCOUNT, &host_again, &port_again)
      || g_strcmp0 (host, host_again) != 0 || port != port_again)
    abort ();
  if (address != NULL
      && (!sfb_home_pool_parse_address (
              written, strlen (written), ACCOUNT, FUZZ_NOW, &address_again, &learnt_again)
          || g_strcmp0 (address, address_again) != 0 || learnt != learnt_again))
    abort ();
}

static void
fuzz_contacts (const uint8_t *data, size_t size)
{
  g_autoptr (GVariant) cached = NULL;
  g_autoptr (SfbContactList) list = NULL;
  g_autoptr (GVariant) saved = NULL;
  g_autoptr (SfbContactList) again = NULL;
  g_autoptr (GVariant) saved_again = NULL;
  g_autoptr (GHashTable) uris = g_hash_table_new (g_str_hash, g_str_equal);

  write_cache ("contacts", data, size);
  cached = sfb_cache_load (
      state_dir, ACCOUNT, "contacts", G_VARIANT_TYPE (SFB_CONTACT_LIST_VARIANT_TYPE));
  if (cached == NULL)
    return;
  list = sfb_contact_list_from_variant (cached);
  if (list->groups->len > SFB_CONTACTS_MAX_GROUPS
      || list->contacts->len > SFB_CONTACTS_MAX_CONTACTS)
    abort ();
  for (guint i = 0; i < list->groups->len; i++)
    {
      const SfbContactGroup *g = list->groups->pdata[i];

      check_text (g->name);
      if (g->id == 0 || sfb_contact_list_lookup_group (list, g->id) != g)
        abort ();
    }
  for (guint i = 0; i < list->contacts->len; i++)
    {
      const SfbContactEntry *e = list->contacts->pdata[i];

      check_text (e->uri);
      check_text (e->name);
      if (!g_hash_table_add (uris, (gpointer) e->uri)
          || e->n_groups > SFB_CONTACTS_MAX_GROUPS_PER_CONTACT)
        abort ();
    }
  if (list->ucs_mode != NULL)
    check_text (list->ucs_mode);
  /* the cache sfbd writes next time reads back the same */
  saved = g_variant_ref_sink (sfb_contact_list_to_variant (list));
  again = sfb_contact_list_from_variant (saved);
  saved_again = g_variant_ref_sink (sfb_contact_list_to_variant (again));
  if (!g_variant_equal (saved, saved_again))
    abort ();
}

static void
fuzz_policies (const uint8_t *data, size_t size)
{
  g_autoptr (GVariant) policies = NULL;
  g_autoptr (GVariant) merged = NULL;
  g_autofree char *profile = NULL;

  write_cache ("policies", data, size);
  policies = sfb_cache_load (state_dir, ACCOUNT, "policies", G_VARIANT_TYPE ("a{sa{sv}}"));
  if (policies == NULL)
    return;
  profile = sfb_policies_dup_string (policies, "userSetting", "ucUserLocationProfile");
  if (profile != NULL && !g_utf8_validate (profile, -1, NULL))
    abort ();
  merged = sfb_policies_merge (policies, policies);
  if (!g_variant_is_of_type (merged, G_VARIANT_TYPE ("a{sa{sv}}")))
    abort ();
}

static void
fuzz_dial_plan (const uint8_t *data, size_t size)
{
  static const char *const numbers[] = { "123456", "+4401785123456", "0014255551234", "9" };
  g_autoptr (GVariant) document = NULL;
  g_autoptr (SfbDialPlan) plan = NULL;

  write_cache ("dial-plan", data, size);
  document = sfb_cache_load (state_dir, ACCOUNT, "dial-plan", G_VARIANT_TYPE_BYTESTRING);
  if (document == NULL)
    return;
  /* as sfb_settings_load_cache() reads it */
  plan = sfb_dial_plan_parse (g_variant_get_data (document), g_variant_get_size (document), NULL);
  if (plan == NULL)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (numbers); i++)
    {
      g_autofree char *normalized = NULL;
      g_autofree char *pattern = NULL;
      gboolean internal;

      if (sfb_dial_plan_normalize (plan, numbers[i], &normalized, &pattern, &internal, NULL)
          && (normalized == NULL || pattern == NULL))
        abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  switch (data[0] % 5)
    {
    case 0:
      fuzz_epid (data + 1, size - 1);
      break;
    case 1:
      fuzz_home_pool (data + 1, size - 1);
      break;
    case 2:
      fuzz_contacts (data + 1, size - 1);
      break;
    case 3:
      fuzz_policies (data + 1, size - 1);
      break;
    default:
      fuzz_dial_plan (data + 1, size - 1);
      break;
    }
  return 0;
}
