/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sign-in trace: the stages of the last sign-in attempt (discovering,
 * connecting, authenticating, ...) with their times, results and details,
 * as GetSignInTrace returns them (dbus/org.sfbd.Sfbd1.Account.xml).  A new
 * attempt starts a new trace (sfb_session_start_attempt()).
 */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-session-private.h"

#include "sfb-error.h"

#include <sfbd/sfb-names.h>

#define MAX_TRACE_STAGES 64

typedef struct
{
  char *stage;
  gint64 started_at; /* real time, µs */
  gint64 started_mono;
  gint64 duration; /* -1 while running */
  char *result;
  GString *detail;
} TraceStage;

static void
trace_stage_free (TraceStage *stage)
{
  g_free (stage->stage);
  g_free (stage->result);
  g_string_free (stage->detail, TRUE);
  g_free (stage);
}

static gboolean
signed_in (SfbSession *self)
{
  return g_strcmp0 (self->strings[STR_STATE], SFB_STATE_SIGNED_IN) == 0;
}

GPtrArray *
sfb_session_trace_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) trace_stage_free);
}

static TraceStage *
current_stage (SfbSession *self)
{
  TraceStage *stage;

  if (self->trace->len == 0)
    return NULL;
  stage = g_ptr_array_index (self->trace, self->trace->len - 1);
  return stage->duration < 0 ? stage : NULL;
}

void
sfb_session_stage_detail (SfbSession *self, const char *format, ...)
{
  TraceStage *stage = current_stage (self);
  va_list args;

  if (stage == NULL)
    return;
  if (stage->detail->len > 0)
    g_string_append (stage->detail, "; ");
  va_start (args, format);
  g_string_append_vprintf (stage->detail, format, args);
  va_end (args);
}

/* Ends the running stage: "ok", or the D-Bus name of @error. */
void
sfb_session_stage_end (SfbSession *self, const GError *error)
{
  TraceStage *stage = current_stage (self);

  if (stage == NULL)
    return;
  stage->duration = g_get_monotonic_time () - stage->started_mono;
  if (error != NULL)
    {
      g_autoptr (GError) converted = g_error_copy (error);

      sfb_error_convert (&converted);
      stage->result = g_strdup (sfb_error_get_dbus_name (converted));
      sfb_session_stage_detail (self, "%s", converted->message);
    }
  else
    {
      stage->result = g_strdup ("ok");
    }
}

void
sfb_session_stage_begin (SfbSession *self, const char *name, const char *format, ...)
{
  TraceStage *stage;
  va_list args;

  sfb_session_stage_end (self, NULL);
  if (self->trace->len >= MAX_TRACE_STAGES)
    return;
  stage = g_new0 (TraceStage, 1);
  stage->stage = g_strdup (name);
  stage->started_at = g_get_real_time ();
  stage->started_mono = g_get_monotonic_time ();
  stage->duration = -1;
  stage->detail = g_string_new (NULL);
  if (format != NULL)
    {
      va_start (args, format);
      g_string_append_vprintf (stage->detail, format, args);
      va_end (args);
    }
  g_ptr_array_add (self->trace, stage);
}

void
sfb_session_trace_add_stage (SfbSession *self,
                             const char *name,
                             gint64 started_at,
                             gint64 duration,
                             const GError *error,
                             const char *detail)
{
  TraceStage *stage;

  g_return_if_fail (SFB_IS_SESSION (self));
  /* only the signed-in session's: during a new attempt the trace is that
   * attempt's, and a complete stage after its running one would hide it */
  if (!signed_in (self) || self->trace->len >= MAX_TRACE_STAGES)
    return;
  stage = g_new0 (TraceStage, 1);
  stage->stage = g_strdup (name);
  stage->started_at = started_at;
  stage->duration = MAX (duration, 0);
  stage->started_mono = g_get_monotonic_time () - stage->duration;
  stage->detail = g_string_new (detail);
  if (error != NULL)
    {
      g_autoptr (GError) converted = g_error_copy (error);

      sfb_error_convert (&converted);
      stage->result = g_strdup (sfb_error_get_dbus_name (converted));
      if (stage->detail->len > 0)
        g_string_append (stage->detail, "; ");
      g_string_append (stage->detail, converted->message);
    }
  else
    {
      stage->result = g_strdup ("ok");
    }
  g_ptr_array_add (self->trace, stage);
}

void
sfb_session_trace_remove_stages (SfbSession *self, const char *prefix)
{
  g_return_if_fail (SFB_IS_SESSION (self));
  if (!signed_in (self))
    return;
  for (guint i = self->trace->len; i > 0; i--)
    {
      TraceStage *stage = g_ptr_array_index (self->trace, i - 1);

      /* only complete ones: a running stage is the sign-in's own */
      if (stage->duration >= 0 && g_str_has_prefix (stage->stage, prefix))
        g_ptr_array_remove_index (self->trace, i - 1);
    }
}

GVariant *
sfb_session_get_trace (SfbSession *self)
{
  GVariantBuilder builder;

  g_return_val_if_fail (SFB_IS_SESSION (self), NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < self->trace->len; i++)
    {
      TraceStage *stage = g_ptr_array_index (self->trace, i);
      gint64 duration
          = stage->duration >= 0 ? stage->duration : g_get_monotonic_time () - stage->started_mono;

      g_variant_builder_open (&builder, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&builder, "{sv}", "Stage", g_variant_new_string (stage->stage));
      g_variant_builder_add (
          &builder, "{sv}", "StartedAt", g_variant_new_uint64 ((guint64) stage->started_at));
      g_variant_builder_add (
          &builder, "{sv}", "Duration", g_variant_new_uint64 ((guint64) MAX (duration, 0)));
      g_variant_builder_add (
          &builder,
          "{sv}",
          "Result",
          g_variant_new_string (stage->result != NULL ? stage->result : "in-progress"));
      g_variant_builder_add (&builder, "{sv}", "Detail", g_variant_new_string (stage->detail->str));
      g_variant_builder_close (&builder);
    }
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

/* Discovery's lookup lines go to the (last) discovering stage, which has
 * ended already when an early candidate was dialled. */
void
sfb_session_discovery_detail (SfbSession *self, const char *text)
{
  for (guint i = self->trace->len; i > 0; i--)
    {
      TraceStage *stage = g_ptr_array_index (self->trace, i - 1);

      if (g_strcmp0 (stage->stage, SFB_STATE_DISCOVERING) != 0)
        continue;
      if (stage->detail->len > 0)
        g_string_append (stage->detail, "; ");
      g_string_append (stage->detail, text);
      return;
    }
}
