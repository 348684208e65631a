# clickview.runbook — set-up, lab and test entry points.
# The two front-door commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
VPY         := $(VENV)/bin/python
# the oldest ansible-core meta/runtime.yml supports (requires_ansible): unit tests and sanity run there too
VENV_OLDEST := .venv-oldest
# the dependency collections for it: the last `ansible` package whose collections still support 2.16
OLDEST_COLLECTIONS := ansible>=11,<12
TOOLS       := .tools
COLL_ROOT   := .collections
COLL_LINK   := $(COLL_ROOT)/ansible_collections/clickview/runbook
INVENTORY   ?= inventory/local
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := postgresql-15 postgresql-client-15 pgbouncer redis-server prometheus \
                prometheus-alertmanager shellcheck rsync curl nginx pgbackrest \
                default-jre-headless
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/$(TOOLS)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help deps apt venv venv-oldest kubectl collection lab-up lab-down lab-status demo test \
        sanity sanity-oldest unit unit-oldest integration lint build-smoke runbook-map lock lock-oldest clean

help:
	@echo "make demo        install, start the lab, run the daily health check, then the game-day drill on the lab"
	@echo "make test        install, start the lab, run every check and test, stop the lab"
	@echo "make lab-up | lab-down | lab-status"
	@echo "make sanity | unit | integration | lint | build-smoke   (single gates; lab must be up for integration)"
	@echo "make sanity-oldest | unit-oldest   (the same on the oldest supported ansible-core, .venv-oldest)"

## ---- installation -------------------------------------------------------
deps: apt venv kubectl collection

apt: $(TOOLS)/apt.stamp
$(TOOLS)/apt.stamp: Makefile
	@mkdir -p $(TOOLS)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo ">> apt-get install $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# the Debian packages start their own daemons on the standard ports; the lab uses its own
	@for s in redis-server prometheus prometheus-alertmanager pgbouncer nginx; do \
	  $(SUDO) systemctl disable --now $$s >/dev/null 2>&1 || $(SUDO) service $$s stop >/dev/null 2>&1 || true; done
	@touch $@

venv: $(VENV)/.stamp
$(VENV)/.stamp: constraints.txt requirements.txt requirements-dev.txt
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	@# the system pip backtracks for minutes on this dependency set: upgrade it first
	$(VPY) -m pip install -q --upgrade 'pip==26.3'
	$(VPY) -m pip install -q -c constraints.txt -r requirements-dev.txt
	@touch $@

# ansible-core 2.16 (requires_ansible's floor) with what tests/unit and ansible-test sanity need
venv-oldest: $(VENV_OLDEST)/.stamp
$(VENV_OLDEST)/.stamp: Makefile constraints-oldest.txt requirements-oldest.txt requirements.txt
	@test -x $(VENV_OLDEST)/bin/python || $(PYTHON) -m venv $(VENV_OLDEST)
	$(VENV_OLDEST)/bin/python -m pip install -q --upgrade 'pip==26.3'
	$(VENV_OLDEST)/bin/python -m pip install -q -c constraints-oldest.txt -r requirements-oldest.txt
	@# the dependency collections (galaxy.yml) at their newest versions that still support ansible-core
	@# 2.16 (amazon.aws 9, community.aws 9, community.crypto 2, kubernetes.core 5, awx.awx, ...), offline
	@# from the `ansible` 11 package; --no-deps: it asks for ansible-core 2.18, which this venv must not have
	$(VENV_OLDEST)/bin/python -m pip install -q --no-deps -c constraints-oldest.txt '$(OLDEST_COLLECTIONS)'
	@touch $@

kubectl: $(TOOLS)/bin/kubectl
$(TOOLS)/bin/kubectl: lab/bin/fetch-kubectl.sh | venv
	lab/bin/fetch-kubectl.sh $(TOOLS)/bin

collection: $(COLL_LINK)
$(COLL_LINK):
	@mkdir -p $(dir $@)
	ln -sfn ../../.. $@

lock:
	rm -rf /tmp/clickview-lock && $(PYTHON) -m venv /tmp/clickview-lock
	/tmp/clickview-lock/bin/pip install -q --upgrade pip
	/tmp/clickview-lock/bin/pip install -q -r requirements-dev.txt
	{ echo "# Pinned resolution of requirements-dev.txt (Python 3.11). Regenerate: make lock"; \
	  /tmp/clickview-lock/bin/pip freeze; } > constraints.txt

lock-oldest:
	rm -rf /tmp/clickview-lock-oldest && $(PYTHON) -m venv /tmp/clickview-lock-oldest
	/tmp/clickview-lock-oldest/bin/pip install -q --upgrade 'pip==26.3'
	/tmp/clickview-lock-oldest/bin/pip install -q -r requirements-oldest.txt
	/tmp/clickview-lock-oldest/bin/pip install -q --no-deps '$(OLDEST_COLLECTIONS)'
	{ echo "# Pinned resolution of requirements-oldest.txt and the ansible 11 package (ansible-core 2.16, Python 3.11) for .venv-oldest. Regenerate: make lock-oldest"; \
	  /tmp/clickview-lock-oldest/bin/pip freeze; } > constraints-oldest.txt

## ---- the lab -------------------------------------------------------------
lab-up: deps
	$(VPY) lab/labctl.py up

lab-down:
	@if [ -x $(VPY) ]; then $(VPY) lab/labctl.py down; else $(PYTHON) lab/labctl.py down; fi

lab-status:
	@$(VPY) lab/labctl.py status

## ---- the front door ------------------------------------------------------
demo: lab-up
	ansible-playbook -i $(INVENTORY) playbooks/health_check.yml
	ansible-playbook -i $(INVENTORY) playbooks/game_day_drill.yml

test: deps
	tests/run-all.sh

## ---- single gates ---------------------------------------------------------
sanity: deps
	tests/sanity.sh

unit: deps
	$(VPY) -m pytest -q tests/unit

sanity-oldest: deps venv-oldest
	CLICKVIEW_VENV=$(VENV_OLDEST) tests/sanity.sh

unit-oldest: deps venv-oldest
	PATH=$(CURDIR)/$(VENV_OLDEST)/bin:$$PATH $(VENV_OLDEST)/bin/python -m pytest -q tests/unit

integration: deps
	$(VPY) -m pytest -q tests/integration

lint: deps
	ansible-lint --profile production

build-smoke: deps
	tests/build-smoke.sh

# docs/runbook-map.md from docs/runbook-map.yml and the collection (tests/unit fails when it is stale)
runbook-map: venv
	$(VPY) tools/runbook_map.py

clean: lab-down
	rm -rf $(COLL_ROOT) tests/output reports clickview-runbook-*.tar.gz
