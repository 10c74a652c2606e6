# Memory and undefined-behaviour checks of the C core (issue 7).
#
#   make valgrind   install into a private library, run tools/valgrind-script.R
#                   under valgrind; fails on any invalid read/write or use of
#                   uninitialised memory (leaks are not checked: R keeps
#                   memory alive by design)
#   make sanitize   the same script against a build with
#                   -fsanitize=address,undefined; fails on any report
#   make extended-tests
#                   the whole test suite with NOT_CRAN=true, so the tests that
#                   R CMD check skips (gctorture, interrupts, large dimensions,
#                   multisession restarts) run too
#
# Both build from a copy of this tree (never from src/ in place, so a stale
# object file cannot sneak into the instrumented build and two builds cannot
# clash) into HARDEN_DIR, which is private to this checkout and user.  Nothing
# is written to ~/.R or to the user's R library.

R       ?= R
SHELL   := /bin/bash
HARDEN_DIR ?= $(or $(TMPDIR),/tmp)/betanmf-harden-$(shell id -u)-$(shell printf '%s' '$(CURDIR)' | cksum | cut -d' ' -f1)
SCRIPT  := tools/valgrind-script.R

VALGRIND ?= valgrind --error-exitcode=1 --leak-check=no --track-origins=yes
# suppressions for reports raised inside R itself (not this package); empty
# unless tools/valgrind.supp exists
VALGRIND_SUPP := $(wildcard tools/valgrind.supp)
ifneq ($(VALGRIND_SUPP),)
VALGRIND += --suppressions=$(CURDIR)/$(VALGRIND_SUPP)
endif

.PHONY: valgrind sanitize extended-tests clean-harden

VG_DIR = $(HARDEN_DIR)/valgrind

valgrind:
	rm -rf $(VG_DIR) && mkdir -p $(VG_DIR)/pkg $(VG_DIR)/lib
	tar -C $(CURDIR) --exclude=.git --exclude='src/*.o' --exclude='src/*.so' --exclude='src/*.dll' \
	    --exclude='*.Rcheck' --exclude='*.tar.gz' -cf - . | tar -C $(VG_DIR)/pkg -xf -
	$(R) CMD INSTALL --preclean --no-multiarch --library=$(VG_DIR)/lib $(VG_DIR)/pkg
	R_LIBS=$(VG_DIR)/lib $(R) --vanilla -d "$(VALGRIND)" -f $(SCRIPT)
	@echo "make valgrind: no invalid read/write or uninitialised use reported"

EXT_DIR = $(HARDEN_DIR)/extended

extended-tests:
	rm -rf $(EXT_DIR) && mkdir -p $(EXT_DIR)/pkg $(EXT_DIR)/lib
	tar -C $(CURDIR) --exclude=.git --exclude='src/*.o' --exclude='src/*.so' --exclude='src/*.dll' \
	    --exclude='*.Rcheck' --exclude='*.tar.gz' -cf - . | tar -C $(EXT_DIR)/pkg -xf -
	$(R) CMD INSTALL --preclean --no-multiarch --library=$(EXT_DIR)/lib $(EXT_DIR)/pkg
	cd $(EXT_DIR)/pkg && NOT_CRAN=true R_LIBS=$(EXT_DIR)/lib Rscript -e \
	  'testthat::test_dir("tests/testthat", package = "betanmf", load_package = "installed", stop_on_failure = TRUE)'

# AddressSanitizer + UBSan: see tools/sanitize.sh (private Makevars passed as
# R_MAKEVARS_USER, libasan preloaded into R, detect_leaks=0).
sanitize:
	R=$(R) tools/sanitize.sh $(HARDEN_DIR)

clean-harden:
	rm -rf $(HARDEN_DIR)
