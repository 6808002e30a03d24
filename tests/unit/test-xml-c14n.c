/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfb-xml-c14n: the exclusive canonical form written from events, against
 * libxml2's xmlC14NExecute() on the same element (xml-c14n-oracle.h), and
 * the writer's answer to events no parser gives. */
#include "config.h"

#include "xml-c14n-oracle.h"

#include <libxml/parser.h>

#include <string.h>

typedef struct
{
  const char *name;
  const char *xml;
  const char *apex;     /* local name of the element canonicalised, the first one */
  const char *expected; /* NULL: libxml2's form is the only reference */
} Sample;

#define SOAP_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define SAML_NS "urn:oasis:names:tc:SAML:1.0:assertion"
#define DS_NS "http://www.w3.org/2000/09/xmldsig#"

static const Sample samples[] = {
  { "saml-in-soap",
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<s:Envelope xmlns:s=\"" SOAP_NS "\" xmlns:saml=\"" SAML_NS "\" xmlns:ds=\"" DS_NS "\""
    " xmlns:wst=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\" xmlns:unused=\"urn:u\">"
    "<s:Body><wst:RequestSecurityTokenResponse><wst:RequestedSecurityToken>\n"
    "  <saml:Assertion MajorVersion=\"1\" MinorVersion=\"1\" AssertionID=\"SamlSecurityToken-1\""
    " Issuer=\"https://pool.contoso.test/WebTicket\" IssueInstant=\"2026-12-07T10:00:00Z\">\n"
    "    <saml:Conditions NotBefore=\"2026-12-07T10:00:00Z\" NotOnOrAfter=\"2026-12-07T18:00:00Z\">"
    "<saml:AudienceRestrictionCondition><saml:Audience>https://pool.contoso.test/</saml:Audience>"
    "</saml:AudienceRestrictionCondition></saml:Conditions>\n"
    "    <saml:AttributeStatement><saml:Subject><saml:NameIdentifier"
    " Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\">sip:alice@contoso.test"
    "</saml:NameIdentifier><saml:SubjectConfirmation><saml:ConfirmationMethod>"
    "urn:oasis:names:tc:SAML:1.0:cm:holder-of-key</saml:ConfirmationMethod>"
    "<KeyInfo xmlns=\"" DS_NS "\"><trust:BinarySecret"
    " xmlns:trust=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\">AAEC</trust:BinarySecret>"
    "</KeyInfo></saml:SubjectConfirmation></saml:Subject>"
    "<saml:Attribute AttributeName=\"URI\" AttributeNamespace=\"http://schemas.microsoft.com/ws/"
    "2006/04/identity/claims\"><saml:AttributeValue>sip:alice@contoso.test</saml:AttributeValue>"
    "</saml:Attribute></saml:AttributeStatement>\n"
    "    <ds:Signature><ds:SignedInfo><ds:CanonicalizationMethod"
    " Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"></ds:CanonicalizationMethod>"
    "</ds:SignedInfo><ds:SignatureValue>c2ln</ds:SignatureValue></ds:Signature>\n"
    "  </saml:Assertion>\n"
    "</wst:RequestedSecurityToken></wst:RequestSecurityTokenResponse></s:Body></s:Envelope>",
    "Assertion",
    NULL },
  { "default-ns-on-ancestor",
    "<root xmlns=\"urn:d\" xmlns:p=\"urn:p\"><mid><leaf a=\"1\"/></mid></root>",
    "mid",
    "<mid xmlns=\"urn:d\"><leaf a=\"1\"></leaf></mid>" },
  { "xmlns-empty-under-default",
    "<root xmlns=\"urn:d\"><x xmlns=\"\"><y/></x><z/></root>",
    "root",
    "<root xmlns=\"urn:d\"><x xmlns=\"\"><y></y></x><z></z></root>" },
  { "xmlns-empty-at-apex",
    "<root xmlns=\"urn:d\"><x xmlns=\"\"><y/></x></root>",
    "x",
    "<x><y></y></x>" },
  /* the default namespace declared but never utilised: nothing to undeclare */
  { "xmlns-empty-unrendered-default",
    "<p:root xmlns:p=\"urn:p\" xmlns=\"urn:d\"><x xmlns=\"\"/><p:y><z xmlns=\"\"/></p:y></p:root>",
    "root",
    "<p:root xmlns:p=\"urn:p\"><x></x><p:y><z></z></p:y></p:root>" },
  { "default-ns-changes",
    "<a xmlns=\"urn:1\"><b xmlns=\"urn:2\"><c xmlns=\"urn:1\"/></b><d xmlns=\"urn:1\"/></a>",
    "a",
    "<a xmlns=\"urn:1\"><b xmlns=\"urn:2\"><c xmlns=\"urn:1\"></c></b><d></d></a>" },
  { "prefix-redeclared-other-uri",
    "<p:a xmlns:p=\"urn:1\"><p:b xmlns:p=\"urn:2\"><p:c/></p:b><p:d/></p:a>",
    "a",
    "<p:a xmlns:p=\"urn:1\"><p:b xmlns:p=\"urn:2\"><p:c></p:c></p:b><p:d></p:d></p:a>" },
  { "prefix-redeclared-same-uri",
    "<p:a xmlns:p=\"urn:1\"><p:b xmlns:p=\"urn:1\"><p:c xmlns:p=\"urn:1\"/></p:b></p:a>",
    "a",
    "<p:a xmlns:p=\"urn:1\"><p:b><p:c></p:c></p:b></p:a>" },
  /* utilised only below an element that does not use it: rendered on each user */
  { "prefix-used-by-siblings",
    "<a xmlns:p=\"urn:p\"><b><p:c/><p:d/></b><e p:x=\"1\"/></a>",
    "a",
    "<a><b><p:c xmlns:p=\"urn:p\"></p:c><p:d xmlns:p=\"urn:p\"></p:d></b>"
    "<e xmlns:p=\"urn:p\" p:x=\"1\"></e></a>" },
  { "attribute-order",
    "<e xmlns:z=\"urn:a\" xmlns:a=\"urn:z\" xmlns:m=\"urn:m\" b=\"1\" a:y=\"2\" z:y=\"3\""
    " a=\"4\" m:b=\"5\" z:a=\"6\" xmlns=\"urn:d\"/>",
    "e",
    "<e xmlns=\"urn:d\" xmlns:a=\"urn:z\" xmlns:m=\"urn:m\" xmlns:z=\"urn:a\" a=\"4\" b=\"1\""
    " z:a=\"6\" z:y=\"3\" m:b=\"5\" a:y=\"2\"></e>" },
  { "xml-lang-not-inherited",
    "<root xml:lang=\"en\" xml:space=\"preserve\"><a xml:lang=\"fr\" b=\"x\"><c/></a><d/></root>",
    "a",
    "<a b=\"x\" xml:lang=\"fr\"><c></c></a>" },
  { "xml-lang-on-apex-ancestor", "<root xml:lang=\"en\"><d/></root>", "d", "<d></d>" },
  { "text-escaping",
    "<t>a &amp; b &lt; c &gt; d \"q\" 'q' &#xD;&#xA;&#x9;x\r\ny\rz</t>",
    "t",
    "<t>a &amp; b &lt; c &gt; d \"q\" 'q' &#xD;\n\tx\ny\nz</t>" },
  { "attribute-escaping",
    "<t a=\"&amp;&lt;&gt;&quot;'&#x9;&#xA;&#xD;\" b=\"x\ty\nz\r\nw\" c='\"'/>",
    "t",
    "<t a=\"&amp;&lt;>&quot;'&#x9;&#xA;&#xD;\" b=\"x y z w\" c=\"&quot;\"></t>" },
  { "processing-instructions",
    "<?before x?><r><?pi data with  spaces ?><?empty?><a><?x y?></a></r><?after?>",
    "r",
    "<r><?pi data with  spaces ?><?empty?><a><?x y?></a></r>" },
  { "cdata",
    "<r><![CDATA[<&>\"]]]]><![CDATA[>]]>tail &amp;</r>",
    "r",
    "<r>&lt;&amp;&gt;\"]]&gt;tail &amp;</r>" },
  { "whitespace-and-comments",
    "<r>\n  <!-- gone -->\n  <a>  x  </a>\t\n</r>",
    "r",
    "<r>\n  \n  <a>  x  </a>\t\n</r>" },
  { "unused-declarations-dropped",
    "<s:E xmlns:s=\"urn:s\" xmlns:u=\"urn:u\" xmlns=\"urn:d\"><s:B xmlns:v=\"urn:v\">t</s:B></s:E>",
    "E",
    "<s:E xmlns:s=\"urn:s\"><s:B>t</s:B></s:E>" },
  { "non-ascii",
    "<r \xc3\xa9=\"\xe2\x82\xac\" a=\"x\">caf\xc3\xa9</r>",
    "r",
    "<r a=\"x\" \xc3\xa9=\"\xe2\x82\xac\">caf\xc3\xa9</r>" },
  /* the xml prefix is bound by definition: never declared, on elements either */
  { "xml-prefixed-element",
    "<r><xml:a xml:lang=\"x\"><?e ?></xml:a></r>",
    "r",
    "<r><xml:a xml:lang=\"x\"><?e?></xml:a></r>" },
  /* the fragments the daemon signs (docs/protocol.md) */
  { "timestamp",
    "<wsu:Timestamp xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-"
    "wssecurity-utility-1.0.xsd\" wsu:Id=\"Timestamp\"><wsu:Created>2026-12-07T10:00:00Z"
    "</wsu:Created><wsu:Expires>2026-12-07T10:05:00Z</wsu:Expires></wsu:Timestamp>",
    "Timestamp",
    NULL },
  { "signed-info",
    "<ds:SignedInfo xmlns:ds=\"" DS_NS "\"><ds:CanonicalizationMethod"
    " Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><ds:SignatureMethod"
    " Algorithm=\"http://www.w3.org/2000/09/xmldsig#hmac-sha1\"/><ds:Reference URI=\"#Timestamp\">"
    "<ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"
    "</ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/>"
    "<ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo>",
    "SignedInfo",
    NULL },
};

