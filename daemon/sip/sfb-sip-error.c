/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sfbd-sip"

#include "sfb-sip-error.h"

G_DEFINE_QUARK (sfb - sip - error - quark, sfb_sip_error)
