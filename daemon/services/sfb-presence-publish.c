/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

/* What sfbd sends about presence (docs/protocol.md §11.4, §11.5): the
 * category publication and its categories, the 409 fault that answers a
 * stale version, the batched SUBSCRIBE and the subscribers' acknowledgement. */

#include "sfb-presence-doc.h"

#include "sfb-error.h"
#include "sfb-svc-xml.h"

#include <string.h>

/* ---- publishing ---- */

typedef struct
{
  char *name;
  guint32 instance;
  guint container;
  guint version;
  char *expire_type;
  char *content;
} Publication;

struct _SfbPublish
{
  char *uri;
  GPtrArray *publications;
};

static void
publication_free (Publication *p)
{
  g_free (p->name);
  g_free (p->expire_type);
  g_free (p->content);
  g_free (p);
}

SfbPublish *
sfb_publish_new (const char *uri)
{
  SfbPublish *publish = g_new0 (SfbPublish, 1);

  publish->uri = g_strdup (uri);
  publish->publications = g_ptr_array_new_with_free_func ((GDestroyNotify) publication_free);
  return publish;
}

void
sfb_publish_free (SfbPublish *publish)
{
  if (publish == NULL)
    return;
  g_free (publish->uri);
  g_ptr_array_unref (publish->publications);
  g_free (publish);
}

void
sfb_publish_add (SfbPublish *publish,
                 const char *name,
                 guint32 instance,
                 guint container,
                 guint version,
                 const char *expire_type,
                 const char *content)
{
  Publication *p = g_new0 (Publication, 1);

  p->name = g_strdup (name);
  p->instance = instance;
  p->container = container;
  p->version = version;
  p->expire_type = g_strdup (expire_type);
  p->content = g_strdup (content);
  g_ptr_array_add (publish->publications, p);
}

guint
sfb_publish_get_length (SfbPublish *publish)
{
  return publish->publications->len;
}

const char *
sfb_publish_get_key (SfbPublish *publish, guint index, guint32 *instance, guint *container)
{
  const Publication *p;

  if (index == 0 || index > publish->publications->len)
    return NULL;
  p = publish->publications->pdata[index - 1];
  *instance = p->instance;
  *container = p->container;
  return p->name;
}

void
sfb_publish_add_versioned (SfbPublish *publish,
                           GHashTable *versions,
                           const char *name,
                           guint32 instance,
                           guint container,
                           const char *expire_type,
                           const char *content)
{
  guint version = sfb_pub_versions_get (versions, name, instance, container);

  /* Removing what the server does not have is a no-op: leave it out. */
  if (content == NULL && version == 0)
    return;
  sfb_publish_add (publish, name, instance, container, version, expire_type, content);
}

void
sfb_pub_versions_published (GHashTable *versions, SfbPublish *publish)
{
  for (guint i = 0; i < publish->publications->len; i++)
    {
      const Publication *p = publish->publications->pdata[i];

      /* A removed instance is gone: publishing it again starts at 0. */
      sfb_pub_versions_set (
          versions, p->name, p->instance, p->container, p->content != NULL ? p->version + 1 : 0);
    }
}

GBytes *
sfb_publish_to_bytes (SfbPublish *publish)
{
  GString *out = g_string_new (NULL);
  g_autofree char *uri = g_markup_escape_text (publish->uri, -1);

  g_string_append_printf (out,
                          "<publish xmlns=\"http://schemas.microsoft.com/2006/09/sip/"
                          "rich-presence\"><publications uri=\"%s\">",
                          uri);
  for (guint i = 0; i < publish->publications->len; i++)
    {
      const Publication *p = publish->publications->pdata[i];

      g_string_append_printf (out,
                              "<publication categoryName=\"%s\" instance=\"%u\" "
                              "container=\"%u\" version=\"%u\" expireType=\"%s\"",
                              p->name,
                              p->instance,
                              p->container,
                              p->version,
                              p->expire_type);
      if (p->content == NULL)
        g_string_append (out, " expires=\"0\"/>");
      else
        g_string_append_printf (out, ">%s</publication>", p->content);
    }
  g_string_append (out, "</publications></publish>");
  return g_string_free_to_bytes (out);
}

static guint32
epid_prefix (const char *epid)
{
  char hex[9] = { 0 };
  guint64 value = 0;

  if (epid != NULL)
    strncpy (hex, epid, 8);
  if (!g_ascii_string_to_unsigned (hex, 16, 0, G_MAXUINT32, &value, NULL))
    return 0;
  return (guint32) value;
}

guint32
sfb_presence_device_instance (const char *epid)
{
  return epid_prefix (epid);
}

guint32
sfb_presence_machine_state_instance (const char *epid)
{
  return 0x30000000u | (epid_prefix (epid) >> 4);
}

