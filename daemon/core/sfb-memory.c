/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-core"

#include "config.h"

#include "sfb-memory.h"

#include <malloc.h>
#include <string.h>

static gboolean
trim_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  g_source_set_ready_time (source, -1);
  malloc_trim (0);
  g_debug ("Heap trimmed");
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs trim_funcs = {
  .dispatch = trim_dispatch,
};

static GSource *
trim_source (void)
{
  static GSource *source;

  if (source == NULL)
    {
      source = g_source_new (&trim_funcs, sizeof (GSource));
      g_source_set_static_name (source, "sfb-memory-trim");
      g_source_set_priority (source, G_PRIORITY_LOW);
      g_source_set_ready_time (source, -1);
      g_source_attach (source, NULL);
    }
  return source;
}

void
sfb_memory_trim_soon (void)
{
  g_source_set_ready_time (trim_source (),
                           g_get_monotonic_time () + SFB_MEMORY_TRIM_DELAY_S * G_USEC_PER_SEC);
}

void
sfb_memory_trim_eventually (void)
{
  GSource *source = trim_source ();

  if (g_source_get_ready_time (source) == -1)
    sfb_memory_trim_soon ();
}

void
sfb_memory_share_arenas (void)
{
  const char *tunables = g_getenv ("GLIBC_TUNABLES");

  if (g_getenv ("MALLOC_ARENA_MAX") != NULL)
    return;
  if (tunables != NULL && strstr (tunables, "glibc.malloc.arena_max") != NULL)
    return;
  mallopt (M_ARENA_MAX, SFB_MEMORY_ARENA_MAX);
}
