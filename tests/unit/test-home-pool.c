/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The home pool file (sfb-home-pool.h): what sfbd writes it reads back; a
 * file for another account or a damaged one counts as absent. */
#include "sfb-home-pool.h"

#include <string.h>

#define ALICE "sip:alice@contoso.test"

static gboolean
parse (const char *contents, gsize length, char **host, guint16 *port)
{
  return sfb_home_pool_parse (contents, length, ALICE, host, port);
}

static void
test_round_trip (void)
{
  static const char *const hosts[]
      = { "pool1.contoso.test", "10.0.0.1", "2001:db8::1", "[2001:db8::1]", "fe_1.contoso.test" };

  for (gsize i = 0; i < G_N_ELEMENTS (hosts); i++)
    {
      g_autofree char *text = sfb_home_pool_format (ALICE, hosts[i], 5061);
      g_autofree char *host = NULL;
      guint16 port = 0;

      g_assert_true (parse (text, strlen (text), &host, &port));
      g_assert_cmpstr (host, ==, hosts[i]);
      g_assert_cmpuint (port, ==, 5061);
    }
}

static void
test_damaged (void)
{
  static const char *const files[] = {
    "sip:bob@contoso.test\npool1.contoso.test:5061\n", /* another account */
    ALICE "\n",
    ALICE "\npool1.contoso.test\n",
    ALICE "\npool1.contoso.test:0\n",
    ALICE "\npool1.contoso.test:65536\n",
    ALICE "\n:5061\n",
    ALICE "\npool1\x1b[31m.contoso.test:5061\n", /* a terminal escape */
    ALICE "\npool1.contoso.test\xff:5061\n",     /* not UTF-8 */
    ALICE "\npool 1.contoso.test:5061\n",
    ALICE "\n[pool1]:5061\n",
  };
  static const char nul[] = ALICE "\npool1.contoso.test:5061\n\0trailing";

  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *host = NULL;
      guint16 port = 0;

      g_test_message ("%s", files[i]);
      g_assert_false (parse (files[i], strlen (files[i]), &host, &port));
      g_assert_null (host);
    }
  {
    g_autofree char *host = NULL;
    guint16 port = 0;

    g_assert_false (parse (nul, sizeof nul - 1, &host, &port));
  }
  {
    g_autofree char *long_host = g_strnfill (256, 'a');
    g_autofree char *text = g_strdup_printf ("%s\n%s:5061\n", ALICE, long_host);
    g_autofree char *host = NULL;
    guint16 port = 0;

    g_assert_false (parse (text, strlen (text), &host, &port));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/home-pool/round-trip", test_round_trip);
  g_test_add_func ("/home-pool/damaged", test_damaged);
  return g_test_run ();
}
