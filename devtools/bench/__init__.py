"""Load and latency benchmarks of the onboarding service (not part of the test run); see devtools/bench/README.md."""
