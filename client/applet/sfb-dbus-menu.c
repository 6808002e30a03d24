/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* com.canonical.dbusmenu, version 3: see sfb-dbus-menu.h. */
#define G_LOG_DOMAIN "sfbd-applet"

#include "config.h"

#include "sfb-dbus-menu.h"

#include <string.h>

static const char introspection_xml[]
    = "<node>"
      " <interface name='com.canonical.dbusmenu'>"
      "  <property name='Version' type='u' access='read'/>"
      "  <property name='TextDirection' type='s' access='read'/>"
      "  <property name='Status' type='s' access='read'/>"
      "  <property name='IconThemePath' type='as' access='read'/>"
      "  <method name='GetLayout'>"
      "   <arg name='parentId' type='i' direction='in'/>"
      "   <arg name='recursionDepth' type='i' direction='in'/>"
      "   <arg name='propertyNames' type='as' direction='in'/>"
      "   <arg name='revision' type='u' direction='out'/>"
      "   <arg name='layout' type='(ia{sv}av)' direction='out'/>"
      "  </method>"
      "  <method name='GetGroupProperties'>"
      "   <arg name='ids' type='ai' direction='in'/>"
      "   <arg name='propertyNames' type='as' direction='in'/>"
      "   <arg name='properties' type='a(ia{sv})' direction='out'/>"
      "  </method>"
      "  <method name='GetProperty'>"
      "   <arg name='id' type='i' direction='in'/>"
      "   <arg name='name' type='s' direction='in'/>"
      "   <arg name='value' type='v' direction='out'/>"
      "  </method>"
      "  <method name='Event'>"
      "   <arg name='id' type='i' direction='in'/>"
      "   <arg name='eventId' type='s' direction='in'/>"
      "   <arg name='data' type='v' direction='in'/>"
      "   <arg name='timestamp' type='u' direction='in'/>"
      "  </method>"
      "  <method name='EventGroup'>"
      "   <arg name='events' type='a(isvu)' direction='in'/>"
      "   <arg name='idErrors' type='ai' direction='out'/>"
      "  </method>"
      "  <method name='AboutToShow'>"
      "   <arg name='id' type='i' direction='in'/>"
      "   <arg name='needUpdate' type='b' direction='out'/>"
      "  </method>"
      "  <method name='AboutToShowGroup'>"
      "   <arg name='ids' type='ai' direction='in'/>"
      "   <arg name='updatesNeeded' type='ai' direction='out'/>"
      "   <arg name='idErrors' type='ai' direction='out'/>"
      "  </method>"
      "  <signal name='ItemsPropertiesUpdated'>"
      "   <arg name='updatedProps' type='a(ia{sv})'/>"
      "   <arg name='removedProps' type='a(ias)'/>"
      "  </signal>"
      "  <signal name='LayoutUpdated'>"
      "   <arg name='revision' type='u'/>"
      "   <arg name='parent' type='i'/>"
      "  </signal>"
      "  <signal name='ItemActivationRequested'>"
      "   <arg name='id' type='i'/>"
      "   <arg name='timestamp' type='u'/>"
      "  </signal>"
      " </interface>"
      "</node>";

/* Hosts never need more: anything past this is a bug in the caller. */
#define MAX_ITEMS 256
#define MAX_DEPTH 8

typedef struct
{
  int id;
  int parent_id;
  GVariant *properties; /* a{sv} */
} Item;

struct _SfbDbusMenu
{
  GObject parent_instance;

  GArray *items;       /* of Item, items[0] is the root */
  GVariant *published; /* the full layout of the current revision */
  guint revision;
  GDBusConnection *connection;
  char *object_path;
  guint registration_id;
};

G_DEFINE_FINAL_TYPE (SfbDbusMenu, sfb_dbus_menu, G_TYPE_OBJECT)

