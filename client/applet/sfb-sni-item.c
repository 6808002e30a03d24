/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.kde.StatusNotifierItem: see sfb-sni-item.h. */
#define G_LOG_DOMAIN "sfbd-applet"

#include "config.h"

#include "sfb-sni-item.h"

#include <math.h>
#include <unistd.h>

static const char introspection_xml[]
    = "<node>"
      " <interface name='org.kde.StatusNotifierItem'>"
      "  <property name='Category' type='s' access='read'/>"
      "  <property name='Id' type='s' access='read'/>"
      "  <property name='Title' type='s' access='read'/>"
      "  <property name='Status' type='s' access='read'/>"
      "  <property name='WindowId' type='i' access='read'/>"
      "  <property name='IconThemePath' type='s' access='read'/>"
      "  <property name='Menu' type='o' access='read'/>"
      "  <property name='ItemIsMenu' type='b' access='read'/>"
      "  <property name='IconName' type='s' access='read'/>"
      "  <property name='IconPixmap' type='a(iiay)' access='read'/>"
      "  <property name='OverlayIconName' type='s' access='read'/>"
      "  <property name='OverlayIconPixmap' type='a(iiay)' access='read'/>"
      "  <property name='AttentionIconName' type='s' access='read'/>"
      "  <property name='AttentionIconPixmap' type='a(iiay)' access='read'/>"
      "  <property name='AttentionMovieName' type='s' access='read'/>"
      "  <property name='ToolTip' type='(sa(iiay)ss)' access='read'/>"
      "  <method name='ContextMenu'>"
      "   <arg name='x' type='i' direction='in'/>"
      "   <arg name='y' type='i' direction='in'/>"
      "  </method>"
      "  <method name='Activate'>"
      "   <arg name='x' type='i' direction='in'/>"
      "   <arg name='y' type='i' direction='in'/>"
      "  </method>"
      "  <method name='SecondaryActivate'>"
      "   <arg name='x' type='i' direction='in'/>"
      "   <arg name='y' type='i' direction='in'/>"
      "  </method>"
      "  <method name='Scroll'>"
      "   <arg name='delta' type='i' direction='in'/>"
      "   <arg name='orientation' type='s' direction='in'/>"
      "  </method>"
      "  <signal name='NewTitle'/>"
      "  <signal name='NewIcon'/>"
      "  <signal name='NewAttentionIcon'/>"
      "  <signal name='NewOverlayIcon'/>"
      "  <signal name='NewToolTip'/>"
      "  <signal name='NewStatus'>"
      "   <arg name='status' type='s'/>"
      "  </signal>"
      " </interface>"
      "</node>";

struct _SfbSniItem
{
  GObject parent_instance;