char *
sfb_presence_device_xml (const char *uri,
                         const char *instance_uuid,
                         const char *machine_name,
                         const char *time_zone)
{
  g_autofree char *u = g_markup_escape_text (uri, -1);
  g_autofree char *id = g_markup_escape_text (instance_uuid != NULL ? instance_uuid : "", -1);
  g_autofree char *host = g_markup_escape_text (machine_name != NULL ? machine_name : "", -1);
  g_autofree char *tz = g_markup_escape_text (time_zone != NULL ? time_zone : "00:00:00+00:00", -1);

  /* what this endpoint takes: text, shown as text (no ink), and no voice,
   * video or application sharing, so contacts' clients offer no calls
   * here (docs/protocol.md §19.5) */
  return g_strdup_printf (
      "<device xmlns=\"http://schemas.microsoft.com/2006/09/sip/device\" endpointId=\"%s\">"
      "<capabilities preferred=\"false\" uri=\"%s\">"
      "<text capture=\"true\" render=\"true\" publish=\"false\"/>"
      "<gifInk capture=\"false\" render=\"false\" publish=\"false\"/>"
      "<isfInk capture=\"false\" render=\"false\" publish=\"false\"/>"
      "</capabilities><timezone>%s</timezone><machineName>%s</machineName></device>",
      id,
      u,
      tz,
      host);
}

char *
sfb_presence_state_xml (const char *type, gboolean manual, guint availability, const char *activity)
{
  g_autofree char *act = NULL;

  if (activity != NULL && *activity != '\0')
    {
      g_autofree char *token = g_markup_escape_text (activity, -1);
      act = g_strdup_printf ("<activity token=\"%s\"/>", token);
    }
  return g_strdup_printf (
      "<state xmlns=\"http://schemas.microsoft.com/2006/09/sip/state\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" manual=\"%s\" xsi:type=\"%s\">"
      "<availability>%u</availability>%s<endpointLocation/></state>",
      manual ? "true" : "false",
      type,
      availability,
      act != NULL ? act : "");
}

char *
sfb_presence_note_xml (const char *note)
{
  g_autofree char *text = g_markup_escape_text (note, -1);

  return g_strdup_printf ("<note xmlns=\"http://schemas.microsoft.com/2006/09/sip/note\">"
                          "<body type=\"personal\" uri=\"\">%s</body></note>",
                          text);
}

gboolean
sfb_presence_parse_fault (
    const char *data, gsize length, char **faultcode, GArray **operations, GError **error)
{
  g_autoptr (SfbXmlDoc) xml = sfb_svc_xml_parse (data, length, "publication fault", error);
  g_autoptr (GArray) ops = NULL;
  SfbXmlNode *root;

  if (xml == NULL)
    return FALSE;
  root = sfb_xml_doc_root (xml);
  if (!sfb_svc_xml_is (root, "Fault"))
    {
      g_set_error_literal (
          error, SFB_ERROR, SFB_ERROR_FAILED, "The server's 409 body is not a Fault document");
      return FALSE;
    }
  ops = g_array_new (FALSE, FALSE, sizeof (SfbFaultOperation));
  for (SfbXmlNode *o = sfb_svc_xml_child (sfb_svc_xml_child (root, "details"), "operation");
       o != NULL && ops->len < SFB_PRESENCE_MAX_CATEGORIES;
       o = sfb_svc_xml_next (o, "operation"))
    {
      guint64 index = 0, cur = 0;
      SfbFaultOperation op;

      if (!sfb_svc_xml_attr_uint (o, "index", G_MAXUINT32, &index)
          || !sfb_svc_xml_attr_uint (o, "curVersion", G_MAXUINT32, &cur))
        continue;
      op.index = (guint) index;
      op.cur_version = (guint) cur;
      g_array_append_val (ops, op);
    }
  if (faultcode != NULL)
    {
      g_autofree char *raw = sfb_svc_xml_text (sfb_svc_xml_child (root, "Faultcode"));
      *faultcode = sfb_svc_clean_string (raw);
    }
  if (operations != NULL)
    *operations = g_steal_pointer (&ops);
  return TRUE;
}

GBytes *
sfb_presence_batch_subscribe_body (const char *self_uri, guint action_id, const char *const *uris)
{
  GString *out = g_string_new (NULL);
  g_autofree char *me = g_markup_escape_text (self_uri, -1);

  g_string_append_printf (out,
                          "<batchSub xmlns=\"http://schemas.microsoft.com/2006/01/sip/"
                          "batch-subscribe\" uri=\"%s\" name=\"\">"
                          "<action name=\"subscribe\" id=\"%u\"><adhocList>",
                          me,
                          action_id);
  for (guint i = 0; uris != NULL && uris[i] != NULL; i++)
    {
      g_autofree char *u = g_markup_escape_text (uris[i], -1);
      g_string_append_printf (out, "<resource uri=\"%s\"/>", u);
    }
  g_string_append (out,
                   "</adhocList><categoryList xmlns=\"http://schemas.microsoft.com/2006/09/sip/"
                   "categorylist\"><category name=\"calendarData\"/>"
                   "<category name=\"contactCard\"/><category name=\"note\"/>"
                   "<category name=\"state\"/></categoryList></action></batchSub>");
  return g_string_free_to_bytes (out);
}

GBytes *
sfb_presence_set_subscribers_body (const char *const *users)
{
  GString *out = g_string_new ("<setSubscribers xmlns=\"http://schemas.microsoft.com/2006/09/sip/"
                               "presence-subscribers\">");

  for (guint i = 0; users != NULL && users[i] != NULL; i++)
    {
      g_autofree char *u = g_markup_escape_text (users[i], -1);
      g_string_append_printf (out, "<subscriber user=\"%s\" acknowledged=\"true\"/>", u);
    }
  g_string_append (out, "</setSubscribers>");
  return g_string_free_to_bytes (out);
}
