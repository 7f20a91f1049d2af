# The two commands of the README: `make serve` runs execd, `make test` tests it.
# Both provision first (Docker engine, package, sandbox images); that step is
# idempotent and fast once done.
PYTHON ?= python3

.PHONY: provision test unit serve bench images clean-sandboxes wheelhouse image

provision:
	bash .ci/provision

# The engine suites run a second time under gVisor, so neither runtime can rot.
ENGINE_SUITES = tests/integration/test_conformance.py tests/integration/test_hostile.py \
	tests/integration/test_forgery.py tests/integration/test_reuse.py tests/integration/test_engine_ops.py \
	tests/integration/test_languages.py

test: provision
	$(PYTHON) -m pytest -q
	$(PYTHON) -m pytest -q --sandbox-runtime=runsc $(ENGINE_SUITES)

unit:
	$(PYTHON) -m pytest -q tests/unit

serve: provision
	execd serve --dev

bench: provision
	$(PYTHON) bench/engine_bench.py

images:
	execd images build

clean-sandboxes:
	execd reap --all

# execd.__version__, read without importing the package (it may not be installed yet).
VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' execd/__init__.py)
IMAGE ?= execd:$(VERSION)

# The service image. Wheels are built here, with the host's package index
# settings, so the Docker build needs no index of its own.
wheelhouse:
	rm -rf build/wheelhouse
	$(PYTHON) -m pip wheel -q --wheel-dir build/wheelhouse .

image: wheelhouse
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .
