# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HASH := $(shell cksum pyproject.toml | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.run-$(HASH)
DEV_STAMP := $(VENV)/.dev-$(HASH)

.PHONY: run test install install-dev bundle clean system-run system-test

# System packages (speech, Qt's X11 libraries, the test display...): one list,
# packaging/system-packages.txt. Installed (as root, or with sudo after saying what and why)
# before anything else; without either, make stops here with the command to type.
system-run:
	@packaging/system_packages.sh run
system-test:
	@packaging/system_packages.sh test

# PP-OCR's models come inside this wheel (models/ocr/files.py). --no-deps: its opencv-python
# would bring Qt plugins that clash with PySide6's (we use opencv-python-headless, a runtime
# dependency) and a plain onnxruntime; the repair below runs after it.
OCR_MODELS := rapidocr-onnxruntime==1.4.4

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Offline translation pulls argostranslate (and through it stanza and torch): opt in with
# `make run TRANSLATE=1`.
RUN_EXTRAS := $(if $(TRANSLATE),[translate],)
# With an NVIDIA driver (nvidia-smi lists a GPU) this installs onnxruntime-gpu and its CUDA and
# cuDNN wheels, else keeps plain onnxruntime; a plain onnxruntime pulled in by a dependency
# overwrites onnxruntime-gpu's files, and this repairs that too.
ORT_REPAIR := $(PY) -m services.onnxruntime_dist --ensure auto

# The app alone: no torch, no transformers.
$(RUN_STAMP): pyproject.toml | system-run $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.$(RUN_EXTRAS)'
	$(PY) -m pip install --quiet --no-deps '$(OCR_MODELS)'
	$(ORT_REPAIR)
	@$(PY) -m services.system_check || true
	rm -f $(VENV)/.run-*
	touch $@

# The app plus the export stack and the test tools.
$(DEV_STAMP): pyproject.toml | system-test $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps '$(OCR_MODELS)'
	$(ORT_REPAIR)
	rm -f $(VENV)/.dev-* $(VENV)/.run-*
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)
install-dev: $(DEV_STAMP)

run: system-run $(RUN_STAMP)
	$(VENV)/bin/lumen

# Three test processes on two cores: most tests wait (programs starting, Orca, Xvfb, sockets) as
# much as they compute (suite, 2-core machine, cold model cache: 1 process 29 min, 2 processes
# 15 min 46 s, 3 processes 14 min 57 s; later rounds, 3 processes, cold: 16 min 47 s, then 14 min
# 14 s once processes stopped building the same tiny model side by side). --dist loadfile: a test
# file stays on one process, so its module fixtures are built once; the longest files first
# (tests/conftest.py). One Orca runs at a time (tests/support/orca_session.py).
TEST_PROCESSES ?= 3
test: system-test $(DEV_STAMP)
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# The one-folder app for people without Python: dist/lumen/ (see build.spec).
bundle: $(RUN_STAMP)
	$(PY) -c "import PyInstaller" 2>/dev/null || $(PY) -m pip install --quiet "pyinstaller>=6.10"
	$(PY) -m PyInstaller --noconfirm build.spec

clean:
	rm -rf build dist .cache .pytest_cache test-output
