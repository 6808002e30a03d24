/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "sfb-secret-lib.h"

#include "sfb-text.h"

#include <dlfcn.h>

/* the soname of the library the headers are from */
#define SECRET_LIBRARY "libsecret-1.so.0"
/* dlerror() names the file it tried, found through LD_LIBRARY_PATH or the
 * cache: quoted short and printable (it reaches error text) */
#define MAX_REASON_CHARS 120

SfbSecretLib sfb_secret_lib;

/* NULL when loaded, else why not (kept for every later caller) */
static gpointer
load_once (gpointer data)
{
  void *handle = dlopen (SECRET_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  SfbSecretLib table = { 0 };

  if (handle == NULL)
    return sfb_text_quote_untrusted (dlerror (), -1, MAX_REASON_CHARS);
#define SFB_SECRET_RESOLVE(name)                                                                   \
  table.name##_fn = (__typeof__ (table.name##_fn)) dlsym (handle, #name);                          \
  if (table.name##_fn == NULL)                                                                     \
    {                                                                                              \
      dlclose (handle);                                                                            \
      return g_strdup_printf ("%s has no %s", SECRET_LIBRARY, #name);                              \
    }
  SFB_SECRET_FUNCTIONS (SFB_SECRET_RESOLVE)
#undef SFB_SECRET_RESOLVE
  /* kept for the process's life: it registers GTypes */
  sfb_secret_lib = table;
  return NULL;
}

const char *
sfb_secret_lib_load (void)
{
  static GOnce once = G_ONCE_INIT;

  return g_once (&once, load_once, NULL);
}
