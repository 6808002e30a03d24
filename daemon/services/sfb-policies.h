/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * In-band provisioning (docs/protocol.md §11.1; MS-SIPREGE 2.2.2.4/2.2.2.5).
 *
 * sfb_policies_request_body() is the provisioningGroupList asking for every
 * group MS-SIPREGE lists plus persistentChatConfiguration and
 * mobilityPolicy.
 *
 * sfb_policies_parse() reads a provisionGroupList and keeps EVERY property
 * of every group, as a{sa{sv}} (group -> property -> value), in document
 * order.  Values are the server's text as "s"; a property with <element>
 * children (multi-valued settings such as PSTN usages) is "as"; the
 * publicProviders property (an embedded PublicProviders document) is
 * "aa{sv}" with one dictionary per provider (its children by name), or the
 * raw text when that document cannot be read.  Layouts handled: child
 * elements named after the property (ServerConfiguration),
 * instance/property[@name] (meetingPolicy, ucPolicy),
 * propertyEntryList/property[@name] (the rest); anything else with
 * element children is kept as its text content.
 *
 * Limits (server data): SFB_POLICIES_MAX_DOCUMENT bytes, SFB_POLICIES_MAX_GROUPS
 * groups, SFB_POLICIES_MAX_PROPERTIES properties per group, SFB_POLICIES_MAX_VALUES
 * values per property, SFB_POLICIES_MAX_DEPTH element depth; no DTD, no
 * entities, no network.  Over a limit: SFB_ERROR_SERVER_REJECTED, nothing kept.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SFB_POLICIES_MAX_DOCUMENT (1024 * 1024)
#define SFB_POLICIES_MAX_GROUPS 64
#define SFB_POLICIES_MAX_PROPERTIES 2048
#define SFB_POLICIES_MAX_VALUES 512
#define SFB_POLICIES_MAX_DEPTH 16
#define SFB_POLICIES_MAX_PROVIDERS 256

#define SFB_CT_PROVISIONING "application/vnd-microsoft-roaming-provisioning-v2+xml"
#define SFB_EVENT_PROVISIONING "vnd-microsoft-provisioning-v2"

GBytes *sfb_policies_request_body (void);
/* a{sa{sv}}, a full reference */
GVariant *sfb_policies_parse (const char *data, gsize length, GError **error);
/* A copy of the string property @name of @group in @policies, or NULL. */
char *sfb_policies_dup_string (GVariant *policies, const char *group, const char *name);
/* @update's groups replace those of @base (others kept); a full reference. */
GVariant *sfb_policies_merge (GVariant *base, GVariant *update);

G_END_DECLS
