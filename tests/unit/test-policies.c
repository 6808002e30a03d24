/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* In-band provisioning (provisionGroupList, MS-SIPREGE 2.2.2.5): every
 * group and every property of sfbsim's default scenario, and hostile
 * documents. */
#include "sfb-error.h"
#include "sfb-policies.h"

#include <malloc.h>
#include <string.h>

static GVariant *
parse_string (const char *xml, GError **error)
{
  return sfb_policies_parse (xml, strlen (xml), error);
}

static GVariant *
load_default (void)
{
  g_autofree char *path
      = g_build_filename (g_getenv ("SFB_TEST_DATA"), "services", "provisioning-default.xml", NULL);
  g_autofree char *data = NULL;
  gsize length = 0;
  g_autoptr (GError) error = NULL;
  GVariant *policies;

  g_assert_true (g_file_get_contents (path, &data, &length, NULL));
  policies = sfb_policies_parse (data, length, &error);
  g_assert_no_error (error);
  g_assert_nonnull (policies);
  return policies;
}

static void
assert_string (GVariant *policies, const char *group, const char *name, const char *expected)
{
  g_autofree char *value = sfb_policies_dup_string (policies, group, name);

  g_assert_cmpstr (value, ==, expected);
}

static void
test_policies_default_groups (void)
{
  /* group, layout, number of properties (the scenario's tables) */
  static const struct
  {
    const char *name;
    gsize n_properties;
  } groups[] = {
    { "ServerConfiguration", 37 },   /* child elements */
    { "meetingPolicy", 18 },         /* instance/property */
    { "ucPolicy", 18 },              /* instance/property */
    { "publicProviders", 1 },        /* propertyEntryList, embedded document */
    { "userSetting", 4 },            /* propertyEntryList/property */
    { "locationPolicy", 11 },        /* ... */
    { "mediaConfiguration", 8 },     /* */
    { "endpointConfiguration", 16 }, /* */
    { "presencePolicyV2", 3 },       /* */
    { "persistentChatConfiguration", 2 },
  };
  g_autoptr (GVariant) policies = load_default ();

  g_assert_true (g_variant_is_of_type (policies, G_VARIANT_TYPE ("a{sa{sv}}")));
  g_assert_cmpuint (g_variant_n_children (policies), ==, G_N_ELEMENTS (groups));
  for (gsize i = 0; i < G_N_ELEMENTS (groups); i++)
    {
      g_autoptr (GVariant) entry = g_variant_get_child_value (policies, i);
      g_autoptr (GVariant) values = NULL;
      const char *name = NULL;

      g_variant_get (entry, "{&s@a{sv}}", &name, &values);
      /* in document order */
      g_assert_cmpstr (name, ==, groups[i].name);
      g_assert_cmpuint (g_variant_n_children (values), ==, groups[i].n_properties);
    }
}