  char *id;
  char *menu_path;
  SfbPresenceView *view;
  GDBusConnection *connection;
  guint registration_id;
  guint own_name_id;
  guint watch_id;
  char *bus_name; /* the name given to the watcher */
  guint registrations;
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (SfbSniItem, sfb_sni_item, G_TYPE_OBJECT)

/* ---- icon pixmaps, for hosts that find no icon by name ---- */

typedef enum
{
  SHAPE_DISC,
  SHAPE_RING,
  SHAPE_DISC_BAR,   /* a white bar across */
  SHAPE_DISC_CROSS, /* a white cross */
} IconShape;

typedef struct
{
  const char *icon_name;
  guint8 r, g, b;
  IconShape shape;
} IconColour;

/*
 * The colours of the applet's icons (client/applet/icons/hicolor/scalable/
 * status/sfbd-*.svg, the same RGB values), kept stable for people and for
 * the tray test that reads them from screenshots:
 *   sfbd-available       green  #3cb043 (60, 176, 67)  disc
 *   sfbd-busy            red    #d93025 (217, 48, 37)  disc
 *   sfbd-dnd             red    #d93025 (217, 48, 37)  disc, white bar #ffffff
 *   sfbd-be-right-back   yellow #f2b100 (242, 177, 0)  disc, white arrow
 *   sfbd-away            yellow #f2b100 (242, 177, 0)  disc, white clock hands
 *   sfbd-off-work        purple #8e44ad (142, 68, 173) disc, white crescent
 *   sfbd-appear-offline  grey   #808080 (128, 128, 128) disc, white ring
 *   sfbd-signed-out      grey   #808080 (128, 128, 128) ring (outline only)
 *   sfbd-not-running     grey   #808080 (128, 128, 128) disc, white cross
 *   sfbd-not-answering   grey   #808080 (128, 128, 128) disc, three white dots
 *   sfbd-connecting      blue   #5b8dd6 (91, 141, 214) disc, three white dots
 *   sfbd-reconnecting    orange #f28c00 (242, 140, 0)  ring, orange dot
 *   sfbd-failed          red    #d93025 (217, 48, 37)  ring, exclamation mark
 * The pixmaps draw the colour and the main shape only.
 */
static const IconColour colours[] = {
  { "sfbd-available", 0x3c, 0xb0, 0x43, SHAPE_DISC },
  { "sfbd-busy", 0xd9, 0x30, 0x25, SHAPE_DISC },
  { "sfbd-dnd", 0xd9, 0x30, 0x25, SHAPE_DISC_BAR },
  { "sfbd-be-right-back", 0xf2, 0xb1, 0x00, SHAPE_DISC },
  { "sfbd-away", 0xf2, 0xb1, 0x00, SHAPE_DISC },
  { "sfbd-off-work", 0x8e, 0x44, 0xad, SHAPE_DISC },
  { "sfbd-appear-offline", 0x80, 0x80, 0x80, SHAPE_DISC },
  { "sfbd-signed-out", 0x80, 0x80, 0x80, SHAPE_RING },
  { "sfbd-not-running", 0x80, 0x80, 0x80, SHAPE_DISC_CROSS },
  { "sfbd-not-answering", 0x80, 0x80, 0x80, SHAPE_DISC },
  { "sfbd-connecting", 0x5b, 0x8d, 0xd6, SHAPE_DISC },
  { "sfbd-reconnecting", 0xf2, 0x8c, 0x00, SHAPE_RING },
  { "sfbd-failed", 0xd9, 0x30, 0x25, SHAPE_RING },
  { "dialog-error", 0xd9, 0x30, 0x25, SHAPE_DISC },
  { "emblem-synchronizing", 0xf2, 0x8c, 0x00, SHAPE_DISC },
};

static const IconColour *
find_colour (const char *icon_name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (colours); i++)
    if (g_strcmp0 (colours[i].icon_name, icon_name) == 0)
      return &colours[i];
  return NULL;
}

/* TRUE where the white mark of @shape covers (@dx, @dy), in radii from
 * the centre */
static gboolean
is_white_mark (IconShape shape, double dx, double dy)
{
  if (shape == SHAPE_DISC_BAR)
    return fabs (dx) <= 0.65 && fabs (dy) <= 0.18;
  if (shape == SHAPE_DISC_CROSS)
    return fabs (dx) <= 0.6 && fabs (dy) <= 0.6 && fabs (fabs (dx) - fabs (dy)) <= 0.2;
  return FALSE;
}

/* @colour's shape (ARGB32, network byte order) of @size pixels, the whole
 * icon or, for an overlay, its lower right quarter */
static GVariant *
disc_pixmap (const IconColour *colour, int size, gboolean overlay)
{
  g_autofree guint8 *pixels = g_malloc0 ((gsize) size * size * 4);
  double radius = overlay ? size / 4.0 : size / 2.0 - 1.0;
  double cx = overlay ? size - radius : size / 2.0;
  double cy = cx;
  IconShape shape = overlay ? SHAPE_DISC : colour->shape;

  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      {
        double distance = hypot (x + 0.5 - cx, y + 0.5 - cy);
        double coverage = CLAMP (radius - distance + 0.5, 0.0, 1.0);
        gboolean white = is_white_mark (shape, (x + 0.5 - cx) / radius, (y + 0.5 - cy) / radius);
        guint8 *pixel = pixels + ((gsize) y * size + x) * 4;

        /* a ring: the disc less its inner 70 % */
        if (shape == SHAPE_RING)
          coverage = MIN (coverage, CLAMP (distance - radius * 0.7 + 0.5, 0.0, 1.0));
        pixel[0] = (guint8) (coverage * 255.0);
        pixel[1] = white ? 0xff : colour->r;
        pixel[2] = white ? 0xff : colour->g;
        pixel[3] = white ? 0xff : colour->b;
      }
  return g_variant_new (
      "(ii@ay)",
      size,
      size,
      g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, pixels, (gsize) size * size * 4, 1));
}

