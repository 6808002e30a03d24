/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The roaming contact list (docs/protocol.md §11.2; MS-SIP contactList and
 * contactDelta): groups, the default group "~" included, contacts with
 * their groups, deltaNum as the revision, and ucsmode.  Pure: no I/O.
 *
 * Relationship (what SfB clients show as "Colleagues"): a contact whose SIP
 * domain equals the user's own SIP domain (case-insensitively) is
 * "same-enterprise"; any other domain is "federated".  The domain is the
 * only thing a client knows for certain: the list's own "federated" hints
 * are not part of MS-SIP, and a sub-domain (sip:x@eu.contoso.com for
 * alice@contoso.com) counts as federated, which is what the server's
 * access containers do too (sameEnterprise is a per-domain decision).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SFB_CONTACTS_MAX_GROUPS 1000
#define SFB_CONTACTS_MAX_CONTACTS 10000
#define SFB_CONTACTS_MAX_GROUPS_PER_CONTACT 64
#define SFB_CONTACTS_DEFAULT_GROUP "~"

typedef enum
{
  SFB_RELATIONSHIP_SAME_ENTERPRISE,
  SFB_RELATIONSHIP_FEDERATED,
} SfbRelationship;

const char *sfb_relationship_to_string (SfbRelationship relationship);
SfbRelationship sfb_relationship_for_uri (const char *uri, const char *own_domain);
/* "sip:Bob@Contoso.test" and "bob@contoso.test" -> "sip:bob@contoso.test";
 * NULL when not a user@host address. */
char *sfb_contact_normalize_uri (const char *uri);
/* The host part of a normalized URI (points into @uri). */
const char *sfb_contact_uri_domain (const char *uri);

typedef struct
{
  guint id;
  char *name;
} SfbContactGroup;

/* One allocation per contact: the group ids and the strings live in the
 * entry's own block (sfb_contact_entry_new; freed with g_free), the ids
 * right after the head (no pointer to them), the count and the flag in a
 * byte each: 16 bytes less per contact, a smaller malloc chunk with
 * 1,000 of them (docs/benchmarks.md, "Heap, fourth pass"). */
typedef struct
{
  const char *uri;  /* normalized */
  const char *name; /* never NULL */
  guint8 n_groups;  /* at most SFB_CONTACTS_MAX_GROUPS_PER_CONTACT */
  guint8 subscribed;
  guint groups[]; /* n_groups ids */
} SfbContactEntry;

/* @groups: @n_groups ids, copied as they are (the callers keep them unique
 * and within SFB_CONTACTS_MAX_GROUPS_PER_CONTACT) */
SfbContactEntry *sfb_contact_entry_new (
    const char *uri, const char *name, const guint *groups, guint n_groups, gboolean subscribed);

typedef struct
{
  guint revision;      /* deltaNum; 0: no list yet */
  char *ucs_mode;      /* NULL, "migrated", "notmigrated", ... as sent */
  GPtrArray *groups;   /* SfbContactGroup, document order */
  GPtrArray *contacts; /* SfbContactEntry, document order */
} SfbContactList;

SfbContactList *sfb_contact_list_new (void);
void sfb_contact_list_free (SfbContactList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfbContactList, sfb_contact_list_free)

/* Applies a roaming-contacts body: a contactList replaces everything, a
 * contactDelta adds, changes and deletes.  On error @list is unchanged.
 * *@changed tells whether anything a user sees changed. */
gboolean sfb_contact_list_update (
    SfbContactList *list, const char *data, gsize length, gboolean *changed, GError **error);
/* TRUE when the list lives in Exchange UCS (ucsmode="migrated"). */
gboolean sfb_contact_list_is_ucs_migrated (const SfbContactList *list);
const SfbContactEntry *sfb_contact_list_lookup (const SfbContactList *list, const char *uri);
const SfbContactGroup *sfb_contact_list_lookup_group (const SfbContactList *list, guint id);

/* The cache form (sfb-cache.h): (revision, ucs mode, [(id, name)],
 * [(uri, name, [group ids], subscribed)]).  From a cache file, the limits
 * of a server document apply: what is beyond them is dropped. */
#define SFB_CONTACT_LIST_VARIANT_TYPE "(usa(us)a(ssaub))"
GVariant *sfb_contact_list_to_variant (const SfbContactList *list); /* floating */
SfbContactList *sfb_contact_list_from_variant (GVariant *data);

G_END_DECLS
