/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Names shared by sfbd, sfbctl, applets and tests: the D-Bus contract of
 * docs/architecture.md.  Change them only on purpose, with
 * the XML, the man pages and docs/architecture.md in the same change.
 */
#pragma once

/* Bus, object and interfaces */
#define SFB_DBUS_NAME "org.sfbd.Sfbd"
#define SFB_DBUS_PATH "/org/sfbd/Sfbd"
#define SFB_DBUS_INTERFACE_PREFIX "org.sfbd.Sfbd1."
#define SFB_DBUS_ACCOUNT_INTERFACE "org.sfbd.Sfbd1.Account"
#define SFB_DBUS_PRESENCE_INTERFACE "org.sfbd.Sfbd1.Presence"
#define SFB_DBUS_CONTACTS_INTERFACE "org.sfbd.Sfbd1.Contacts"
#define SFB_DBUS_DIAL_PLAN_INTERFACE "org.sfbd.Sfbd1.DialPlan"
#define SFB_DBUS_POLICIES_INTERFACE "org.sfbd.Sfbd1.Policies"
#define SFB_DBUS_DEVICES_INTERFACE "org.sfbd.Sfbd1.Devices"
#define SFB_DBUS_EXCHANGE_INTERFACE "org.sfbd.Sfbd1.Exchange"
#define SFB_DBUS_DIAGNOSTICS_INTERFACE "org.sfbd.Sfbd1.Diagnostics"
#define SFB_DBUS_CONVERSATIONS_INTERFACE "org.sfbd.Sfbd1.Conversations"

/* Error names: org.sfbd.Sfbd.Error.<Name> */
#define SFB_DBUS_ERROR_PREFIX "org.sfbd.Sfbd.Error."
#define SFB_DBUS_ERROR_FAILED SFB_DBUS_ERROR_PREFIX "Failed"
#define SFB_DBUS_ERROR_NOT_CONFIGURED SFB_DBUS_ERROR_PREFIX "NotConfigured"
#define SFB_DBUS_ERROR_NO_CREDENTIALS SFB_DBUS_ERROR_PREFIX "NoCredentials"
#define SFB_DBUS_ERROR_NOT_SIGNED_IN SFB_DBUS_ERROR_PREFIX "NotSignedIn"
#define SFB_DBUS_ERROR_AUTH_FAILED SFB_DBUS_ERROR_PREFIX "AuthFailed"
#define SFB_DBUS_ERROR_CERTIFICATE_INVALID SFB_DBUS_ERROR_PREFIX "CertificateInvalid"
#define SFB_DBUS_ERROR_NOT_REACHABLE SFB_DBUS_ERROR_PREFIX "NotReachable"
#define SFB_DBUS_ERROR_DISCOVERY_FAILED SFB_DBUS_ERROR_PREFIX "DiscoveryFailed"
#define SFB_DBUS_ERROR_TIMED_OUT SFB_DBUS_ERROR_PREFIX "TimedOut"
#define SFB_DBUS_ERROR_SERVER_REJECTED SFB_DBUS_ERROR_PREFIX "ServerRejected"
#define SFB_DBUS_ERROR_ACCOUNT_DISABLED SFB_DBUS_ERROR_PREFIX "AccountDisabled"
#define SFB_DBUS_ERROR_NO_MATCHING_RULE SFB_DBUS_ERROR_PREFIX "NoMatchingRule"
#define SFB_DBUS_ERROR_NOT_FOUND SFB_DBUS_ERROR_PREFIX "NotFound"
#define SFB_DBUS_ERROR_INVALID_ARGS SFB_DBUS_ERROR_PREFIX "InvalidArgs"
#define SFB_DBUS_ERROR_CLOCK_SKEW SFB_DBUS_ERROR_PREFIX "ClockSkew"
#define SFB_DBUS_ERROR_CERTIFICATE_PROVISIONING_FAILED                                             \
  SFB_DBUS_ERROR_PREFIX "CertificateProvisioningFailed"
#define SFB_DBUS_ERROR_NO_USABLE_AUTH_SCHEME SFB_DBUS_ERROR_PREFIX "NoUsableAuthScheme"
#define SFB_DBUS_ERROR_SIGNATURE_INVALID SFB_DBUS_ERROR_PREFIX "SignatureInvalid"

/* Account.State values, in pipeline order */
#define SFB_STATE_SIGNED_OUT "signed-out"
#define SFB_STATE_DISCOVERING "discovering"
#define SFB_STATE_CONNECTING "connecting"
#define SFB_STATE_AUTHENTICATING "authenticating"
#define SFB_STATE_REDIRECTING "redirecting"
#define SFB_STATE_RETRIEVING_SETTINGS "retrieving-settings"
#define SFB_STATE_SIGNED_IN "signed-in"
#define SFB_STATE_RECONNECTING "reconnecting"
#define SFB_STATE_FAILED "failed"

/* Exchange.State values (identical to daemon/services/sfb-exchange.h) */
#define SFB_EXCHANGE_STATE_UNAVAILABLE "unavailable"
#define SFB_EXCHANGE_STATE_DISCOVERING "discovering"
#define SFB_EXCHANGE_STATE_CONNECTED "connected"
#define SFB_EXCHANGE_STATE_FAILED "failed"

/* Presence.Availability values and their codes */
#define SFB_AVAILABILITY_ONLINE "online"
#define SFB_AVAILABILITY_BUSY "busy"
#define SFB_AVAILABILITY_DO_NOT_DISTURB "do-not-disturb"
#define SFB_AVAILABILITY_BE_RIGHT_BACK "be-right-back"
#define SFB_AVAILABILITY_AWAY "away"
#define SFB_AVAILABILITY_OFF_WORK "off-work"
#define SFB_AVAILABILITY_APPEAR_OFFLINE "appear-offline"
#define SFB_AVAILABILITY_OFFLINE "offline"

#define SFB_AVAILABILITY_CODE_ONLINE 3500
#define SFB_AVAILABILITY_CODE_BUSY 6500
#define SFB_AVAILABILITY_CODE_DO_NOT_DISTURB 9500
#define SFB_AVAILABILITY_CODE_BE_RIGHT_BACK 12500
#define SFB_AVAILABILITY_CODE_AWAY 15500
#define SFB_AVAILABILITY_CODE_OFFLINE 18500

/* Account.AuthMethod and the Auth config values */
#define SFB_AUTH_AUTO "auto"
#define SFB_AUTH_NTLM "ntlm"
#define SFB_AUTH_KERBEROS "kerberos"
#define SFB_AUTH_TLS_DSK "tls-dsk"

/* Devices kinds */
#define SFB_DEVICE_KIND_AUDIO_OUTPUT "audio-output"
#define SFB_DEVICE_KIND_AUDIO_INPUT "audio-input"
#define SFB_DEVICE_KIND_VIDEO_INPUT "video-input"

/* Environment overrides for tests */
#define SFB_ENV_STATE_DIR "SFBD_STATE_DIR"
#define SFB_ENV_CONFIG_DIR "SFBD_CONFIG_DIR"