static GVariant *
icon_pixmaps (const char *icon_name, gboolean overlay)
{
  static const int sizes[] = { 16, 22, 32, 48 };
  const IconColour *colour = find_colour (icon_name);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(iiay)"));
  for (gsize i = 0; colour != NULL && i < G_N_ELEMENTS (sizes); i++)
    g_variant_builder_add_value (&builder, disc_pixmap (colour, sizes[i], overlay));
  return g_variant_builder_end (&builder);
}

/* ---- properties ---- */

/* where the sfbd-* icons are: installed, or SFBD_APPLET_ICON_THEME_PATH
 * (client/applet/icons) for a build that is not installed */
const char *
sfb_sni_item_icon_theme_path (void)
{
  const char *path = g_getenv ("SFBD_APPLET_ICON_THEME_PATH");

  return path != NULL && *path != '\0' ? path : SFBD_ICON_THEME_PATH;
}

static const char *
view_string (const char *value)
{
  return value != NULL ? value : "";
}

static GVariant *
tooltip_variant (SfbSniItem *self)
{
  const SfbPresenceView *view = self->view;
  /* hosts render the description as markup */
  g_autofree char *body = g_markup_escape_text (view_string (view->details), -1);

  return g_variant_new ("(s@a(iiay)ss)",
                        view_string (view->icon_name),
                        g_variant_new_array (G_VARIANT_TYPE ("(iiay)"), NULL, 0),
                        view_string (view->title),
                        body);
}

