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
  static const char *const hosts[] = { "pool1.contoso.test", "10.0.0.1",          "2001:db8::1",
                                       "[2001:db8::1]",      "fe_1.contoso.test", "fe80::1%eth0" };

  for (gsize i = 0; i < G_N_ELEMENTS (hosts); i++)
    {
      g_autofree char *text = sfb_home_pool_format (ALICE, hosts[i], 5061, NULL, 0);
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
    /* GLib takes any bytes as an IPv6 zone */
    ALICE "\nfe80::1%\x1b[31m:5061\n",
    ALICE "\n[fe80::1%\x01]:5061\n",
    ALICE "\nfe80::1%\xff:5061\n",
    ALICE "\nfe80::1%a b:5061\n",
  };
  static const char nul[] = ALICE "\npool1.contoso.\0test:5061\n";

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

#define NOW G_GINT64_CONSTANT (1796601600)

static gboolean
parse_address (const char *contents, gsize length, char **address, gint64 *learnt)
{
  return sfb_home_pool_parse_address (contents, length, ALICE, NOW, address, learnt);
}

static void
test_address_round_trip (void)
{
  static const char *const addresses[] = { "10.0.0.5", "2001:db8::5", "fe80::5%eth0" };

  for (gsize i = 0; i < G_N_ELEMENTS (addresses); i++)
    {
      g_autofree char *text
          = sfb_home_pool_format (ALICE, "pool1.contoso.test", 5061, addresses[i], NOW - 60);
      g_autofree char *host = NULL;
      g_autofree char *address = NULL;
      guint16 port = 0;
      gint64 learnt = 0;

      g_assert_true (parse (text, strlen (text), &host, &port));
      g_assert_cmpstr (host, ==, "pool1.contoso.test");
      g_assert_true (parse_address (text, strlen (text), &address, &learnt));
      g_assert_cmpstr (address, ==, addresses[i]);
      g_assert_cmpint (learnt, ==, NOW - 60);
    }
}

/* A damaged or stale address line loses the address only: the home pool
 * is still read. */
static void
test_address_damaged (void)
{
  static const char *const lines[] = {
    "",
    "10.0.0.5",
    "10.0.0.5 ",
    "10.0.0.5 x",
    "10.0.0.5 1796601540 extra",
    "pool1.contoso.test 1796601540", /* a name, not an address */
    "10.0.0.256 1796601540",
    "10.0.0.5 -5",
    "10.0.0.5 0",
    "10.0.0.5 99999999999999999999", /* overflows */
    "10.0.0.5 1793923200",           /* 31 days old */
    "10.0.0.5 1796698000",           /* more than a day ahead */
    "10.0.0.5\x1b[31m 1796601540",
    ("10.0.0.5 17966\xff"
     "01540"),
    "fe80::5%\x1b[31m 1796601540", /* GLib takes any bytes as an IPv6 zone */
    "fe80::5%\xff 1796601540",
  };
  static const char nul[] = ALICE "\npool1.contoso.test:5061\n10.0.0.5\0 1796601540\n";

  for (gsize i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      g_autofree char *text
          = g_strdup_printf ("%s\npool1.contoso.test:5061\n%s\n", ALICE, lines[i]);
      g_autofree char *host = NULL;
      g_autofree char *address = NULL;
      guint16 port = 0;
      gint64 learnt = 0;

      g_test_message ("%s", lines[i]);
      g_assert_false (parse_address (text, strlen (text), &address, &learnt));
      g_assert_null (address);
      g_assert_true (parse (text, strlen (text), &host, &port));
      g_assert_cmpstr (host, ==, "pool1.contoso.test");
    }
  {
    g_autofree char *host = NULL;
    g_autofree char *address = NULL;
    guint16 port = 0;
    gint64 learnt = 0;

    g_assert_false (parse_address (nul, sizeof nul - 1, &address, &learnt));
    g_assert_true (parse (nul, sizeof nul - 1, &host, &port));
    g_assert_cmpuint (port, ==, 5061);
  }
  {
    /* another account's file: no address either */
    static const char other[]
        = "sip:bob@contoso.test\npool1.contoso.test:5061\n10.0.0.5 1796601540\n";
    g_autofree char *address = NULL;
    gint64 learnt = 0;

    g_assert_false (parse_address (other, sizeof other - 1, &address, &learnt));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/home-pool/round-trip", test_round_trip);
  g_test_add_func ("/home-pool/damaged", test_damaged);
  g_test_add_func ("/home-pool/address-round-trip", test_address_round_trip);
  g_test_add_func ("/home-pool/address-damaged", test_address_damaged);
  return g_test_run ();
}
