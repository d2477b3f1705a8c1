# The two commands of the README. Everything else lives in scripts/.
.PHONY: run test

# Install what is missing, build, and run the service on its embedded defaults.
run:
	SETUP_CARGO_PROFILE=release bash scripts/setup.sh
	cargo run --release --locked -p verifier -- serve

# Install what is missing, then formatting, lints, docs and every test (what CI runs).
test:
	bash scripts/test.sh
