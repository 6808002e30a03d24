/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd"

#include "config.h"

#include "sfb-log.h"

#include <stdio.h>
#include <string.h>

/*
 * Registered secrets and the forms they take in protocol dumps (raw,
 * XML-escaped, URL-encoded).  Logging may happen on any thread.
 */
typedef struct
{
  char *secret;
  GPtrArray *forms;
  guint holders; /* add/remove pairs, so two owners of one secret are fine */
} SecretEntry;

static GMutex secrets_lock;
static GPtrArray *secrets;

static gboolean log_verbose;
static gboolean log_to_journal;
static gboolean log_export; /* SFBD_LOG_FORMAT=export: every field on stderr */
static GLogLevelFlags log_fatal_mask;

static void
wipe_string (gpointer data)
{
  char *s = data;

  if (s == NULL)
    return;
  explicit_bzero (s, strlen (s));
  g_free (s);
}

static void
secret_entry_free (gpointer data)
{
  SecretEntry *entry = data;

  wipe_string (entry->secret);
  g_ptr_array_unref (entry->forms);
  g_free (entry);
}

static void
add_form (GPtrArray *forms, char *form)
{
  for (guint i = 0; i < forms->len; i++)
    {
      if (g_str_equal (g_ptr_array_index (forms, i), form))
        {
          wipe_string (form);
          return;
        }
    }
  g_ptr_array_add (forms, form);
}

static SecretEntry *
secret_entry_new (const char *secret)
{
  SecretEntry *entry = g_new0 (SecretEntry, 1);

  entry->secret = g_strdup (secret);
  entry->holders = 1;
  entry->forms = g_ptr_array_new_with_free_func (wipe_string);
  add_form (entry->forms, g_strdup (secret));
  add_form (entry->forms, g_markup_escape_text (secret, -1));
  add_form (entry->forms, g_uri_escape_string (secret, NULL, FALSE));
  return entry;
}

static gint
find_secret_locked (const char *secret)
{
  for (guint i = 0; secrets != NULL && i < secrets->len; i++)
    {
      SecretEntry *entry = g_ptr_array_index (secrets, i);

      if (g_str_equal (entry->secret, secret))
        return (gint) i;
    }
  return -1;
}

/*
 * From now on @secret is replaced by SFB_LOG_REDACTED in every log
 * message, until each sfb_log_add_secret() is matched by a remove.
 */
void
sfb_log_add_secret (const char *secret)
{
  g_autoptr (GMutexLocker) locker = NULL;
  gint index;

  if (secret == NULL || *secret == '\0')
    return;
  locker = g_mutex_locker_new (&secrets_lock);
  if (secrets == NULL)
    secrets = g_ptr_array_new_with_free_func (secret_entry_free);
  index = find_secret_locked (secret);
  if (index < 0)
    g_ptr_array_add (secrets, secret_entry_new (secret));
  else
    ((SecretEntry *) g_ptr_array_index (secrets, (guint) index))->holders++;
}

void
sfb_log_remove_secret (const char *secret)
{
  g_autoptr (GMutexLocker) locker = NULL;
  gint index;

  if (secret == NULL || *secret == '\0')
    return;
  locker = g_mutex_locker_new (&secrets_lock);
  index = find_secret_locked (secret);
  if (index >= 0 && --((SecretEntry *) g_ptr_array_index (secrets, (guint) index))->holders == 0)
    g_ptr_array_remove_index (secrets, (guint) index);
}

void
sfb_log_clear_secrets (void)
{
  GPtrArray *old;

  g_mutex_lock (&secrets_lock);
  old = g_steal_pointer (&secrets);
  g_mutex_unlock (&secrets_lock);
  g_clear_pointer (&old, g_ptr_array_unref);
}

static gint
compare_longest_first (gconstpointer a, gconstpointer b)
{
  gsize len_a = strlen (*(const char *const *) a);
  gsize len_b = strlen (*(const char *const *) b);

  return len_a < len_b ? 1 : len_a > len_b ? -1 : 0;
}

/* Every form of every secret, longest first, so that a secret containing
 * another is replaced whole.  Borrowed strings: keep the lock held. */
static GPtrArray *
collect_forms_locked (void)
{
  GPtrArray *forms = g_ptr_array_new ();

  for (guint i = 0; secrets != NULL && i < secrets->len; i++)
    {
      SecretEntry *entry = g_ptr_array_index (secrets, i);

      for (guint j = 0; j < entry->forms->len; j++)
        g_ptr_array_add (forms, g_ptr_array_index (entry->forms, j));
    }
  g_ptr_array_sort (forms, compare_longest_first);
  return forms;
}

static const char *
match_form (const char *text, GPtrArray *forms)
{
  for (guint i = 0; i < forms->len; i++)
    {
      const char *form = g_ptr_array_index (forms, i);

      if (g_str_has_prefix (text, form))
        return form;
    }
  return NULL;
}

/*
 * Returns a copy of @text with every registered secret replaced by
 * SFB_LOG_REDACTED, or NULL when @text holds none.  One pass, so the
 * marker itself is never scrubbed again.
 */
