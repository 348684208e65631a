# -*- coding: utf-8 -*-

# Copyright: (c) 2025, ClickView Platform Team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of clickview.runbook.incident_event: the incident module's, which fills the record's
storage options from the inventory and the event's actor (who runs the play, from where) when the task
does not give them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.clickview.runbook.plugins.action.incident import ActionModule  # noqa: F401  pylint: disable=unused-import