static void
test_policies_default_values (void)
{
  g_autoptr (GVariant) policies = load_default ();
  g_autoptr (GVariant) uc_policy = NULL;
  g_autoptr (GVariant) usages = NULL;
  g_autoptr (GVariant) providers_group = NULL;
  g_autoptr (GVariant) providers = NULL;
  g_autoptr (GVariant) skype = NULL;
  const char *text = NULL;
  g_autofree const char **strv = NULL;

  /* every kind of setting sfbd exposes, as the server wrote it */
  assert_string (policies, "ServerConfiguration", "ucMinAudioPort", "50020");
  assert_string (policies, "ServerConfiguration", "ucMaxAudioPort", "50039");
  assert_string (policies, "ServerConfiguration", "qosEnabled", "true");
  assert_string (policies,
                 "ServerConfiguration",
                 "ucLocationProfile",
                 "{uri};opaque=app:locationprofile:get;default;gruu");
  assert_string (policies, "meetingPolicy", "MaxMeetingSize", "250");
  assert_string (policies, "meetingPolicy", "AllowConferenceRecording", "false");
  assert_string (policies, "ucPolicy", "CallViaWorkAdminCallbackNumber", "+441785100000");
  assert_string (policies, "ucPolicy", "VoiceMailEnabled", "true");
  assert_string (policies, "userSetting", "ucUserLocationProfile", "{dialplan}");
  assert_string (policies, "userSetting", "PhotoUrl", "https://{pool}/photos/{user}.jpg");
  assert_string (policies, "locationPolicy", "EmergencyDialString", "999");
  assert_string (policies, "locationPolicy", "PstnUsage", "UK-Emergency");
  assert_string (policies, "mediaConfiguration", "internalBypassMode", "Auto");
  assert_string (policies, "endpointConfiguration", "MaximumNumberOfContacts", "1000");
  assert_string (policies, "persistentChatConfiguration", "EnablePersistentChat", "false");
  assert_string (policies, "ucPolicy", "NoSuchProperty", NULL);
  assert_string (policies, "noSuchGroup", "Name", NULL);

  /* multi-valued: PSTN usages */
  uc_policy = g_variant_lookup_value (policies, "ucPolicy", G_VARIANT_TYPE_VARDICT);
  usages = g_variant_lookup_value (uc_policy, "PhoneRouteUsages", G_VARIANT_TYPE_STRING_ARRAY);
  g_assert_nonnull (usages);
  strv = g_variant_get_strv (usages, NULL);
  g_assert_cmpuint (g_strv_length ((char **) strv), ==, 3);
  g_assert_cmpstr (strv[0], ==, "UK-Local");
  g_assert_cmpstr (strv[1], ==, "UK-National");
  g_assert_cmpstr (strv[2], ==, "UK-International");
  /* a list is not a string */
  assert_string (policies, "ucPolicy", "PhoneRouteUsages", NULL);

  /* federation: one dictionary per public provider */
  providers_group = g_variant_lookup_value (policies, "publicProviders", G_VARIANT_TYPE_VARDICT);
  providers
      = g_variant_lookup_value (providers_group, "publicProviders", G_VARIANT_TYPE ("aa{sv}"));
  g_assert_nonnull (providers);
  g_assert_cmpuint (g_variant_n_children (providers), ==, 1);
  skype = g_variant_get_child_value (providers, 0);
  g_assert_cmpuint (g_variant_n_children (skype), ==, 6);
  g_assert_true (g_variant_lookup (skype, "Name", "&s", &text));
  g_assert_cmpstr (text, ==, "Skype");
  g_assert_true (g_variant_lookup (skype, "ProxyFqdn", "&s", &text));
  g_assert_cmpstr (text, ==, "federation.messenger.msn.com");
  g_assert_true (g_variant_lookup (skype, "NameDecorationExcludedDomainList", "&s", &text));
  g_assert_cmpstr (text, ==, "msn.com,outlook.com,live.com,hotmail.com");
}

static void
test_policies_request_body (void)
{
  g_autoptr (GBytes) body = sfb_policies_request_body ();
  g_autofree char *text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  static const char *const wanted[] = {
    "ServerConfiguration",
    "meetingPolicy",
    "ucPolicy",
    "userSetting",
    "locationPolicy",
    "publicProviders",
    "mediaConfiguration",
    "endpointConfiguration",
    "presencePolicyV2",
    "persistentChatConfiguration",
  };

  g_assert_true (g_str_has_prefix (text, "<provisioningGroupList"));
  for (gsize i = 0; i < G_N_ELEMENTS (wanted); i++)
    {
      g_autofree char *element = g_strdup_printf ("<provisioningGroup name=\"%s\"/>", wanted[i]);

      g_assert_nonnull (strstr (text, element));
    }
}