char *
sfb_log_scrub (const char *text)
{
  g_autoptr (GMutexLocker) locker = NULL;
  g_autoptr (GPtrArray) forms = NULL;
  g_autoptr (GString) scrubbed = NULL;
  gboolean found = FALSE;

  if (text == NULL || *text == '\0')
    return NULL;
  locker = g_mutex_locker_new (&secrets_lock);
  if (secrets == NULL || secrets->len == 0)
    return NULL;

  forms = collect_forms_locked ();
  scrubbed = g_string_sized_new (strlen (text));
  while (*text != '\0')
    {
      const char *form = match_form (text, forms);

      if (form != NULL)
        {
          g_string_append (scrubbed, SFB_LOG_REDACTED);
          text += strlen (form);
          found = TRUE;
        }
      else
        {
          g_string_append_c (scrubbed, *text++);
        }
    }
  if (!found)
    return NULL;
  return g_string_free (g_steal_pointer (&scrubbed), FALSE);
}

/* For dumps: the fixed marker for any secret, "" when there is none. */
const char *
sfb_log_redact_secret (const char *secret)
{
  if (secret == NULL || *secret == '\0')
    return "";
  return SFB_LOG_REDACTED;
}

/*
 * Hides the credentials in an Authorization, Proxy-Authorization or
 * WWW-Authenticate value (SIP or HTTP) and keeps the rest readable:
 *   NTLM qop="auth", realm="SIP", gssapi-data="TlRM…"  ->  …gssapi-data="[redacted]"
 *   Basic dXNlcjpwYXNz                                ->  Basic [redacted]
 */
char *
sfb_redact_auth_header (const char *value)
{
  static GRegex *params_re;
  static GRegex *token_re;
  g_autofree char *params = NULL;

  if (value == NULL)
    return NULL;
  if (g_once_init_enter (&params_re))
    g_once_init_leave (&params_re,
                       g_regex_new ("\\b(gssapi-data|response|password|token|snum|"
                                    "crand|cnum|rspauth|opaque)(\\s*=\\s*)(\"[^\"]*\"|[^,\\s]*)",
                                    G_REGEX_CASELESS | G_REGEX_OPTIMIZE,
                                    0,
                                    NULL));
  if (g_once_init_enter (&token_re))
    g_once_init_leave (&token_re,
                       g_regex_new ("^(\\s*[A-Za-z][A-Za-z0-9_-]*)\\s+[A-Za-z0-9+/._~-]+=*\\s*$",
                                    G_REGEX_OPTIMIZE,
                                    0,
                                    NULL));

  params = g_regex_replace (params_re, value, -1, 0, "\\1\\2\"" SFB_LOG_REDACTED "\"", 0, NULL);
  if (params == NULL)
    return g_strdup (SFB_LOG_REDACTED);
  return g_regex_replace (token_re, params, -1, 0, "\\1 " SFB_LOG_REDACTED, 0, NULL);
}

void
sfb_log_set_verbose (gboolean verbose)
{
  log_verbose = verbose;
}

gboolean
sfb_log_get_verbose (void)
{
  return log_verbose;
}

static gboolean
is_sfbd_domain (const char *domain)
{
  return domain != NULL
         && (g_str_equal (domain, SFB_LOG_DOMAIN) || g_str_has_prefix (domain, "sfbd-"));
}

/* Debug from sfbd* with --verbose or G_MESSAGES_DEBUG; info from sfbd* always. */
static gboolean
should_drop (GLogLevelFlags log_level, const char *domain)
{
  if (!(log_level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)))
    return FALSE;
  if (is_sfbd_domain (domain) && (log_verbose || (log_level & G_LOG_LEVEL_INFO)))
    return FALSE;
  return g_log_writer_default_would_drop (log_level, domain);
}

static const char *
find_field (const GLogField *fields, gsize n_fields, const char *key)
{
  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, key) && fields[i].length < 0)
        return fields[i].value;
    }
  return NULL;
}

static const char *
level_name (GLogLevelFlags log_level)
{
  if (log_level & G_LOG_LEVEL_ERROR)
    return "ERROR";
  if (log_level & G_LOG_LEVEL_CRITICAL)
    return "CRITICAL";
  if (log_level & G_LOG_LEVEL_WARNING)
    return "WARNING";
  if (log_level & G_LOG_LEVEL_MESSAGE)
    return "MESSAGE";
  if (log_level & G_LOG_LEVEL_INFO)
    return "INFO";
  return "DEBUG";
}

/* One stderr line: "12:34:56.789 sfbd-sip WARNING: message" (no newline). */
char *
sfb_log_format_fields (GLogLevelFlags log_level, const GLogField *fields, gsize n_fields)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *time = g_date_time_format (now, "%H:%M:%S");
  const char *domain = find_field (fields, n_fields, "GLIB_DOMAIN");
  const char *message = find_field (fields, n_fields, "MESSAGE");

  return g_strdup_printf ("%s.%03d %s %s: %s",
                          time,
                          g_date_time_get_microsecond (now) / 1000,
                          domain != NULL ? domain : "sfbd",
                          level_name (log_level),
                          message != NULL ? message : "(no message)");
}

