# SPDX-License-Identifier: LGPL-2.1-or-later
"""sfbsim: a simulated Skype for Business deployment (see README.md beside this file)."""
