/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Endpoint identity: epid persistence, +sip.instance (docs/protocol.md §1,
 * §15.3) and the GRUU opaque (§17.13). */
#include "sfb-endpoint-id.h"
#include "sfb-error.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static void
test_instance_vectors (void)
{
  static const struct
  {
    const char *epid;
    const char *instance;
  } vectors[] = {
    { "8248ca9ebb", "4233FD41-093B-5FD6-B5D2-651ED55969E6" }, /* MS-SIPAE 4.1 */
    { "2ebb6f264f", "124841E4-264D-52E8-96C5-D22AA8CDC316" }, /* MS-SIPAE 4.2 */
    { "a0ae9e6cb0", "C1589240-E660-594F-A8B3-4B55F358CBC1" }, /* MS-SIPREGE 4.3 */
    { "c8ca638a15", "34D859DB-6585-5F91-A3B4-DE853C15347D" }, /* OC 2007 R2 capture */
    { "01010101", "4B1682A8-F968-5701-83FC-7C6741DC6697" },   /* MS-SIPRE */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      g_autofree char *instance = sfb_endpoint_id_to_instance (vectors[i].epid);

      g_assert_cmpstr (instance, ==, vectors[i].instance);
    }
}

static void
test_gruu_opaque (void)
{
  /* the GRUU OC 2007 R2 gave the endpoint of epid c8ca638a15 */
  g_autofree char *opaque = sfb_endpoint_id_gruu_opaque ("34D859DB-6585-5F91-A3B4-DE853C15347D");
  g_autofree char *lower
      = sfb_endpoint_id_gruu_opaque ("urn:uuid:34d859db-6585-5f91-a3b4-de853c15347d");
  /* a GRUU whose base64url needs '-' and '_' (Lync trace) */
  g_autofree char *dash = NULL;

  g_assert_cmpstr (opaque, ==, "user:epid:21nYNIVlkV-jtN6FPBU0fQAA");
  g_assert_cmpstr (lower, ==, opaque);
  dash = sfb_endpoint_id_gruu_opaque ("7AF002FA-D372-5A55-B2F8-093C4C99F564");
  g_assert_cmpstr (dash, ==, "user:epid:-gLwenLTVVqy-Ak8TJn1ZAAA");
  g_assert_null (sfb_endpoint_id_gruu_opaque ("34D859DB-6585-5F91-A3B4-DE853C15347"));
  g_assert_null (sfb_endpoint_id_gruu_opaque ("34D859DB+6585-5F91-A3B4-DE853C15347D"));
  g_assert_null (sfb_endpoint_id_gruu_opaque ("34D859DB-6585-5F91-A3B4-DE853C15347G"));
  g_assert_null (sfb_endpoint_id_gruu_opaque (""));
}

static void
test_persisted (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("sfb-epid-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "state", "sfbd", NULL);
  g_autofree char *path = g_build_filename (dir, "epid", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *third = NULL;
  GStatBuf st;

  g_assert_nonnull (tmp);
  first = sfb_endpoint_id_load_or_create (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (first), ==, 10);
  g_assert_cmpuint (strspn (first, "0123456789abcdef"), ==, 10);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* the same epid on the next start */
  second = sfb_endpoint_id_load_or_create (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second, ==, first);

  /* garbage in the file is replaced by a valid epid */
  g_assert_true (g_file_set_contents (path, "not-an-epid\n", -1, NULL));
  third = sfb_endpoint_id_load_or_create (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strspn (third, "0123456789abcdef"), ==, 10);

  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  dir[strlen (dir) - strlen ("/sfbd")] = '\0';
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_assert_cmpint (g_rmdir (tmp), ==, 0);
}

static void
test_unwritable (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *epid = NULL;

  /* a state directory below a regular file cannot be created */
  epid = sfb_endpoint_id_load_or_create ("/proc/version/sfbd", &error);
  g_assert_null (epid);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_FAILED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/endpoint-id/instance-vectors", test_instance_vectors);
  g_test_add_func ("/endpoint-id/gruu-opaque", test_gruu_opaque);
  g_test_add_func ("/endpoint-id/persisted", test_persisted);
  g_test_add_func ("/endpoint-id/unwritable", test_unwritable);
  return g_test_run ();
}