static void
test_policies_merge (void)
{
  g_autoptr (GVariant) base = load_default ();
  g_autoptr (GVariant) update
      = parse_string ("<provisionGroupList><provisionGroup name=\"meetingPolicy\"><instance>"
                      "<property name=\"MaxMeetingSize\">100</property></instance></provisionGroup>"
                      "<provisionGroup name=\"newGroup\"><propertyEntryList>"
                      "<property name=\"A\">b</property></propertyEntryList></provisionGroup>"
                      "</provisionGroupList>",
                      NULL);
  g_autoptr (GVariant) merged = NULL;
  g_autoptr (GVariant) meeting = NULL;

  g_assert_nonnull (update);
  merged = sfb_policies_merge (base, update);
  /* the update's groups replace the base's whole; the others stay */
  g_assert_cmpuint (g_variant_n_children (merged), ==, g_variant_n_children (base) + 1);
  meeting = g_variant_lookup_value (merged, "meetingPolicy", G_VARIANT_TYPE_VARDICT);
  g_assert_cmpuint (g_variant_n_children (meeting), ==, 1);
  assert_string (merged, "meetingPolicy", "MaxMeetingSize", "100");
  assert_string (merged, "ucPolicy", "EnterpriseVoiceEnabled", "true");
  assert_string (merged, "newGroup", "A", "b");
}

static void
test_policies_quirks (void)
{
  g_autoptr (GVariant) policies
      = parse_string ("<provisionGroupList>"
                      " <provisionGroup name=\"g\"><propertyEntryList>"
                      "  <property name=\"a\">  first  </property>"
                      "  <property name=\"a\">second</property>" /* repeated: the first counts */
                      "  <property>nameless</property>"
                      "  <property name=\"amp\">x &amp; &lt;y&gt;</property>"
                      "  <property name=\"cdata\"><![CDATA[<b>]]></property>"
                      " </propertyEntryList></provisionGroup>"
                      " <provisionGroup name=\"g\"><x>ignored: repeated group</x></provisionGroup>"
                      " <provisionGroup><x>ignored: nameless group</x></provisionGroup>"
                      " <provisionGroup name=\"publicProviders\"><propertyEntryList>"
                      "  <property name=\"publicProviders\">not a document</property>"
                      " </propertyEntryList></provisionGroup>"
                      " <somethingElse/>"
                      "</provisionGroupList>",
                      NULL);

  g_assert_nonnull (policies);
  g_assert_cmpuint (g_variant_n_children (policies), ==, 2);
  assert_string (policies, "g", "a", "first");
  assert_string (policies, "g", "amp", "x & <y>");
  assert_string (policies, "g", "cdata", "<b>");
  /* an unreadable embedded PublicProviders document is kept as text */
  assert_string (policies, "publicProviders", "publicProviders", "not a document");
}

static void
assert_rejected (const char *data, gsize length)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) policies = sfb_policies_parse (data, length, &error);

  g_assert_null (policies);
  g_assert_error (error, SFB_ERROR, SFB_ERROR_SERVER_REJECTED);
}