/* The first element named @local_name, in document order */
static xmlNode *
find_element (xmlNode *root, const char *local_name)
{
  for (xmlNode *node = root; node != NULL; node = oracle_next_node (node, TRUE))
    if (node->type == XML_ELEMENT_NODE && strcmp ((const char *) node->name, local_name) == 0)
      return node;
  return NULL;
}

static void
test_against_libxml2 (gconstpointer data)
{
  const Sample *sample = data;
  xmlDoc *doc = xmlReadMemory (sample->xml,
                               strlen (sample->xml),
                               NULL,
                               NULL,
                               XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlNode *apex;
  g_autofree char *reference = NULL;
  g_autofree char *ours = NULL;

  g_assert_nonnull (doc);
  apex = find_element (xmlDocGetRootElement (doc), sample->apex);
  g_assert_nonnull (apex);
  reference = oracle_libxml2_c14n (doc, apex);
  ours = oracle_sfb_c14n (apex);
  xmlFreeDoc (doc);

  g_assert_nonnull (reference);
  g_assert_cmpstr (ours, ==, reference);
  if (sample->expected != NULL)
    g_assert_cmpstr (ours, ==, sample->expected);
}

/* The SAML assertion keeps the namespace it utilises and none of the
 * envelope's others */
static void
test_saml_namespaces (void)
{
  xmlDoc *doc = xmlReadMemory (samples[0].xml,
                               strlen (samples[0].xml),
                               NULL,
                               NULL,
                               XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  g_autofree char *ours = oracle_sfb_c14n (find_element (xmlDocGetRootElement (doc), "Assertion"));

  xmlFreeDoc (doc);
  g_assert_true (
      g_str_has_prefix (ours, "<saml:Assertion xmlns:saml=\"" SAML_NS "\" AssertionID="));
  g_assert_null (strstr (ours, "xmlns:s="));
  g_assert_null (strstr (ours, "xmlns:unused="));
  g_assert_nonnull (strstr (ours, "<ds:Signature xmlns:ds=\"" DS_NS "\">"));
  g_assert_nonnull (strstr (ours, "<KeyInfo xmlns=\"" DS_NS "\">"));
}

static char *
write_simple (void (*events) (SfbXmlC14n *c))
{
  SfbXmlC14n *c = sfb_xml_c14n_new ();

  events (c);
  return sfb_xml_c14n_finish (c);
}

static void
balanced (SfbXmlC14n *c)
{
  static const SfbXmlC14nAttr attrs[] = {
    { NULL, "b", NULL, "2" },
    /* declarations given as attributes are derived, not copied */
    { "xmlns", "p", "http://www.w3.org/2000/xmlns/", "urn:p" },
    { NULL, "xmlns", NULL, "urn:d" },
    { "", "a", "", "1" },
  };

  sfb_xml_c14n_start_element (c, "p", "r", "urn:p", attrs, G_N_ELEMENTS (attrs));
  sfb_xml_c14n_text (c, "x<y>z", 3); /* a length short of the NUL: read as given */
  sfb_xml_c14n_start_element (c, NULL, "e", NULL, NULL, 0);
  sfb_xml_c14n_end_element (c);
  sfb_xml_c14n_processing_instruction (c, "pi", NULL);
  sfb_xml_c14n_end_element (c);
}

static void
left_open (SfbXmlC14n *c)
{
  sfb_xml_c14n_start_element (c, NULL, "r", NULL, NULL, 0);
  sfb_xml_c14n_start_element (c, NULL, "e", NULL, NULL, 0);
  sfb_xml_c14n_end_element (c);
}

static void
closed_twice (SfbXmlC14n *c)
{
  sfb_xml_c14n_start_element (c, NULL, "r", NULL, NULL, 0);
  sfb_xml_c14n_end_element (c);
  sfb_xml_c14n_end_element (c);
}

static void
second_root (SfbXmlC14n *c)
{
  sfb_xml_c14n_start_element (c, NULL, "r", NULL, NULL, 0);
  sfb_xml_c14n_end_element (c);
  sfb_xml_c14n_start_element (c, NULL, "r", NULL, NULL, 0);
  sfb_xml_c14n_end_element (c);
}

static void
text_before (SfbXmlC14n *c)
{
  sfb_xml_c14n_text (c, "x", 1);
  sfb_xml_c14n_start_element (c, NULL, "r", NULL, NULL, 0);
  sfb_xml_c14n_end_element (c);
}

static void
text_after (SfbXmlC14n *c)
{
  sfb_xml_c14n_start_element (c, NULL, "r", NULL, NULL, 0);
  sfb_xml_c14n_end_element (c);
  sfb_xml_c14n_text (c, "", 0);
}

static void
pi_before (SfbXmlC14n *c)
{
  sfb_xml_c14n_processing_instruction (c, "pi", "x");
  sfb_xml_c14n_start_element (c, NULL, "r", NULL, NULL, 0);
  sfb_xml_c14n_end_element (c);
}

static void
nul_in_text (SfbXmlC14n *c)
{
  sfb_xml_c14n_start_element (c, NULL, "r", NULL, NULL, 0);
  sfb_xml_c14n_text (c, "a\0b", 3);
  sfb_xml_c14n_end_element (c);
}

static void
nameless (SfbXmlC14n *c)
{
  static const SfbXmlC14nAttr attrs[] = { { NULL, NULL, NULL, "v" } };

  sfb_xml_c14n_start_element (c, NULL, "r", NULL, attrs, 1);
  sfb_xml_c14n_end_element (c);
}

/* one prefix, two URIs on one element: declared once, the element's */
static void
conflicting_prefix (SfbXmlC14n *c)
{
  static const SfbXmlC14nAttr attrs[] = { { "p", "a", "urn:2", "1" } };

  sfb_xml_c14n_start_element (c, "p", "r", "urn:1", attrs, 1);
  sfb_xml_c14n_end_element (c);
}

static void
nothing (SfbXmlC14n *c)
{
}

static void
test_events (void)
{
  g_autofree char *ok = write_simple (balanced);

  g_assert_cmpstr (ok, ==, "<p:r xmlns:p=\"urn:p\" a=\"1\" b=\"2\">x&lt;y<e></e><?pi?></p:r>");
  g_clear_pointer (&ok, g_free);
  ok = write_simple (conflicting_prefix);
  g_assert_cmpstr (ok, ==, "<p:r xmlns:p=\"urn:1\" p:a=\"1\"></p:r>");
  g_assert_null (write_simple (left_open));
  g_assert_null (write_simple (closed_twice));
  g_assert_null (write_simple (second_root));
  g_assert_null (write_simple (text_before));
  g_assert_null (write_simple (text_after));
  g_assert_null (write_simple (pi_before));
  g_assert_null (write_simple (nul_in_text));
  g_assert_null (write_simple (nameless));
  g_assert_null (write_simple (nothing));
}

/* Deep nesting: no recursion in the writer, bindings popped at each end */
static void
test_deep (void)
{
  g_autoptr (GString) expected = g_string_new (NULL);
  SfbXmlC14n *c = sfb_xml_c14n_new ();
  g_autofree char *out = NULL;
  const guint depth = 100000;

  for (guint i = 0; i < depth; i++)
    {
      const char *uri = i % 2 ? "urn:odd" : "urn:even";

      sfb_xml_c14n_start_element (c, "p", "e", uri, NULL, 0);
      g_string_append_printf (expected, "<p:e xmlns:p=\"%s\">", uri);
    }
  for (guint i = 0; i < depth; i++)
    {
      sfb_xml_c14n_end_element (c);
      g_string_append (expected, "</p:e>");
    }
  out = sfb_xml_c14n_finish (c);
  g_assert_cmpstr (out, ==, expected->str);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      g_autofree char *path = g_strdup_printf ("/xml-c14n/libxml2/%s", samples[i].name);

      g_test_add_data_func (path, &samples[i], test_against_libxml2);
    }
  g_test_add_func ("/xml-c14n/saml-namespaces", test_saml_namespaces);
  g_test_add_func ("/xml-c14n/events", test_events);
  g_test_add_func ("/xml-c14n/deep", test_deep);
  return g_test_run ();
}
