/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libpipewire opened when PipeWire is first connected to rather than
 * linked: a session without PipeWire does not map it (~440 kB resident,
 * ~170 kB of it dirty; docs/benchmarks.md).  Include this after the
 * PipeWire headers; the pw_* functions below go through the table, so call
 * sfb_pipewire_lib_load() first and make none when it fails.  (SPA and the
 * rest of libpipewire's API used here are inline, in the headers.)
 */
#pragma once

#include <glib.h>
#include <pipewire/pipewire.h>

G_BEGIN_DECLS

/* the soname of the library the headers are from */
#define SFB_PIPEWIRE_LIBRARY "libpipewire-0.3.so.0"

#define SFB_PIPEWIRE_FUNCTIONS(X)                                                                  \
  X (pw_context_connect)                                                                           \
  X (pw_context_destroy)                                                                           \
  X (pw_context_new)                                                                               \
  X (pw_core_disconnect)                                                                           \
  X (pw_init)                                                                                      \
  X (pw_loop_destroy)                                                                              \
  X (pw_loop_new)                                                                                  \
  X (pw_proxy_add_object_listener)                                                                 \
  X (pw_proxy_destroy)

typedef struct
{
#define SFB_PIPEWIRE_MEMBER(name) __typeof__ (name) *name##_fn;
  SFB_PIPEWIRE_FUNCTIONS (SFB_PIPEWIRE_MEMBER)
#undef SFB_PIPEWIRE_MEMBER
} SfbPipewireLib;

/* filled once by sfb_pipewire_lib_load(), read-only after */
extern SfbPipewireLib sfb_pipewire_lib;

/* NULL once libpipewire is loaded, else why not (tried once per process) */
const char *sfb_pipewire_lib_load (void);

#define pw_context_connect (sfb_pipewire_lib.pw_context_connect_fn)
#define pw_context_destroy (sfb_pipewire_lib.pw_context_destroy_fn)
#define pw_context_new (sfb_pipewire_lib.pw_context_new_fn)
#define pw_core_disconnect (sfb_pipewire_lib.pw_core_disconnect_fn)
#define pw_init (sfb_pipewire_lib.pw_init_fn)
#define pw_loop_destroy (sfb_pipewire_lib.pw_loop_destroy_fn)
#define pw_loop_new (sfb_pipewire_lib.pw_loop_new_fn)
#define pw_proxy_add_object_listener (sfb_pipewire_lib.pw_proxy_add_object_listener_fn)
#define pw_proxy_destroy (sfb_pipewire_lib.pw_proxy_destroy_fn)

G_END_DECLS