static void
test_policies_hostile (void)
{
  static const char *const documents[] = {
    "",
    "not xml",
    "<provisionGroupList>",                                /* truncated */
    "<provisionGroupList><provisionGroup name=\"a\"></x>", /* not well-formed */
    "<contactList/>",                                      /* another document */
    "<?xml version=\"1.0\"?>",                             /* no root */
    "<!DOCTYPE provisionGroupList [<!ENTITY e \"x\">]>"    /* a DTD */
    "<provisionGroupList><provisionGroup name=\"g\"><propertyEntryList>"
    "<property name=\"p\">&e;</property></propertyEntryList></provisionGroup>"
    "</provisionGroupList>",
    "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><provisionGroupList/>",
  };
  g_autoptr (GString) doc = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (documents); i++)
    assert_rejected (documents[i], strlen (documents[i]));

  /* more groups than allowed */
  doc = g_string_new ("<provisionGroupList>");
  for (guint i = 0; i <= SFB_POLICIES_MAX_GROUPS; i++)
    g_string_append_printf (doc, "<provisionGroup name=\"g%u\"/>", i);
  g_string_append (doc, "</provisionGroupList>");
  assert_rejected (doc->str, doc->len);

  /* more properties in one group than allowed */
  g_string_assign (doc, "<provisionGroupList><provisionGroup name=\"g\"><propertyEntryList>");
  for (guint i = 0; i <= SFB_POLICIES_MAX_PROPERTIES; i++)
    g_string_append_printf (doc, "<property name=\"p%u\">v</property>", i);
  g_string_append (doc, "</propertyEntryList></provisionGroup></provisionGroupList>");
  assert_rejected (doc->str, doc->len);

  /* more values in one property than allowed */
  g_string_assign (doc,
                   "<provisionGroupList><provisionGroup name=\"g\"><propertyEntryList>"
                   "<property name=\"p\">");
  for (guint i = 0; i <= SFB_POLICIES_MAX_VALUES; i++)
    g_string_append (doc, "<element>v</element>");
  g_string_append (doc, "</property></propertyEntryList></provisionGroup></provisionGroupList>");
  assert_rejected (doc->str, doc->len);

  /* deeper than allowed */
  g_string_assign (doc, "<provisionGroupList><provisionGroup name=\"g\">");
  for (guint i = 0; i < SFB_POLICIES_MAX_DEPTH; i++)
    g_string_append (doc, "<x>");
  for (guint i = 0; i < SFB_POLICIES_MAX_DEPTH; i++)
    g_string_append (doc, "</x>");
  g_string_append (doc, "</provisionGroup></provisionGroupList>");
  assert_rejected (doc->str, doc->len);

  /* larger than allowed, though well-formed */
  g_string_assign (doc, "<provisionGroupList><provisionGroup name=\"g\"><x>");
  while (doc->len <= SFB_POLICIES_MAX_DOCUMENT)
    g_string_append (doc, "0123456789abcdef");
  g_string_append (doc, "</x></provisionGroup></provisionGroupList>");
  assert_rejected (doc->str, doc->len);
}

static void
test_policies_limits_not_reached (void)
{
  /* at the limits is fine: exactly SFB_POLICIES_MAX_GROUPS groups */
  g_autoptr (GString) doc = g_string_new ("<provisionGroupList>");
  g_autoptr (GVariant) policies = NULL;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < SFB_POLICIES_MAX_GROUPS; i++)
    g_string_append_printf (doc, "<provisionGroup name=\"g%u\"><p>%u</p></provisionGroup>", i, i);
  g_string_append (doc, "</provisionGroupList>");
  policies = sfb_policies_parse (doc->str, doc->len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (policies), ==, SFB_POLICIES_MAX_GROUPS);
  assert_string (policies, "g63", "p", "63");
}

/* The policies are kept for the session: they come serialised (one
 * block), so reading their data allocates nothing; a tree of values
 * would be serialised then, and its children freed.  (Under ASan
 * mallinfo2() sees no allocations: the test then cannot tell.) */
static void
test_policies_serialised (void)
{
  g_autoptr (GVariant) policies = load_default ();
  struct mallinfo2 before = mallinfo2 ();
  struct mallinfo2 after;

  g_assert_nonnull (g_variant_get_data (policies));
  after = mallinfo2 ();
  g_assert_cmpuint (after.uordblks, ==, before.uordblks);
  assert_string (policies, "ServerConfiguration", "qosEnabled", "true");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policies/default/groups", test_policies_default_groups);
  g_test_add_func ("/policies/default/values", test_policies_default_values);
  g_test_add_func ("/policies/request-body", test_policies_request_body);
  g_test_add_func ("/policies/merge", test_policies_merge);
  g_test_add_func ("/policies/quirks", test_policies_quirks);
  g_test_add_func ("/policies/hostile", test_policies_hostile);
  g_test_add_func ("/policies/limits-not-reached", test_policies_limits_not_reached);
  g_test_add_func ("/policies/serialised", test_policies_serialised);
  return g_test_run ();
}