static GVariant *
item_property (SfbSniItem *self, const char *name)
{
  const SfbPresenceView *view = self->view;

  if (g_str_equal (name, "Category"))
    return g_variant_new_string ("Communications");
  if (g_str_equal (name, "Id"))
    return g_variant_new_string (self->id);
  if (g_str_equal (name, "Title"))
    return g_variant_new_string (view_string (view->title));
  if (g_str_equal (name, "Status"))
    return g_variant_new_string (view_string (view->status));
  if (g_str_equal (name, "WindowId"))
    return g_variant_new_int32 (0);
  if (g_str_equal (name, "IconThemePath"))
    return g_variant_new_string (sfb_sni_item_icon_theme_path ());
  if (g_str_equal (name, "Menu"))
    return g_variant_new_object_path (self->menu_path);
  if (g_str_equal (name, "ItemIsMenu"))
    return g_variant_new_boolean (TRUE);
  if (g_str_equal (name, "IconName"))
    return g_variant_new_string (view_string (view->icon_name));
  if (g_str_equal (name, "IconPixmap"))
    return icon_pixmaps (view->icon_name, FALSE);
  if (g_str_equal (name, "OverlayIconName"))
    return g_variant_new_string (view_string (view->overlay_icon_name));
  if (g_str_equal (name, "OverlayIconPixmap"))
    return icon_pixmaps (view->overlay_icon_name, TRUE);
  if (g_str_equal (name, "AttentionIconName"))
    return g_variant_new_string (view_string (view->attention_icon_name));
  if (g_str_equal (name, "AttentionIconPixmap"))
    return icon_pixmaps (view->attention_icon_name, FALSE);
  if (g_str_equal (name, "AttentionMovieName"))
    return g_variant_new_string ("");
  if (g_str_equal (name, "ToolTip"))
    return tooltip_variant (self);
  return NULL;
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
  GVariant *value = item_property (user_data, property_name);

  if (value == NULL)
    g_set_error (
        error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s", property_name);
  return value;
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
  /* ItemIsMenu: the host shows the menu; clicks and scrolls do nothing */
  g_debug ("%s from %s", method_name, sender);
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static const GDBusInterfaceVTable vtable = { method_call, get_property, NULL, { 0 } };

/* ---- announcing changes ---- */

static void
emit (SfbSniItem *self, const char *signal_name, GVariant *parameters)
{
  g_autoptr (GError) error = NULL;

  if (self->registration_id == 0)
    {
      if (parameters != NULL)
        g_variant_unref (g_variant_ref_sink (parameters));
      return;
    }
  if (!g_dbus_connection_emit_signal (self->connection,
                                      NULL,
                                      SFB_SNI_ITEM_PATH,
                                      SFB_SNI_ITEM_INTERFACE,
                                      signal_name,
                                      parameters,
                                      &error))
    g_debug ("Cannot emit %s: %s", signal_name, error->message);
}

static void
emit_properties_changed (SfbSniItem *self, const char *const *names)
{
  GVariantBuilder changed;
  g_autoptr (GError) error = NULL;

  if (self->registration_id == 0 || names[0] == NULL)
    return;
  g_variant_builder_init (&changed, G_VARIANT_TYPE_VARDICT);
  for (gsize i = 0; names[i] != NULL; i++)
    g_variant_builder_add (&changed, "{sv}", names[i], item_property (self, names[i]));
  if (!g_dbus_connection_emit_signal (
          self->connection,
          NULL,
          SFB_SNI_ITEM_PATH,
          "org.freedesktop.DBus.Properties",
          "PropertiesChanged",
          g_variant_new ("(sa{sv}as)", SFB_SNI_ITEM_INTERFACE, &changed, NULL),
          &error))
    g_debug ("Cannot emit PropertiesChanged: %s", error->message);
}

void
sfb_sni_item_update (SfbSniItem *self, const SfbPresenceView *view)
{
  SfbPresenceView *old;
  const char *changed[8];
  gsize n = 0;

  g_return_if_fail (SFB_IS_SNI_ITEM (self));
  g_return_if_fail (view != NULL);

  old = self->view;
  self->view = sfb_presence_view_copy (view);

  if (g_strcmp0 (old->title, view->title) != 0)
    {
      changed[n++] = "Title";
      emit (self, "NewTitle", NULL);
    }
  if (g_strcmp0 (old->icon_name, view->icon_name) != 0)
    {
      changed[n++] = "IconName";
      changed[n++] = "IconPixmap";
      emit (self, "NewIcon", NULL);
    }
  if (g_strcmp0 (old->overlay_icon_name, view->overlay_icon_name) != 0)
    {
      changed[n++] = "OverlayIconName";
      emit (self, "NewOverlayIcon", NULL);
    }
  if (g_strcmp0 (old->attention_icon_name, view->attention_icon_name) != 0)
    {
      changed[n++] = "AttentionIconName";
      emit (self, "NewAttentionIcon", NULL);
    }
  if (g_strcmp0 (old->title, view->title) != 0 || g_strcmp0 (old->details, view->details) != 0
      || g_strcmp0 (old->icon_name, view->icon_name) != 0)
    {
      changed[n++] = "ToolTip";
      emit (self, "NewToolTip", NULL);
    }
  if (g_strcmp0 (old->status, view->status) != 0)
    {
      changed[n++] = "Status";
      emit (self, "NewStatus", g_variant_new ("(s)", view->status));
    }
  changed[n] = NULL;
  emit_properties_changed (self, changed);
  sfb_presence_view_free (old);
}

/* ---- the watcher ---- */

static void
on_registered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  SfbSniItem *self;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = SFB_SNI_ITEM (user_data);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_warning ("The tray did not take the item: %s", error->message);
      return;
    }
  self->registrations++;
  g_info ("Registered with %s as %s", SFB_SNI_WATCHER_NAME, self->bus_name);
}

static void
on_watcher_appeared (GDBusConnection *connection,
                     const char *name,
                     const char *owner,
                     gpointer user_data)
{
  SfbSniItem *self = user_data;

  g_debug ("%s appeared (%s); registering", name, owner);
  g_dbus_connection_call (connection,
                          name,
                          SFB_SNI_WATCHER_PATH,
                          SFB_SNI_WATCHER_INTERFACE,
                          "RegisterStatusNotifierItem",
                          g_variant_new ("(s)", self->bus_name),
                          NULL,
                          G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          -1,
                          self->cancellable,
                          on_registered,
                          self);
}