enum
{
  SIGNAL_ACTIVATED,
  SIGNAL_ABOUT_TO_SHOW,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
item_clear (gpointer data)
{
  Item *item = data;

  g_clear_pointer (&item->properties, g_variant_unref);
}

static void
add_root (SfbDbusMenu *self)
{
  g_autoptr (GVariantDict) dict = g_variant_dict_new (NULL);
  Item root = { SFB_DBUS_MENU_ROOT, -1, NULL };

  g_variant_dict_insert (dict, "children-display", "s", "submenu");
  root.properties = g_variant_ref_sink (g_variant_dict_end (dict));
  g_array_append_val (self->items, root);
}

static const Item *
find_item (SfbDbusMenu *self, int id)
{
  for (guint i = 0; i < self->items->len; i++)
    if (g_array_index (self->items, Item, i).id == id)
      return &g_array_index (self->items, Item, i);
  return NULL;
}

/* ---- building ---- */

void
sfb_dbus_menu_begin (SfbDbusMenu *self)
{
  g_return_if_fail (SFB_IS_DBUS_MENU (self));
  g_array_set_size (self->items, 0);
  add_root (self);
}

void
sfb_dbus_menu_add_item (SfbDbusMenu *self, int id, int parent_id, GVariant *properties)
{
  Item item = { id, parent_id, NULL };

  g_return_if_fail (SFB_IS_DBUS_MENU (self));
  g_return_if_fail (properties != NULL);
  g_return_if_fail (g_variant_is_of_type (properties, G_VARIANT_TYPE_VARDICT));
  g_return_if_fail (id > SFB_DBUS_MENU_ROOT && find_item (self, id) == NULL);
  g_return_if_fail (find_item (self, parent_id) != NULL);

  item.properties = g_variant_ref_sink (properties);
  if (self->items->len >= MAX_ITEMS)
    {
      g_warning ("Menu item %d dropped: more than %d items", id, MAX_ITEMS);
      item_clear (&item);
      return;
    }
  g_array_append_val (self->items, item);
}

static GVariant *
filter_properties (GVariant *properties, const char *const *names)
{
  GVariantBuilder builder;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  if (names == NULL || names[0] == NULL)
    return g_variant_ref (properties);
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_iter_init (&iter, properties);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    if (g_strv_contains (names, key))
      g_variant_builder_add (&builder, "{sv}", key, value);
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

/* (ia{sv}av) of @item and its children down to @depth (-1: all) */
static GVariant *
build_layout (SfbDbusMenu *self, const Item *item, int depth, const char *const *names, int level)
{
  GVariantBuilder children;
  g_autoptr (GVariant) properties = filter_properties (item->properties, names);

  g_variant_builder_init (&children, G_VARIANT_TYPE ("av"));
  if (depth != 0 && level < MAX_DEPTH)
    for (guint i = 0; i < self->items->len; i++)
      {
        const Item *child = &g_array_index (self->items, Item, i);

        if (child->parent_id == item->id && child->id != item->id)
          g_variant_builder_add (
              &children,
              "v",
              build_layout (self, child, depth < 0 ? -1 : depth - 1, names, level + 1));
      }
  return g_variant_new ("(i@a{sv}av)", item->id, properties, &children);
}

void
sfb_dbus_menu_commit (SfbDbusMenu *self)
{
  g_autoptr (GVariant) layout = NULL;
  g_autoptr (GError) error = NULL;

  g_return_if_fail (SFB_IS_DBUS_MENU (self));

  layout
      = g_variant_ref_sink (build_layout (self, find_item (self, SFB_DBUS_MENU_ROOT), -1, NULL, 0));
  if (self->published != NULL && g_variant_equal (layout, self->published))
    return;
  g_clear_pointer (&self->published, g_variant_unref);
  self->published = g_steal_pointer (&layout);
  self->revision++;
  g_debug ("Menu revision %u", self->revision);
  if (self->registration_id == 0)
    return;
  if (!g_dbus_connection_emit_signal (self->connection,
                                      NULL,
                                      self->object_path,
                                      SFB_DBUS_MENU_INTERFACE,
                                      "LayoutUpdated",
                                      g_variant_new ("(ui)", self->revision, SFB_DBUS_MENU_ROOT),
                                      &error))
    g_debug ("Cannot announce the menu layout: %s", error->message);
}

guint
sfb_dbus_menu_get_revision (SfbDbusMenu *self)
{
  g_return_val_if_fail (SFB_IS_DBUS_MENU (self), 0);
  return self->revision;
}

/* ---- item helpers ---- */

char *
sfb_dbus_menu_escape_label (const char *text)
{
  g_auto (GStrv) parts = g_strsplit (text != NULL ? text : "", "_", -1);

  return g_strjoinv ("__", parts);
}

GVariant *
sfb_dbus_menu_item_standard (const char *label, gboolean enabled)
{
  g_autoptr (GVariantDict) dict = g_variant_dict_new (NULL);

  g_variant_dict_insert (dict, "label", "s", label);
  g_variant_dict_insert (dict, "enabled", "b", enabled);
  return g_variant_dict_end (dict);
}

GVariant *
sfb_dbus_menu_item_radio (const char *label, gboolean enabled, gboolean selected)
{
  g_autoptr (GVariantDict) dict = g_variant_dict_new (NULL);

  g_variant_dict_insert (dict, "label", "s", label);
  g_variant_dict_insert (dict, "enabled", "b", enabled);
  g_variant_dict_insert (dict, "toggle-type", "s", "radio");
  g_variant_dict_insert (dict, "toggle-state", "i", selected ? 1 : 0);
  return g_variant_dict_end (dict);
}

GVariant *
sfb_dbus_menu_item_submenu (const char *label, gboolean enabled)
{
  g_autoptr (GVariantDict) dict = g_variant_dict_new (NULL);

  g_variant_dict_insert (dict, "label", "s", label);
  g_variant_dict_insert (dict, "enabled", "b", enabled);
  g_variant_dict_insert (dict, "children-display", "s", "submenu");
  return g_variant_dict_end (dict);
}

GVariant *
sfb_dbus_menu_item_separator (void)
{
  g_autoptr (GVariantDict) dict = g_variant_dict_new (NULL);

  g_variant_dict_insert (dict, "type", "s", "separator");
  return g_variant_dict_end (dict);
}

/* ---- D-Bus ---- */

static void
return_unknown_id (GDBusMethodInvocation *invocation, int id)
{
  g_dbus_method_invocation_return_error (
      invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, "No menu item has the id %d", id);
}

static void
handle_get_layout (SfbDbusMenu *self, GVariant *parameters, GDBusMethodInvocation *invocation)
{
  int parent_id;
  int depth;
  g_autofree const char **names = NULL;
  const Item *item;

  g_variant_get (parameters, "(ii^a&s)", &parent_id, &depth, &names);
  item = find_item (self, parent_id);
  if (item == NULL)
    {
      return_unknown_id (invocation, parent_id);
      return;
    }
  g_dbus_method_invocation_return_value (
      invocation,
      g_variant_new ("(u@(ia{sv}av))", self->revision, build_layout (self, item, depth, names, 0)));
}

static void
handle_get_group_properties (SfbDbusMenu *self,
                             GVariant *parameters,
                             GDBusMethodInvocation *invocation)
{
  g_autoptr (GVariantIter) ids = NULL;
  g_autofree const char **names = NULL;
  GVariantBuilder builder;
  int id;

  g_variant_get (parameters, "(ai^a&s)", &ids, &names);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ia{sv})"));
  while (g_variant_iter_next (ids, "i", &id))
    {
      const Item *item = find_item (self, id);

      if (item != NULL)
        {
          g_autoptr (GVariant) properties = filter_properties (item->properties, names);
          g_variant_builder_add (&builder, "(i@a{sv})", id, properties);
        }
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a(ia{sv}))", &builder));
}

static void
handle_get_property (SfbDbusMenu *self, GVariant *parameters, GDBusMethodInvocation *invocation)
{
  int id;
  const char *name;
  const Item *item;
  g_autoptr (GVariant) value = NULL;

  g_variant_get (parameters, "(i&s)", &id, &name);
  item = find_item (self, id);
  if (item == NULL)
    {
      return_unknown_id (invocation, id);
      return;
    }
  value = g_variant_lookup_value (item->properties, name, NULL);
  if (value == NULL)
    {
      g_dbus_method_invocation_return_error (invocation,
                                             G_DBUS_ERROR,
                                             G_DBUS_ERROR_INVALID_ARGS,
                                             "Menu item %d has no property “%s”",
                                             id,
                                             name);
      return;
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(v)", value));
}

/* TRUE when @id names an item */
static gboolean
dispatch_event (SfbDbusMenu *self, int id, const char *event_id)
{
  if (find_item (self, id) == NULL)
    return FALSE;
  g_debug ("Menu event “%s” on item %d", event_id, id);
  if (g_str_equal (event_id, "clicked"))
    g_signal_emit (self, signals[SIGNAL_ACTIVATED], 0, id);
  else if (g_str_equal (event_id, "opened"))
    g_signal_emit (self, signals[SIGNAL_ABOUT_TO_SHOW], 0, id);
  return TRUE;
}

static void
handle_event (SfbDbusMenu *self, GVariant *parameters, GDBusMethodInvocation *invocation)
{
  int id;
  const char *event_id;

  g_variant_get (parameters, "(i&svu)", &id, &event_id, NULL, NULL);
  if (!dispatch_event (self, id, event_id))
    {
      return_unknown_id (invocation, id);
      return;
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
handle_event_group (SfbDbusMenu *self, GVariant *parameters, GDBusMethodInvocation *invocation)
{
  g_autoptr (GVariantIter) events = NULL;
  GVariantBuilder errors;
  int id;
  const char *event_id;
  gboolean any_known = FALSE;
  gsize n_events;

  g_variant_get (parameters, "(a(isvu))", &events);
  n_events = g_variant_iter_n_children (events);
  g_variant_builder_init (&errors, G_VARIANT_TYPE ("ai"));
  while (g_variant_iter_loop (events, "(i&svu)", &id, &event_id, NULL, NULL))
    {
      if (dispatch_event (self, id, event_id))
        any_known = TRUE;
      else
        g_variant_builder_add (&errors, "i", id);
    }
  if (!any_known && n_events > 0)
    {
      g_variant_builder_clear (&errors);
      g_dbus_method_invocation_return_error_literal (
          invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, "No event named a known menu item");
      return;
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(ai)", &errors));
}

static void
handle_about_to_show (SfbDbusMenu *self, GVariant *parameters, GDBusMethodInvocation *invocation)
{
  int id;

  g_variant_get (parameters, "(i)", &id);
  if (find_item (self, id) == NULL)
    {
      return_unknown_id (invocation, id);
      return;
    }
  g_signal_emit (self, signals[SIGNAL_ABOUT_TO_SHOW], 0, id);
  /* changes, if any, arrive later with LayoutUpdated */
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(b)", FALSE));
}

static void
handle_about_to_show_group (SfbDbusMenu *self,
                            GVariant *parameters,
                            GDBusMethodInvocation *invocation)
{
  g_autoptr (GVariantIter) ids = NULL;
  GVariantBuilder errors;
  int id;

  g_variant_get (parameters, "(ai)", &ids);
  g_variant_builder_init (&errors, G_VARIANT_TYPE ("ai"));
  while (g_variant_iter_next (ids, "i", &id))
    {
      if (find_item (self, id) == NULL)
        g_variant_builder_add (&errors, "i", id);
      else
        g_signal_emit (self, signals[SIGNAL_ABOUT_TO_SHOW], 0, id);
    }
  g_dbus_method_invocation_return_value (
      invocation,
      g_variant_new ("(@aiai)", g_variant_new_array (G_VARIANT_TYPE_INT32, NULL, 0), &errors));
}

static void
method_call (GDBusConnection *connection,
             const char *sender,
             const char *object_path,
             const char *interface_name,
             const char *method_name,
             GVariant *parameters,
             GDBusMethodInvocation *invocation,
             gpointer user_data)
{
  SfbDbusMenu *self = user_data;

  if (g_str_equal (method_name, "GetLayout"))
    handle_get_layout (self, parameters, invocation);
  else if (g_str_equal (method_name, "GetGroupProperties"))
    handle_get_group_properties (self, parameters, invocation);
  else if (g_str_equal (method_name, "GetProperty"))
    handle_get_property (self, parameters, invocation);
  else if (g_str_equal (method_name, "Event"))
    handle_event (self, parameters, invocation);
  else if (g_str_equal (method_name, "EventGroup"))
    handle_event_group (self, parameters, invocation);
  else if (g_str_equal (method_name, "AboutToShow"))
    handle_about_to_show (self, parameters, invocation);
  else if (g_str_equal (method_name, "AboutToShowGroup"))
    handle_about_to_show_group (self, parameters, invocation);
  else
    g_dbus_method_invocation_return_error (
        invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD, "No method %s", method_name);
}

static GVariant *
get_property (GDBusConnection *connection,
              const char *sender,
              const char *object_path,
              const char *interface_name,
              const char *property_name,
              GError **error,
              gpointer user_data)
{
  if (g_str_equal (property_name, "Version"))
    return g_variant_new_uint32 (3);
  if (g_str_equal (property_name, "TextDirection"))
    return g_variant_new_string ("ltr");
  if (g_str_equal (property_name, "Status"))
    return g_variant_new_string ("normal");
  if (g_str_equal (property_name, "IconThemePath"))
    return g_variant_new_strv (NULL, 0);
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s", property_name);
  return NULL;
}

static const GDBusInterfaceVTable vtable = { method_call, get_property, NULL, { 0 } };

gboolean
sfb_dbus_menu_export (SfbDbusMenu *self,
                      GDBusConnection *connection,
                      const char *object_path,
                      GError **error)
{
  g_autoptr (GDBusNodeInfo) info = NULL;

  g_return_val_if_fail (SFB_IS_DBUS_MENU (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (self->registration_id == 0, FALSE);

  info = g_dbus_node_info_new_for_xml (introspection_xml, error);
  if (info == NULL)
    return FALSE;
  self->registration_id = g_dbus_connection_register_object (
      connection, object_path, info->interfaces[0], &vtable, self, NULL, error);
  if (self->registration_id == 0)
    return FALSE;
  self->connection = g_object_ref (connection);
  self->object_path = g_strdup (object_path);
  return TRUE;
}

void
sfb_dbus_menu_unexport (SfbDbusMenu *self)
{
  g_return_if_fail (SFB_IS_DBUS_MENU (self));

  if (self->registration_id != 0)
    g_dbus_connection_unregister_object (self->connection, self->registration_id);
  self->registration_id = 0;
  g_clear_object (&self->connection);
  g_clear_pointer (&self->object_path, g_free);
}

static void
sfb_dbus_menu_finalize (GObject *object)
{
  SfbDbusMenu *self = SFB_DBUS_MENU (object);

  sfb_dbus_menu_unexport (self);
  g_clear_pointer (&self->items, g_array_unref);
  g_clear_pointer (&self->published, g_variant_unref);
  G_OBJECT_CLASS (sfb_dbus_menu_parent_class)->finalize (object);
}

static void
sfb_dbus_menu_class_init (SfbDbusMenuClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sfb_dbus_menu_finalize;

  signals[SIGNAL_ACTIVATED] = g_signal_new ("activated",
                                            G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST,
                                            0,
                                            NULL,
                                            NULL,
                                            NULL,
                                            G_TYPE_NONE,
                                            1,
                                            G_TYPE_INT);
  signals[SIGNAL_ABOUT_TO_SHOW] = g_signal_new ("about-to-show",
                                                G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST,
                                                0,
                                                NULL,
                                                NULL,
                                                NULL,
                                                G_TYPE_NONE,
                                                1,
                                                G_TYPE_INT);
}

static void
sfb_dbus_menu_init (SfbDbusMenu *self)
{
  self->items = g_array_new (FALSE, TRUE, sizeof (Item));
  g_array_set_clear_func (self->items, item_clear);
  add_root (self);
}

SfbDbusMenu *
sfb_dbus_menu_new (void)
{
  return g_object_new (SFB_TYPE_DBUS_MENU, NULL);
}