/*
 * The fields of one message in the journal export format (what
 * `journalctl -o export` prints): KEY=VALUE lines, a value holding a
 * newline as KEY, a 64-bit little-endian length and the bytes; then an
 * empty line.  Tests read the structured fields with it.
 */
char *
sfb_log_format_export (GLogLevelFlags log_level,
                       const GLogField *fields,
                       gsize n_fields,
                       gsize *length)
{
  GString *out = g_string_new (NULL);

  for (gsize i = 0; i < n_fields; i++)
    {
      gsize value_length;
      guint64 le_length;

      if (fields[i].value == NULL)
        continue;
      value_length = fields[i].length < 0 ? strlen (fields[i].value) : (gsize) fields[i].length;
      if (memchr (fields[i].value, '\n', value_length) == NULL)
        {
          g_string_append_printf (out, "%s=", fields[i].key);
          g_string_append_len (out, fields[i].value, (gssize) value_length);
          g_string_append_c (out, '\n');
          continue;
        }
      le_length = GUINT64_TO_LE ((guint64) value_length);
      g_string_append_printf (out, "%s\n", fields[i].key);
      g_string_append_len (out, (const char *) &le_length, sizeof le_length);
      g_string_append_len (out, fields[i].value, (gssize) value_length);
      g_string_append_c (out, '\n');
    }
  g_string_append_c (out, '\n');
  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}

static void
write_export (GLogLevelFlags log_level, const GLogField *fields, gsize n_fields)
{
  gsize length;
  g_autofree char *entry = sfb_log_format_export (log_level, fields, n_fields, &length);

  fwrite (entry, 1, length, stderr);
  fflush (stderr);
}

/* A copy of @fields whose text values have every secret replaced. */
static GLogField *
scrub_fields (const GLogField *fields, gsize n_fields, GPtrArray *keep)
{
  GLogField *copy = g_memdup2 (fields, sizeof (GLogField) * n_fields);

  for (gsize i = 0; i < n_fields; i++)
    {
      g_autofree char *text = NULL;
      char *scrubbed;

      if (fields[i].length == 0 || fields[i].value == NULL)
        continue;
      if (fields[i].length > 0)
        {
          /* all @length bytes: a NUL inside must not hide a secret after it */
          text = g_malloc ((gsize) fields[i].length + 1);
          memcpy (text, fields[i].value, (gsize) fields[i].length);
          text[fields[i].length] = '\0';
          for (gssize j = 0; j < fields[i].length; j++)
            if (text[j] == '\0')
              text[j] = ' ';
        }
      scrubbed = sfb_log_scrub (text != NULL ? text : fields[i].value);
      if (scrubbed == NULL)
        continue;
      g_ptr_array_add (keep, scrubbed);
      copy[i].value = scrubbed;
      copy[i].length = -1;
    }
  return copy;
}

static void
write_stderr (GLogLevelFlags log_level, const GLogField *fields, gsize n_fields)
{
  g_autofree char *line = sfb_log_format_fields (log_level, fields, n_fields);

  fprintf (stderr, "%s\n", line);
  fflush (stderr);
}

/*
 * The daemon's writer: filters by level and domain, scrubs secrets as a
 * last line of defence, then writes to the journal when stderr is
 * connected to it and to stderr otherwise.
 */
GLogWriterOutput
sfb_log_writer (GLogLevelFlags log_level,
                const GLogField *fields,
                gsize n_fields,
                gpointer user_data)
{
  g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (wipe_string);
  g_autofree GLogField *scrubbed = NULL;
  const char *domain = find_field (fields, n_fields, "GLIB_DOMAIN");
  gboolean written = FALSE;

  if (should_drop (log_level, domain))
    return G_LOG_WRITER_HANDLED;

  scrubbed = scrub_fields (fields, n_fields, keep);
  if (log_to_journal)
    written
        = g_log_writer_journald (log_level, scrubbed, n_fields, user_data) == G_LOG_WRITER_HANDLED;
  if (!written && log_export)
    write_export (log_level, scrubbed, n_fields);
  else if (!written)
    write_stderr (log_level, scrubbed, n_fields);

  /* as g_log_writer_default(): honour G_DEBUG=fatal-criticals and friends */
  if ((log_level & log_fatal_mask) || (log_level & G_LOG_FLAG_FATAL))
    g_abort ();
  return G_LOG_WRITER_HANDLED;
}

void
sfb_log_install_writer (gboolean verbose)
{
  log_verbose = verbose;
  log_to_journal = g_log_writer_is_journald (fileno (stderr));
  log_export = g_strcmp0 (g_getenv ("SFBD_LOG_FORMAT"), "export") == 0;
  /* there is no getter for the always-fatal mask */
  log_fatal_mask = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  g_log_set_always_fatal (log_fatal_mask);
  log_fatal_mask &= ~G_LOG_FLAG_RECURSION;
  g_log_set_writer_func (sfb_log_writer, NULL, NULL);
}