static void
on_watcher_vanished (GDBusConnection *connection, const char *name, gpointer user_data)
{
  g_info ("No %s (no tray is running); waiting for one", name);
}

static void
watch_watcher (SfbSniItem *self)
{
  if (self->watch_id != 0)
    return;
  self->watch_id = g_bus_watch_name_on_connection (self->connection,
                                                   SFB_SNI_WATCHER_NAME,
                                                   G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                   on_watcher_appeared,
                                                   on_watcher_vanished,
                                                   self,
                                                   NULL);
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  SfbSniItem *self = user_data;

  g_debug ("Own %s", name);
  watch_watcher (self);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  SfbSniItem *self = user_data;

  if (connection == NULL || self->watch_id != 0)
    return;
  /* hosts accept the unique name as well */
  g_debug ("Cannot own %s; registering with the unique name", name);
  g_free (self->bus_name);
  self->bus_name = g_strdup (g_dbus_connection_get_unique_name (connection));
  watch_watcher (self);
}

gboolean
sfb_sni_item_start (SfbSniItem *self, GDBusConnection *connection, GError **error)
{
  static guint instance = 0;
  g_autoptr (GDBusNodeInfo) info = NULL;

  g_return_val_if_fail (SFB_IS_SNI_ITEM (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (self->connection == NULL, FALSE);

  info = g_dbus_node_info_new_for_xml (introspection_xml, error);
  if (info == NULL)
    return FALSE;
  self->registration_id = g_dbus_connection_register_object (
      connection, SFB_SNI_ITEM_PATH, info->interfaces[0], &vtable, self, NULL, error);
  if (self->registration_id == 0)
    return FALSE;
  self->connection = g_object_ref (connection);
  self->bus_name
      = g_strdup_printf ("org.kde.StatusNotifierItem-%d-%u", (int) getpid (), ++instance);
  self->own_name_id = g_bus_own_name_on_connection (connection,
                                                    self->bus_name,
                                                    G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
                                                    on_name_acquired,
                                                    on_name_lost,
                                                    self,
                                                    NULL);
  return TRUE;
}

guint
sfb_sni_item_get_registrations (SfbSniItem *self)
{
  g_return_val_if_fail (SFB_IS_SNI_ITEM (self), 0);
  return self->registrations;
}

static void
sfb_sni_item_dispose (GObject *object)
{
  SfbSniItem *self = SFB_SNI_ITEM (object);

  g_cancellable_cancel (self->cancellable);
  if (self->watch_id != 0)
    g_bus_unwatch_name (self->watch_id);
  self->watch_id = 0;
  if (self->own_name_id != 0)
    g_bus_unown_name (self->own_name_id);
  self->own_name_id = 0;
  if (self->registration_id != 0)
    g_dbus_connection_unregister_object (self->connection, self->registration_id);
  self->registration_id = 0;
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (sfb_sni_item_parent_class)->dispose (object);
}

static void
sfb_sni_item_finalize (GObject *object)
{
  SfbSniItem *self = SFB_SNI_ITEM (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->view, sfb_presence_view_free);
  g_free (self->id);
  g_free (self->menu_path);
  g_free (self->bus_name);
  G_OBJECT_CLASS (sfb_sni_item_parent_class)->finalize (object);
}

static void
sfb_sni_item_class_init (SfbSniItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sfb_sni_item_dispose;
  object_class->finalize = sfb_sni_item_finalize;
}

static void
sfb_sni_item_init (SfbSniItem *self)
{
  SfbPresenceInput not_running = { 0 };

  self->cancellable = g_cancellable_new ();
  self->view = sfb_presence_view_new (&not_running);
}

SfbSniItem *
sfb_sni_item_new (const char *id, const char *menu_path)
{
  SfbSniItem *self = g_object_new (SFB_TYPE_SNI_ITEM, NULL);

  self->id = g_strdup (id);
  self->menu_path = g_strdup (menu_path);
  return self;
}
