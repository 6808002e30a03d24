/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-media"

#include "sfb-pipewire-lib.h"

#include "sfb-text.h"

#include <dlfcn.h>

/* dlerror() names the file it tried, found through LD_LIBRARY_PATH or the
 * cache: quoted short and printable */
#define MAX_REASON_CHARS 160

SfbPipewireLib sfb_pipewire_lib;

/* NULL when loaded, else why not (kept for every later caller) */
static gpointer
load_once (gpointer data)
{
  void *handle = dlopen (SFB_PIPEWIRE_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  SfbPipewireLib table = { 0 };

  if (handle == NULL)
    return sfb_text_quote_untrusted (dlerror (), -1, MAX_REASON_CHARS);
#define SFB_PIPEWIRE_RESOLVE(name)                                                                 \
  table.name##_fn = (__typeof__ (table.name##_fn)) dlsym (handle, #name);                          \
  if (table.name##_fn == NULL)                                                                     \
    {                                                                                              \
      dlclose (handle);                                                                            \
      return g_strdup_printf ("%s has no %s", SFB_PIPEWIRE_LIBRARY, #name);                        \
    }
  SFB_PIPEWIRE_FUNCTIONS (SFB_PIPEWIRE_RESOLVE)
#undef SFB_PIPEWIRE_RESOLVE
  /* kept for the process's life: its plugins and objects live in it */
  sfb_pipewire_lib = table;
  return NULL;
}

const char *
sfb_pipewire_lib_load (void)
{
  static GOnce once = G_ONCE_INIT;

  return g_once (&once, load_once, NULL);
}
