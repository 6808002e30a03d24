/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-svc"

#include "config.h"

#include "sfb-contacts.h"

#include "sfb-cache.h"
#include "sfb-error.h"
#include "sfb-log.h"
#include "sfb-presence-doc.h"
#include "sfb-subscription.h"

#define CACHE_NAME "contacts"

struct _SfbContacts
{
  GObject parent_instance;

  SfbSession *session;
  SfbConfig *config;
  char *state_dir;
  SfbSubscription *subscription;
  SfbContactList *list;
  gboolean cached;
  guint settings_task;
  gulong registered_id;
};

G_DEFINE_FINAL_TYPE (SfbContacts, sfb_contacts, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
end_settings_task (SfbContacts *self)
{
  if (self->settings_task != 0)
    sfb_session_end_settings_task (self->session, self->settings_task);
  self->settings_task = 0;
}

static void
save_cache (SfbContacts *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) data = NULL;
  const char *account = sfb_config_get_uri (self->config);

  if (self->state_dir == NULL || account == NULL || *account == '\0')
    return;
  data = g_variant_ref_sink (sfb_contact_list_to_variant (self->list));
  if (!sfb_cache_save (self->state_dir, account, CACHE_NAME, data, &error))
    g_debug ("Could not cache the contact list: %s", error->message);
}

gboolean
sfb_contacts_apply_document (SfbContacts *self, GBytes *body, GError **error)
{
  gboolean changed = FALSE;
  gboolean was_cached = self->cached;
  gsize length = 0;
  const char *data = g_bytes_get_data (body, &length);

  if (!sfb_contact_list_update (self->list, data, length, &changed, error))
    return FALSE;
  self->cached = FALSE;
  g_debug ("Contact list revision %u: %u contacts, %u groups%s%s",
           self->list->revision,
           self->list->contacts->len,
           self->list->groups->len,
           self->list->ucs_mode != NULL ? ", ucsmode " : "",
           self->list->ucs_mode != NULL ? self->list->ucs_mode : "");
  if (changed)
    save_cache (self);
  if (changed || was_cached)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

static void
on_notify_body (SfbSubscription *subscription,
                const char *content_type,
                GBytes *body,
                gboolean benotify,
                gpointer user_data)
{
  SfbContacts *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!sfb_contacts_apply_document (self, body, &error))
    sfb_warn_err (error, "Ignoring a roaming contacts document: %s", error->message);
  end_settings_task (self);
}

/* A 488 to the roaming-contacts SUBSCRIBE: the list lives in Exchange
 * (the Unified Contact Store), which sfbd does not read.  Reported as
 * UcsMode "migrated", not as an empty list. */
static void
set_ucs_list (SfbContacts *self)
{
  g_autoptr (SfbContactList) list = sfb_contact_list_new ();

  list->ucs_mode = g_strdup ("migrated");
  sfb_contact_list_free (self->list);
  self->list = g_steal_pointer (&list);
  self->cached = FALSE;
  save_cache (self);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
on_terminated (SfbSubscription *subscription, const GError *reason, SfbContacts *self)
{
  if (sfb_subscription_get_last_status (subscription) == 488)
    {
      g_info ("The contact list is in the Unified Contact Store (Exchange): %s", reason->message);
      set_ucs_list (self);
    }
  else
    g_info ("Roaming contacts subscription ended: %s", reason->message);
  end_settings_task (self);
}

static void
on_registered (SfbSession *session, SfbContacts *self)
{
  end_settings_task (self);
  self->settings_task = sfb_session_begin_settings_task (session, "roaming contacts");
}

SfbContacts *
sfb_contacts_new (SfbSession *session, SfbConfig *config, const char *state_dir)
{
  SfbContacts *self = g_object_new (SFB_TYPE_CONTACTS, NULL);

  self->session = g_object_ref (session);
  self->config = g_object_ref (config);
  self->state_dir = g_strdup (state_dir);
  self->registered_id = g_signal_connect (session, "registered", G_CALLBACK (on_registered), self);
  self->subscription = sfb_subscription_new (
      session, "vnd-microsoft-roaming-contacts", SFB_CT_ROAMING_CONTACTS, NULL);
  sfb_subscription_add_header (self->subscription, "Supported", "ms-ucs");
  sfb_subscription_set_body_handler (self->subscription, on_notify_body, self);
  g_signal_connect (self->subscription, "terminated", G_CALLBACK (on_terminated), self);
  sfb_subscription_start (self->subscription);
  return self;
}

void
sfb_contacts_load_cache (SfbContacts *self)
{
  const char *account = sfb_config_get_uri (self->config);
  g_autoptr (GVariant) data = NULL;

  g_return_if_fail (SFB_IS_CONTACTS (self));

  if (self->state_dir != NULL && account != NULL && *account != '\0')
    data = sfb_cache_load (
        self->state_dir, account, CACHE_NAME, G_VARIANT_TYPE (SFB_CONTACT_LIST_VARIANT_TYPE));
  sfb_contact_list_free (self->list);
  self->list = data != NULL ? sfb_contact_list_from_variant (data) : sfb_contact_list_new ();
  self->cached = data != NULL;
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

const SfbContactList *
sfb_contacts_get_list (SfbContacts *self)
{
  g_return_val_if_fail (SFB_IS_CONTACTS (self), NULL);
  return self->list;
}

gboolean
sfb_contacts_is_cached (SfbContacts *self)
{
  g_return_val_if_fail (SFB_IS_CONTACTS (self), FALSE);
  return self->cached;
}

const char *
sfb_contacts_get_own_domain (SfbContacts *self)
{
  const char *uri = sfb_config_get_uri (self->config);
  const char *domain = sfb_contact_uri_domain (uri);

  return *domain != '\0' ? domain : NULL;
}

GStrv
sfb_contacts_dup_uris (SfbContacts *self)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < self->list->contacts->len; i++)
    g_strv_builder_add (builder, ((SfbContactEntry *) self->list->contacts->pdata[i])->uri);
  return g_strv_builder_end (builder);
}

static void
sfb_contacts_dispose (GObject *object)
{
  SfbContacts *self = SFB_CONTACTS (object);

  if (self->subscription != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->subscription, self);
      sfb_subscription_set_body_handler (self->subscription, NULL, NULL);
    }
  g_clear_object (&self->subscription);
  if (self->session != NULL)
    g_clear_signal_handler (&self->registered_id, self->session);
  g_clear_object (&self->session);
  g_clear_object (&self->config);
  G_OBJECT_CLASS (sfb_contacts_parent_class)->dispose (object);
}

static void
sfb_contacts_finalize (GObject *object)
{
  SfbContacts *self = SFB_CONTACTS (object);

  sfb_contact_list_free (self->list);
  g_free (self->state_dir);
  G_OBJECT_CLASS (sfb_contacts_parent_class)->finalize (object);
}

static void
sfb_contacts_class_init (SfbContactsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_contacts_dispose;
  object_class->finalize = sfb_contacts_finalize;
  signals[SIGNAL_CHANGED] = g_signal_new ("contacts-changed",
                                          G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST,
                                          0,
                                          NULL,
                                          NULL,
                                          NULL,
                                          G_TYPE_NONE,
                                          0);
}

static void
sfb_contacts_init (SfbContacts *self)
{
  self->list = sfb_contact_list_new ();
}
